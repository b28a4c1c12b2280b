"""Group commit: concurrent appends share transactions yet keep one gap-free order, and an
acknowledged append survives the process being killed."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
from typer.testing import CliRunner

from audit import AuditEvent, AuditTrail, AuditUnavailable, audit_path_for
from kinlink.cli import app

runner = CliRunner()


def event(i: int) -> AuditEvent:
    return AuditEvent(event_type="PatientRead", outcome="permit", subject_person_id=f"P{i:05d}",
                      agency="police", purpose="mash-triage")


def test_concurrent_appends_are_gap_free_and_each_caller_gets_its_own_receipts(
    tmp_path: Path,
) -> None:
    db = tmp_path / "kinlink.duckdb"
    trail = AuditTrail.open(audit_path_for(db))
    receipts: dict[int, list[tuple[int, str, str]]] = {}

    def worker(t: int) -> None:
        mine = []
        for k in range(40):
            subject = t * 1000 + k
            batch = [event(subject)] if k % 5 else [event(subject), event(subject + 500)]
            for r, e in zip(trail.append(batch), batch, strict=True):
                mine.append((r.seq, r.leaf_hash, e.subject_person_id))
        receipts[t] = mine

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    trail.close()
    flat = [r for rs in receipts.values() for r in rs]
    assert sorted(seq for seq, _, _ in flat) == list(range(len(flat)))
    with duckdb.connect(str(audit_path_for(db)), read_only=True) as con:
        stored = {r[0]: (r[1], r[2]) for r in con.execute(
            "SELECT seq, leaf_hash, subject_person_id FROM audit_events").fetchall()}
    assert len(stored) == len(flat)
    for seq, leaf, subject in flat:
        assert stored[seq] == (leaf, subject)
    result = runner.invoke(app, ["audit", "verify", "--db", str(db)])
    assert result.exit_code == 0, result.output


CHILD = """
import sys, threading
from pathlib import Path
from audit import AuditEvent, AuditTrail
trail = AuditTrail.open(Path(sys.argv[1]))
lock = threading.Lock()
def work(t):
    i = 0
    while True:
        i += 1
        r = trail.append([AuditEvent(event_type="PatientRead", outcome="permit",
                                     subject_person_id=f"P{t}-{i}")])
        with lock:
            print(r[0].seq, flush=True)
for t in range(4):
    threading.Thread(target=work, args=(t,), daemon=True).start()
threading.Event().wait()
"""


def test_kill_9_loses_no_acknowledged_event(tmp_path: Path) -> None:
    db = tmp_path / "kinlink.duckdb"
    path = audit_path_for(db)
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(path)], stdout=subprocess.PIPE,
                             text=True, cwd=Path(__file__).resolve().parents[2])
    acknowledged: list[int] = []

    def read() -> None:
        assert child.stdout is not None
        for line in child.stdout:
            acknowledged.append(int(line))

    reader = threading.Thread(target=read)
    reader.start()
    deadline = time.monotonic() + 30
    while len(acknowledged) < 300 and time.monotonic() < deadline:
        time.sleep(0.05)
    child.send_signal(signal.SIGKILL)
    child.wait()
    reader.join()
    assert len(acknowledged) >= 300, "the child never got going"
    with duckdb.connect(str(path), read_only=True) as con:
        stored = {r[0] for r in con.execute("SELECT seq FROM audit_events").fetchall()}
    assert set(acknowledged) <= stored
    assert stored == set(range(len(stored)))
    result = runner.invoke(app, ["audit", "verify", "--db", str(db)])
    assert result.exit_code == 0, result.output


def _wait_until(condition: object, what: str) -> None:
    deadline = time.monotonic() + 10
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.005)


def test_a_failed_group_commit_fails_every_caller_in_it_and_no_one_else(tmp_path: Path) -> None:
    """One poisoned event makes DuckDB refuse the whole group's transaction: every caller whose
    events were in that group must hear AuditUnavailable (so none of them discloses), callers in
    other groups must not, and the trail must stay gap-free and verifiable."""
    db = tmp_path / "kinlink.duckdb"
    path = audit_path_for(db)
    with duckdb.connect(str(path)) as con:
        # The trail's own schema, plus a CHECK a real write can fail (CREATE IF NOT EXISTS keeps it).
        con.execute("""CREATE TABLE audit_events (
            seq BIGINT PRIMARY KEY, recorded_at TIMESTAMPTZ NOT NULL, event_type VARCHAR NOT NULL,
            outcome VARCHAR NOT NULL,
            subject_person_id VARCHAR CHECK (subject_person_id IS NULL
                                             OR subject_person_id <> 'POISON'),
            user_id VARCHAR, agency VARCHAR, purpose VARCHAR, event_json VARCHAR NOT NULL,
            leaf_hash VARCHAR NOT NULL, chain_hash VARCHAR NOT NULL)""")
    trail = AuditTrail.open(path)
    trail.append([event(0)])
    outcome: dict[str, object] = {}

    def caller(name: str, subject: str) -> None:
        try:
            outcome[name] = trail.append([AuditEvent(event_type="PatientRead", outcome="permit",
                                                     subject_person_id=subject)])
        except Exception as exc:  # recorded, then asserted on below
            outcome[name] = exc

    # Hold the connection so the first caller leads alone and blocks; the rest queue behind it
    # and are committed together by the next leader.
    trail.store._lock.acquire()
    try:
        first = threading.Thread(target=caller, args=("first", "P-first"))
        first.start()
        _wait_until(lambda: trail._busy and not trail._pending, "the first leader")
        group = [threading.Thread(target=caller, args=(f"g{i}", "POISON" if i == 2 else f"P-g{i}"))
                 for i in range(5)]
        for t in group:
            t.start()
        _wait_until(lambda: len(trail._pending) == 5, "five queued callers")
    finally:
        trail.store._lock.release()
    for t in [first, *group]:
        t.join(timeout=10)
    assert not any(t.is_alive() for t in [first, *group]), "a caller was never woken"

    assert [r.seq for r in outcome["first"]] == [1]  # type: ignore[attr-defined]
    for i in range(5):
        assert isinstance(outcome[f"g{i}"], AuditUnavailable), outcome[f"g{i}"]
    # The trail is usable again at once, and gap-free: the failed group left no hole.
    assert [r.seq for r in trail.append([event(7)])] == [2]
    subjects = [r[0] for r in trail.cursor().execute(
        "SELECT subject_person_id FROM audit_events ORDER BY seq").fetchall()]
    assert subjects == ["P00000", "P-first", "P00007"]
    trail.close()
    result = runner.invoke(app, ["audit", "verify", "--db", str(db)])
    assert result.exit_code == 0, result.output


def test_the_writer_runs_duckdb_on_one_thread(tmp_path: Path) -> None:
    """A group commit is a few rows: the writer's connection does not hand them across DuckDB
    worker threads (issue 19 throughput), and appends still commit and read back."""
    from audit.duckdb_store import WRITER_THREADS

    trail = AuditTrail.open(audit_path_for(tmp_path / "kinlink.duckdb"))
    try:
        trail.append([event(1), event(2)])
        cursor = trail.cursor()
        assert cursor.execute("SELECT current_setting('threads')").fetchone() == (WRITER_THREADS,)
        assert cursor.execute("SELECT count(*) FROM audit_events").fetchone() == (2,)
    finally:
        trail.close()
