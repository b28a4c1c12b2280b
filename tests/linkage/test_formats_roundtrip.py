"""One synthetic population, linked once as canonical CSV and once per agency format.

Each format rewrites one agency's extract the way that agency really holds it. Where the format
carries every identifying field the CSV had (CTF, census, SSD, CSC API, FHIR, PDS response), the
persons and families must be exactly the CSV's. CIN and SSDA903 carry no names: their records can
only join others by UPN and date of birth, so some of the CSV's links are lost, but never may the
format make a link the CSV did not.
"""

from __future__ import annotations

import csv
import itertools
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kinlink.cli import app
from linkage.index import connect_index
from linkage.pipeline import link_sources
from linkage.synth import generate_population
from linkage.synth.formats import FORMAT_SOURCES, write_in_format

pytestmark = pytest.mark.slow

FAMILIES, SEED = 60, 3
Key = tuple[str, str]


def _link(tmp: Path, fmt: str) -> tuple[set[tuple[Key, Key]], set[tuple[Key, Key]], dict]:
    sources, db = tmp / fmt, tmp / f"{fmt}.duckdb"
    generate_population(sources, families=FAMILIES, seed=SEED)
    write_in_format(sources, fmt)
    summary = link_sources(sources, db)
    back: dict[Key, str] = {}
    if fmt != "csv":
        with (sources / "truth" / "format_records.csv").open(encoding="utf-8") as handle:
            back = {(r["source"], r["record_id"]): r["csv_record_id"]
                    for r in csv.DictReader(handle)}
    with connect_index(db) as con:
        rows = con.execute("SELECT source, record_id, person_id, family_id "
                           "FROM record_links").fetchall()
    persons: dict[str, set[Key]] = {}
    families: dict[str, set[Key]] = {}
    for source, record_id, person, family in rows:
        key = (source, back.get((source, record_id), record_id))
        persons.setdefault(person, set()).add(key)
        families.setdefault(family, set()).add(key)
    return _pairs(persons), _pairs(families), summary.formats


def _pairs(groups: dict[str, set[Key]]) -> set[tuple[Key, Key]]:
    return {pair for members in groups.values()
            for pair in itertools.combinations(sorted(members), 2)}


@pytest.fixture(scope="module")
def through_csv(tmp_path_factory: pytest.TempPathFactory) -> tuple[set, set]:
    persons, families, _ = _link(tmp_path_factory.mktemp("csv"), "csv")
    return persons, families


@pytest.mark.parametrize("fmt", ["ctf", "census", "ssd", "csc-api", "fhir", "pds"])
def test_a_format_carrying_every_identifier_links_exactly_as_the_csv(
    fmt: str, through_csv: tuple[set, set], tmp_path: Path
) -> None:
    persons, families, readings = _link(tmp_path, fmt)
    csv_persons, csv_families = through_csv
    assert len(csv_persons) > 100  # a population with plenty to link
    assert persons == csv_persons
    assert families == csv_families
    assert readings[FORMAT_SOURCES[fmt]]["format"] == fmt


@pytest.mark.parametrize("fmt", ["cin", "903"])
def test_a_format_without_names_loses_links_but_never_adds_one(
    fmt: str, through_csv: tuple[set, set], tmp_path: Path
) -> None:
    persons, families, _ = _link(tmp_path, fmt)
    csv_persons, csv_families = through_csv
    assert persons <= csv_persons and families <= csv_families
    lost = csv_persons - persons
    # Only links through the rewritten agency's records are lost: a lost pair of two other
    # agencies' records was one person in the CSV run only by way of a record of this agency.
    source = FORMAT_SOURCES[fmt]
    via = {k for pair in csv_persons for k in pair if k[0] == source}

    def joined_through_source(a: Key, b: Key) -> bool:
        return any(tuple(sorted((a, s))) in csv_persons and tuple(sorted((b, s))) in csv_persons
                   for s in via)

    assert lost and all(source in (a[0], b[0]) or joined_through_source(a, b) for a, b in lost)
    # Its records with a UPN still find their pupil records in education.
    assert any({a[0], b[0]} == {source, "education"} for a, b in persons)


def test_a_folder_mixing_formats_links_and_says_how_each_file_was_read(tmp_path: Path) -> None:
    sources = tmp_path / "mixed"
    generate_population(sources, families=30, seed=4)
    for fmt in ("ctf", "ssd", "fhir"):
        write_in_format(sources, fmt)
    bundle = sources / "health.json"
    lines = bundle.read_text(encoding="utf-8").splitlines()
    bad = {"resource": {"resourceType": "Patient", "id": "bad-1", "birthDate": "2015-02-30"}}
    lines.insert(-1, "," + json.dumps(bad))      # one resource that does not parse, near the end
    bundle.write_text("\n".join(lines) + "\n", encoding="utf-8")
    db = tmp_path / "mixed.duckdb"
    result = CliRunner().invoke(app, ["link", "--sources", str(sources), "--db", str(db),
                                      "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    formats = summary["formats"]
    with open(summary["reject_report"], encoding="utf-8", newline="") as handle:
        report = [(Path(r["file"]).name, r["row"], r["field"])
                  for r in csv.DictReader(handle)]
    # The bad resource is counted against its file and named by line and JSON path.
    assert ("health.json", str(len(lines) - 1),
            f"$.entry[{len(lines) - 3}].resource.birthDate") in report
    assert formats["health"]["rejects"] == sum(f == "health.json" for f, _, _ in report)
    assert formats["education"]["rejects"] == 0
    text = CliRunner().invoke(app, ["link", "--sources", str(sources), "--db", str(db)])
    assert text.exit_code == 0, text.output
    flat = " ".join(text.output.replace("│", " ").split())    # table cells wrap
    assert "education 41 — ctf 25.0" in flat
    assert (f"health {formats['health']['records']} — fhir R4 Bundle, dates %Y-%m-%d (format), "
            f"{formats['health']['rejects']} rejects") in flat
    assert {s: f["format"] for s, f in formats.items()} == {
        "education": "ctf", "social_care": "ssd", "health": "fhir", "police": "csv"}
    assert formats["education"]["version"] == "25.0"
    assert formats["police"]["dates"] == {"formats": ["%d/%m/%Y"], "basis": "declared",
                                          "parsed_share": None}
    assert formats["social_care"]["estimated_day"] == 15
    assert all(f["records"] > 0 for f in formats.values())
    evaluated = CliRunner().invoke(app, ["evaluate", "--truth", str(sources / "truth" /
                                                                    "truth.csv"),
                                         "--db", str(db), "--json"])
    assert evaluated.exit_code == 0, evaluated.output
    assert json.loads(evaluated.output)["persons"]["precision"] > 0.99
