"""PDS batch trace: a request for persons with no verified NHS number, and the response read back
as a source that joins each traced number to the person it was asked for."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kinlink.cli import app
from linkage.index import connect_index
from linkage.ingest.formats.pds import REQUEST_COLUMNS
from linkage.pipeline import link_sources
from linkage.synth import generate_population

pytestmark = pytest.mark.slow


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _answer_as_pds_would(request: Path, sources: Path, db: Path, response: Path) -> int:
    """Stand in for PDS: each request row answered with the true person's NHS number (from the
    synthetic truth), as a PDS MESH response file."""
    truth = {(r["source"], r["record_id"]): r["person_id"] for r in _rows(
        sources / "truth" / "truth.csv")}
    nhs = {r["person_id"]: r["nhs_number"] for r in _rows(sources / "truth" / "persons.csv")}
    with connect_index(db) as con:
        links = con.execute("SELECT person_id, source, record_id FROM record_links").fetchall()
    true_person: dict[str, Counter[str]] = {}
    for person, source, record_id in links:
        true_person.setdefault(person, Counter())[truth[(source, record_id)]] += 1
    answered = 0
    with response.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow([*REQUEST_COLUMNS, "MATCHED_NHS_NO", "MATCHED_ALGORITHM_INDICATOR"])
        for row in _rows(request):
            number = nhs.get(true_person[row["UNIQUE REFERENCE"]].most_common(1)[0][0], "")
            answered += bool(number)
            writer.writerow([row[c] for c in REQUEST_COLUMNS] + [number, "3" if number else "0"])
    return answered


def test_trace_request_and_response_join_the_traced_numbers(tmp_path: Path) -> None:
    sources, db = tmp_path / "sources", tmp_path / "index.duckdb"
    generate_population(sources, families=40, seed=11)
    link_sources(sources, db)
    request = tmp_path / "pds_request.csv"
    result = CliRunner().invoke(app, ["trace", "request", "--db", str(db), "--out", str(request)])
    assert result.exit_code == 0, result.output
    rows = _rows(request)
    assert rows and list(rows[0]) == list(REQUEST_COLUMNS)
    assert all(len(r["DATE_OF_BIRTH"]) == 8 and r["DATE_OF_BIRTH"].isdigit() for r in rows)
    with connect_index(db) as con:
        with_number = {p for (p,) in con.execute(
            "SELECT DISTINCT l.person_id FROM record_links l JOIN source_records s "
            "USING (unique_id) WHERE s.nhs_number IS NOT NULL").fetchall()}
    requested = {r["UNIQUE REFERENCE"] for r in rows}
    assert not requested & with_number  # only persons without a verified number are asked for

    answered = _answer_as_pds_would(request, sources, db, sources / "pds_trace.csv")
    assert answered > 0
    summary = link_sources(sources, db)
    assert summary.formats["pds_trace"]["format"] == "pds"
    assert summary.formats["pds_trace"]["records"] == answered
    with connect_index(db) as con:
        person_of = dict(con.execute("SELECT unique_id, person_id FROM record_links").fetchall())
    # Each traced record joins the person it was asked for (person IDs are stable across runs).
    joined = sum(person_of.get(f"pds_trace:{ref}") == ref for ref in requested
                 if f"pds_trace:{ref}" in person_of)
    assert joined == answered
