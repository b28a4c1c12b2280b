"""A small synthetic population linked end to end through the command line, accuracy asserted."""

import json
import shutil
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from typer.testing import CliRunner

from kinlink.cli import app
from linkage.evaluation import evaluate_export, read_truth
from linkage.identity.ids import is_valid_id
from linkage.synth import generate_population

runner = CliRunner()


@pytest.fixture(scope="module")
def population(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("population")
    generate_population(out, families=600, seed=11)
    return out


@pytest.fixture(scope="module")
def linked(population: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("index") / "kinlink.duckdb"
    result = runner.invoke(app, ["link", "--sources", str(population), "--db", str(db), "--json"])
    assert result.exit_code == 0, result.output
    return db


def identities(db: Path) -> pd.DataFrame:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute("SELECT source, record_id, person_id, family_id FROM record_links").df()


def test_accuracy_on_a_small_population(population: Path, linked: Path) -> None:
    truth = read_truth(population / "truth" / "truth.csv")
    results = evaluate_export(identities(linked), truth)
    persons, families = results["persons"], results["families"]
    assert persons.precision >= 0.995, persons
    assert persons.recall >= 0.94, persons
    assert persons.mixed_clusters <= 3, persons
    assert families.f1 >= 0.9, families


def test_every_record_has_a_valid_person_and_family_id(population: Path, linked: Path) -> None:
    frame = identities(linked)
    truth = read_truth(population / "truth" / "truth.csv")
    assert len(frame) == len(truth)
    assert frame["person_id"].map(lambda v: is_valid_id(v, "person")).all()
    assert frame["family_id"].map(lambda v: is_valid_id(v, "family")).all()


def test_export_and_evaluate_commands(linked: Path, population: Path, tmp_path: Path) -> None:
    out = tmp_path / "ids.csv"
    result = runner.invoke(app, ["export", "identities", "--db", str(linked), "--out", str(out)])
    assert result.exit_code == 0, result.output
    exported = pd.read_csv(out, dtype=str)
    assert list(exported.columns[:5]) == [
        "source",
        "record_id",
        "person_id",
        "family_id",
        "match_grade",
    ]
    assert set(exported["match_grade"]) <= {"certain", "probable", "possible", "sole"}
    truth = population / "truth" / "truth.csv"
    result = runner.invoke(app, ["evaluate", "--db", str(linked), "--truth", str(truth), "--json"])
    assert result.exit_code == 0, result.output
    scores = json.loads(result.output)
    assert scores["persons"]["precision"] >= 0.995


def test_relinking_the_same_data_keeps_every_identifier(
    population: Path, linked: Path, tmp_path: Path
) -> None:
    db = tmp_path / "again.duckdb"
    shutil.copy(linked, db)
    before = identities(db).set_index(["source", "record_id"])
    result = runner.invoke(app, ["link", "--sources", str(population), "--db", str(db), "--json"])
    assert result.exit_code == 0, result.output
    after = identities(db).set_index(["source", "record_id"])
    same_person = (before["person_id"] == after.loc[before.index, "person_id"]).mean()
    assert same_person == 1.0
    with duckdb.connect(str(db), read_only=True) as con:
        runs = con.execute("SELECT count(*) FROM runs").fetchall()[0][0]
    assert runs == 1  # each index records its own run; the previous one is replaced whole


def test_a_failed_run_leaves_the_previous_index_untouched(linked: Path, tmp_path: Path) -> None:
    db = tmp_path / "kept.duckdb"
    shutil.copy(linked, db)
    before = db.read_bytes()
    bad = tmp_path / "bad-sources"
    bad.mkdir()
    (bad / "health.csv").write_text("nhs_number\n123\n")
    result = runner.invoke(app, ["link", "--sources", str(bad), "--db", str(db)])
    assert result.exit_code == 2
    assert "record_id" in result.output
    assert db.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".kept")] == []


def test_extracts_with_no_identifiers_at_all_link(tmp_path: Path) -> None:
    """Names, dates of birth and addresses only (as in public linkage benchmarks): still links,
    still precise."""
    full = tmp_path / "full"
    generate_population(full, families=150, seed=8)
    bare = tmp_path / "bare"
    bare.mkdir()
    for path in full.glob("*.yaml"):
        shutil.copy(path, bare / path.name)
    for path in full.glob("*.csv"):
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        frame.drop(columns=[c for c in ("nhs_number", "upn", "local_id") if c in frame.columns]
                   ).to_csv(bare / path.name, index=False)
    db = tmp_path / "kinlink.duckdb"
    result = runner.invoke(app, ["link", "--sources", str(bare), "--db", str(db)])
    assert result.exit_code == 0, result.output
    persons = evaluate_export(identities(db), read_truth(full / "truth" / "truth.csv"))["persons"]
    assert persons.precision >= 0.98, persons
    assert persons.recall >= 0.9, persons
