"""Appends are durable and ordered; every kind of tampering is found and named; failures refuse."""

import threading
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from audit import AuditEvent, AuditTrail, AuditUnavailable, audit_path_for
from audit.checkpoint import parse_checkpoint, verify_signature
from kinlink.cli import app

runner = CliRunner()


def event(i: int) -> AuditEvent:
    return AuditEvent(
        event_type="PatientRead",
        outcome="permit",
        subject_person_id=f"P{i:04d}",
        user_id="u1",
        agency="police",
        purpose="mash-triage",
    )


@pytest.fixture
def trail_path(tmp_path: Path) -> Path:
    path = audit_path_for(tmp_path / "kinlink.duckdb")
    trail = AuditTrail.open(path)
    trail.append([event(i) for i in range(5)])
    trail.checkpoint()
    trail.append([event(i) for i in range(5, 10)])
    trail.checkpoint()
    trail.close()
    return path


def verify(path: Path) -> tuple[int, str]:
    db = path.with_name("kinlink.duckdb")
    result = runner.invoke(app, ["audit", "verify", "--db", str(db)])
    return result.exit_code, result.output


def tamper(path: Path, sql: str) -> None:
    with duckdb.connect(str(path)) as con:
        con.execute(sql)


def test_an_intact_trail_verifies(trail_path: Path) -> None:
    code, output = verify(trail_path)
    assert code == 0 and "10 events" in output


def test_appends_are_gap_free_under_concurrency(tmp_path: Path) -> None:
    trail = AuditTrail.open(tmp_path / "t.audit.duckdb")
    threads = [
        threading.Thread(target=lambda: [trail.append([event(0)]) for _ in range(25)])
        for _ in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    trail.checkpoint()
    trail.close()
    with duckdb.connect(str(tmp_path / "t.audit.duckdb"), read_only=True) as con:
        seqs = [r[0] for r in con.execute("SELECT seq FROM audit_events ORDER BY seq").fetchall()]
    assert seqs == list(range(100))


def test_an_edited_event_is_named(trail_path: Path) -> None:
    tamper(
        trail_path,
        "UPDATE audit_events SET event_json = replace(event_json, 'P0003', 'P9999') WHERE seq = 3",
    )
    code, output = verify(trail_path)
    assert code == 1 and "event seq 3" in output and "edited" in output


def test_a_deleted_event_is_named(trail_path: Path) -> None:
    tamper(trail_path, "DELETE FROM audit_events WHERE seq = 4")
    code, output = verify(trail_path)
    assert code == 1 and "seq 4" in output and "deleted" in output


def test_a_deleted_tail_is_caught_by_the_signed_checkpoint(trail_path: Path) -> None:
    tamper(trail_path, "DELETE FROM audit_events WHERE seq >= 7")
    code, output = verify(trail_path)
    assert code == 1 and "seq 7" in output


def test_an_inserted_event_is_named(trail_path: Path) -> None:
    tamper(trail_path, "UPDATE audit_events SET seq = seq + 1 WHERE seq >= 6")
    tamper(
        trail_path,
        """INSERT INTO audit_events SELECT 6, recorded_at, event_type, outcome,
        subject_person_id, user_id, agency, purpose, event_json, leaf_hash, chain_hash
        FROM audit_events WHERE seq = 2""",
    )
    code, output = verify(trail_path)
    assert code == 1 and "event seq 6" in output


def test_reordered_events_are_named(trail_path: Path) -> None:
    tamper(trail_path, "UPDATE audit_events SET seq = 100 WHERE seq = 1")
    tamper(trail_path, "UPDATE audit_events SET seq = 1 WHERE seq = 2")
    tamper(trail_path, "UPDATE audit_events SET seq = 2 WHERE seq = 100")
    code, output = verify(trail_path)
    assert code == 1 and "event seq 1" in output


def test_a_fully_recomputed_rewrite_is_caught_by_the_checkpoint(
    trail_path: Path, tmp_path: Path
) -> None:
    # An insider rewrites event 3, its column and every leaf and chain hash after it.
    from audit.hashing import GENESIS, chain_next, leaf_data
    from audit.merkle import leaf_hash

    with duckdb.connect(str(trail_path)) as con:
        rows = con.execute("SELECT seq, event_json FROM audit_events ORDER BY seq").fetchall()
        chain = GENESIS
        for seq, payload in rows:
            if seq == 3:
                payload = payload.replace("P0003", "P7777")
            leaf = leaf_hash(leaf_data(seq, payload)).hex()
            chain = chain_next(chain, leaf)
            con.execute(
                "UPDATE audit_events SET event_json = ?, leaf_hash = ?, chain_hash = ?, "
                "subject_person_id = json_extract_string(?, '$.subject_person_id') WHERE seq = ?",
                [payload, leaf, chain, payload, seq],
            )
    code, output = verify(trail_path)
    assert code == 1 and "signed checkpoint" in output and "seq 0" in output


def test_an_edited_checkpoint_is_caught(trail_path: Path) -> None:
    tamper(
        trail_path,
        "UPDATE checkpoints SET note = replace(note, '\n5\n', '\n4\n') WHERE tree_size = 5",
    )
    code, output = verify(trail_path)
    assert code == 1 and "not signed by the log key" in output


def test_checkpoints_are_c2sp_signed_notes(tmp_path: Path) -> None:
    trail = AuditTrail.open(tmp_path / "x.audit.duckdb")
    trail.append([event(1)])
    note = trail.checkpoint()
    parsed = parse_checkpoint(note.text())
    assert parsed.size == 1 and note.text().splitlines()[0] == "kinlink.local/audit"
    assert note.text().splitlines()[4].startswith("— kinlink.local/audit ")
    assert verify_signature(parsed, "kinlink.local/audit", trail.public_key)
    trail.close()


def test_a_failed_write_raises_audit_unavailable_and_writes_nothing(tmp_path: Path) -> None:
    trail = AuditTrail.open(tmp_path / "y.audit.duckdb")
    trail.append([event(1)])
    trail.close()
    with pytest.raises(AuditUnavailable):
        trail.append([event(2)])
    with duckdb.connect(str(tmp_path / "y.audit.duckdb"), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM audit_events").fetchall()[0][0] == 1


def test_unknown_event_fields_are_refused() -> None:
    with pytest.raises(ValueError):
        AuditEvent(event_type="PatientRead", outcome="permit", nhs_number="943")  # type: ignore[call-arg]
