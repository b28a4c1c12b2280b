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

from audit import AuditEvent, AuditTrail, audit_path_for
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
