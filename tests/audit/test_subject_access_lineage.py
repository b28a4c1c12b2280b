"""Subject access over the child's whole lineage (issue 19.10): accesses recorded under an ID that
was later merged into the child are accesses to the child's records, and belong in the report."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import duckdb
from typer.testing import CliRunner

from audit import AuditEvent, AuditTrail, audit_path_for, subject_access_report
from kinlink.cli import app
from linkage.index.reader import IdentityIndex
from linkage.index.schema import create_schema

WHEN = dt.datetime(2026, 10, 5, 10, 0, tzinfo=dt.UTC)


def index_with_merges(db: Path) -> None:
    """PSURV is active; PGONE was merged into POLD, which was then merged into PSURV; POTHER is
    another child, and PSPLIT a retired ID of PSURV's that survives elsewhere."""
    with duckdb.connect(str(db)) as con:
        create_schema(con)                                # an empty index of the current schema
        con.executemany(
            "INSERT INTO persons (person_id, status, created_at, retired_at, survivor_id, "
            "record_count) VALUES (?, ?, ?, ?, ?, 0)",
            [("PSURV", "active", WHEN, None, None), ("POTHER", "active", WHEN, None, None),
             ("POLD", "retired", WHEN, WHEN, "PSURV"), ("PGONE", "retired", WHEN, WHEN, "POLD"),
             ("PSPLIT", "retired", WHEN, WHEN, "POTHER")])


def read(subject: str, agency: str, day: int) -> AuditEvent:
    return AuditEvent(event_type="PatientRead", outcome="permit", subject_person_id=subject,
                      agency=agency, purpose="s47-enquiry", user_id="u-1",
                      recorded_at=WHEN + dt.timedelta(days=day),
                      categories_released=["identity"])


def test_accesses_under_merged_ids_are_in_the_report(tmp_path: Path) -> None:
    db = tmp_path / "kinlink.duckdb"
    index_with_merges(db)
    assert IdentityIndex(db).former_ids("PSURV") == ["PGONE", "POLD"]
    trail = AuditTrail.open(audit_path_for(db))
    trail.append([read("PGONE", "health", 1), read("POLD", "police", 2),
                  read("PSURV", "education", 3), read("POTHER", "health", 4),
                  read("PSPLIT", "police", 5)])
    only_now = subject_access_report(trail.cursor(), "PSURV", today=dt.date(2026, 12, 1))
    assert [e["organisation"] for e in only_now.entries] == ["education"]   # what 19.10 found
    whole = subject_access_report(trail.cursor(), "PSURV", today=dt.date(2026, 12, 1),
                                  former_ids=IdentityIndex(db).former_ids("PSURV"))
    assert [e["organisation"] for e in whole.entries] == ["health", "police", "education"]
    trail.close()
    result = CliRunner().invoke(app, ["audit", "sar", "--person", "PSURV", "--db", str(db),
                                      "--format", "json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert [e["organisation"] for e in report["entries"]] == ["health", "police", "education"]
