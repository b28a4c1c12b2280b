"""Verify checks what the reports read, and anchors to checkpoints held outside the database.

Issue 19.5: the columns reports filter on (subject, agency, purpose, user, outcome, time) were not
covered by any hash, and deleting checkpoint rows (with the events after them) went unnoticed,
because verify read its checkpoints from the database it was checking. Each test is a tampering
an insider with write access to the trail file can do without the signing key.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from audit import AuditEvent, AuditTrail, audit_path_for, subject_access_report
from kinlink.cli import app

runner = CliRunner()


def event(i: int, subject: str | None = None) -> AuditEvent:
    return AuditEvent(event_type="PatientRead", outcome="permit",
                      subject_person_id=subject or f"P{i:04d}", user_id="u1", agency="police",
                      purpose="mash-triage")


@pytest.fixture
def db(tmp_path: Path) -> Path:
    """A trail of 12 events, checkpointed at 5 and at 10 (the 10 published beside it)."""
    db = tmp_path / "kinlink.duckdb"
    trail = AuditTrail.open(audit_path_for(db))
    trail.append([event(i, "PCHILD" if i == 3 else None) for i in range(5)])
    trail.checkpoint()
    trail.append([event(i) for i in range(5, 10)])
    trail.checkpoint()
    trail.append([event(i) for i in range(10, 12)])
    trail.close()
    return db


def verify(db: Path, *extra: str) -> tuple[int, str]:
    result = runner.invoke(app, ["audit", "verify", "--db", str(db), *extra])
    return result.exit_code, " ".join(result.output.split())


def tamper(db: Path, sql: str) -> None:
    with duckdb.connect(str(audit_path_for(db))) as con:
        con.execute(sql)


@pytest.mark.parametrize(("column", "value"), [
    ("subject_person_id", "'PELSE'"), ("agency", "'health'"), ("purpose", "'s47-enquiry'"),
    ("user_id", "'u9'"), ("outcome", "'deny'"), ("event_type", "'PatientQuery'"),
    ("recorded_at", "recorded_at + INTERVAL 1 DAY"),
])
def test_an_edited_column_is_found_though_the_event_json_is_untouched(
        db: Path, column: str, value: str) -> None:
    assert verify(db)[0] == 0
    tamper(db, f"UPDATE audit_events SET {column} = {value} WHERE seq = 3")
    code, output = verify(db)
    assert code == 1 and f"column {column}" in output and "event seq 3" in output


def test_a_subject_access_report_emptied_by_editing_columns_fails_verify(db: Path) -> None:
    with duckdb.connect(str(audit_path_for(db)), read_only=True) as con:
        assert len(subject_access_report(con, "PCHILD").entries) == 1
    tamper(db, "UPDATE audit_events SET subject_person_id = 'PNOBODY' "
               "WHERE subject_person_id = 'PCHILD'")
    with duckdb.connect(str(audit_path_for(db)), read_only=True) as con:
        assert subject_access_report(con, "PCHILD").entries == []   # what the breach did
    code, output = verify(db)
    assert code == 1 and "subject_person_id" in output


def test_deleting_every_checkpoint_row_is_caught_by_the_published_note(db: Path) -> None:
    tamper(db, "DELETE FROM checkpoints")
    code, output = verify(db)
    assert code == 1 and "checkpoints missing" in output and "size 10" in output


def test_deleting_the_last_checkpoint_and_the_events_after_the_one_before(db: Path) -> None:
    """Consistent in the database alone (checkpoint 5 still matches): only the published
    note at size 10 shows the trail is shorter than it was."""
    tamper(db, "DELETE FROM checkpoints WHERE tree_size = 10")
    tamper(db, "DELETE FROM audit_events WHERE seq >= 5")
    code, output = verify(db)
    assert code == 1 and "published checkpoint covers 10 events; only 5 remain" in output


def test_an_anchor_kept_elsewhere_catches_a_rewritten_published_note(db: Path,
                                                                   tmp_path: Path) -> None:
    audit = audit_path_for(db)
    kept = tmp_path / "kept-by-the-auditor.checkpoint"
    shutil.copy(audit.with_name("kinlink.audit.checkpoint"), kept)   # size 10
    tamper(db, "DELETE FROM checkpoints WHERE tree_size = 10")
    tamper(db, "DELETE FROM audit_events WHERE seq >= 5")
    audit.with_name("kinlink.audit.checkpoint").unlink()           # the insider removes it too
    assert verify(db)[0] == 0                                       # nothing left to tell
    code, output = verify(db, "--anchor", str(kept))
    assert code == 1 and "covers 10 events" in output


def test_a_forged_anchor_is_refused(db: Path, tmp_path: Path) -> None:
    audit = audit_path_for(db)
    note = audit.with_name("kinlink.audit.checkpoint")
    lines = note.read_text().splitlines(keepends=True)
    lines[1] = "11\n"
    note.write_text("".join(lines))
    code, output = verify(db)
    assert code == 1 and "not signed by the log key" in output


def test_an_intact_trail_reports_its_anchor(db: Path) -> None:
    code, output = verify(db)
    assert code == 0 and "12 events, 2 checkpoints, anchored at 10" in output
