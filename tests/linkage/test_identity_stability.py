"""Identifiers survive re-runs with more and changed records; retired IDs resolve; lineage explains."""

import random
import shutil
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from typer.testing import CliRunner

from kinlink.cli import app
from linkage.synth import generate_population

runner = CliRunner()
SOURCES = ("health", "education", "social_care", "police")


def link(sources: Path, db: Path) -> None:
    result = runner.invoke(app, ["link", "--sources", str(sources), "--db", str(db), "--json"])
    assert result.exit_code == 0, result.output


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, pd.DataFrame]:
    base = tmp_path_factory.mktemp("stability")
    full = base / "full"
    generate_population(full, families=500, seed=21)
    rng = random.Random(4)
    first = base / "first"
    first.mkdir()
    for path in full.iterdir():
        if (path.is_file() and path.suffix in (".yaml",)) or path.name.endswith("_relationships.csv"):
            shutil.copy(path, first / path.name)
    # First run: 80% of each extract. Second run: everything, with 2% of records changed.
    for source in SOURCES:
        frame = pd.read_csv(full / f"{source}.csv", dtype=str, keep_default_na=False)
        keep = [rng.random() < 0.8 for _ in range(len(frame))]
        frame[keep].to_csv(first / f"{source}.csv", index=False)
        postcode = "post_code" if source == "police" else "postcode"
        changed = [rng.random() < 0.02 for _ in range(len(frame))]
        frame.loc[changed, postcode] = "TA9 9ZZ"
        frame.to_csv(full / f"{source}.csv", index=False)
    db = base / "kinlink.duckdb"
    link(first, db)
    with duckdb.connect(str(db), read_only=True) as con:
        before = con.execute("SELECT unique_id, person_id FROM record_links").df()
    link(full, db)
    return full, db, before


def test_persons_keep_their_ids_when_records_are_added_and_changed(runs) -> None:
    full, db, before = runs
    truth = pd.read_csv(full / "truth" / "truth.csv", dtype=str)
    truth["unique_id"] = truth["source"] + ":" + truth["record_id"]
    with duckdb.connect(str(db), read_only=True) as con:
        after = con.execute("SELECT unique_id, person_id FROM record_links").df()
    merged = before.merge(after, on="unique_id", suffixes=("_before", "_after")).merge(
        truth[["unique_id", "person_id"]], on="unique_id"
    )
    # Persons whose true records were already together: one first-run ID for the true person,
    # and that ID held no one else's records.
    one_id = merged.groupby("person_id")["person_id_before"].nunique() == 1
    pure = merged.groupby("person_id_before")["person_id"].nunique() == 1
    together = one_id[one_id].index
    clean_ids = set(pure[pure].index)
    stable = merged[merged["person_id"].isin(together) & merged["person_id_before"].isin(clean_ids)]
    # A person keeps their ID when the ID now holding most of their records is the one they had.
    now = stable.groupby("person_id")["person_id_after"].agg(
        lambda ids: ids.value_counts().index[0]
    )
    was = stable.groupby("person_id")["person_id_before"].first()
    kept = (now == was).mean()
    # Issue 3's acceptance: at least 99.9% keep their ID.
    print(f"persons keeping their ID: {kept:.5f} of {len(now)}")
    assert kept >= 0.999, kept


def test_every_retired_id_resolves_to_an_active_survivor_and_lineage_explains_it(runs) -> None:
    _, db, before = runs
    with duckdb.connect(str(db), read_only=True) as con:
        persons = con.execute("SELECT person_id, status, survivor_id FROM persons").df()
        lineage = con.execute(
            "SELECT entity_id, event, other_id FROM lineage WHERE entity_type = 'person'"
        ).df()
    active = set(persons.loc[persons["status"] == "active", "person_id"])
    first_ids = set(before["person_id"])
    assert first_ids <= set(persons["person_id"])  # no ID ever disappears
    retired = persons[persons["status"] == "retired"]
    for row in retired.itertuples():
        survivor = row.survivor_id
        hops = 0
        while survivor is not None and survivor not in active and hops < 10:
            survivor = persons.set_index("person_id").at[survivor, "survivor_id"]
            hops += 1
        if row.survivor_id is not None:
            assert survivor in active
        events = lineage[lineage["entity_id"] == row.person_id]["event"]
        assert {"merged", "withdrawn"} & set(events)
    assert (lineage["event"] == "created").sum() >= len(first_ids)
