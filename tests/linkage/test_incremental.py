"""Incremental linkage gives the same persons as a full re-run on the same extracts.

One base index is linked from a synthetic population with about a sixth of its records held back.
A delta then adds those records (about 20% more), changes 2% (postcode and given name) and withdraws
a few; the final extracts are linked twice from copies of the base index: incrementally, and with
``--full``. Both must give the same partition of records into persons and families, the same
scored edges, and the same carried-over IDs.
"""

from __future__ import annotations

import json
import random
import shutil
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from typer.testing import CliRunner

from kinlink.cli import app
from linkage.synth import generate_population

runner = CliRunner()
SOURCES = ("health", "education", "social_care", "police")


@dataclass
class Delta:
    added: set[str]
    changed: set[str]
    withdrawn: set[str]


@dataclass
class Runs:
    base: Path
    incremental: Path
    full: Path
    delta: Delta
    incremental_summary: dict[str, object]
    full_summary: dict[str, object]


def link(sources: Path, db: Path, *extra: str) -> dict[str, object]:
    result = runner.invoke(
        app, ["link", "--sources", str(sources), "--db", str(db), "--json", *extra]
    )
    assert result.exit_code == 0, result.output
    text = result.stdout
    return json.loads(text[text.index("{") : text.rindex("}") + 1])


def make_delta(full: Path, base: Path, final: Path, rng: random.Random) -> Delta:
    """Write ``base`` (a subset) and ``final`` (everything, some changed, a few withdrawn)."""
    delta = Delta(set(), set(), set())
    for directory in (base, final):
        directory.mkdir()
        for path in full.iterdir():
            if path.suffix == ".yaml" or path.name.endswith("_relationships.csv"):
                shutil.copy(path, directory / path.name)
    for source in SOURCES:
        frame = pd.read_csv(full / f"{source}.csv", dtype=str, keep_default_na=False)
        id_column = frame.columns[0]
        ids = (source + ":" + frame[id_column]).to_numpy()
        in_base = pd.Series([rng.random() < 0.83 for _ in range(len(frame))])
        frame[in_base.to_numpy()].to_csv(base / f"{source}.csv", index=False)
        delta.added |= set(ids[~in_base.to_numpy()])

        final_frame = frame.copy()
        given = "forename" if source == "police" else "given_name"
        postcode = "post_code" if source == "police" else "postcode"
        base_rows = list(in_base[in_base].index)
        rng.shuffle(base_rows)
        changed = base_rows[: max(1, len(frame) // 50)]
        withdrawn = base_rows[len(changed) : len(changed) + 3]
        final_frame.loc[changed, postcode] = "TA9 9ZZ"
        final_frame.loc[changed[::2], given] = final_frame.loc[changed[::2], given] + "e"
        delta.changed |= set(ids[changed])
        delta.withdrawn |= set(ids[withdrawn])
        final_frame.drop(index=withdrawn).to_csv(final / f"{source}.csv", index=False)
    return delta


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Runs:
    root = tmp_path_factory.mktemp("incremental")
    full = root / "population"
    generate_population(full, families=400, seed=33)
    delta = make_delta(full, root / "base", root / "final", random.Random(8))
    base_db = root / "base.duckdb"
    link(root / "base", base_db)
    incremental_db, full_db = root / "incremental.duckdb", root / "full.duckdb"
    shutil.copy(base_db, incremental_db)
    shutil.copy(base_db, full_db)
    incremental_summary = link(root / "final", incremental_db, "--incremental")
    full_summary = link(root / "final", full_db, "--full")
    return Runs(base_db, incremental_db, full_db, delta, incremental_summary, full_summary)


def table(db: Path, sql: str) -> pd.DataFrame:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql).df()


def partition(db: Path, column: str) -> dict[frozenset[str], str]:
    """Each group of records (as a set) → the ID that holds it."""
    links = table(db, f"SELECT unique_id, {column} FROM record_links")
    groups = links.groupby(column)["unique_id"].agg(frozenset)
    return {members: key for key, members in groups.items()}


def test_the_incremental_run_scores_only_pairs_touching_the_delta(runs: Runs) -> None:
    scoring = runs.incremental_summary["scoring"]
    assert isinstance(scoring, dict)
    assert scoring["mode"] == "incremental"
    records = scoring["records"]
    assert records["new"] == len(runs.delta.added)
    assert records["withdrawn"] == len(runs.delta.withdrawn)
    assert records["changed"] == len(runs.delta.changed)
    full_scoring = runs.full_summary["scoring"]
    assert isinstance(full_scoring, dict) and full_scoring["mode"] == "full"
    # Every pair is accounted for once, and most come from the base index, not from scoring.
    assert scoring["pairs_scored"] + scoring["pairs_reused"] == full_scoring["pairs_scored"]
    assert scoring["pairs_reused"] > scoring["pairs_scored"] > 0


def test_persons_and_families_are_the_same_as_a_full_rerun(runs: Runs) -> None:
    for column in ("person_id", "family_id"):
        incremental, full = partition(runs.incremental, column), partition(runs.full, column)
        assert set(incremental) == set(full), column


def test_scored_edges_and_stored_comparisons_are_the_same_as_a_full_rerun(runs: Runs) -> None:
    edges_sql = (
        "SELECT unique_id_l, unique_id_r, match_weight, match_probability, personal_evidence, "
        "outcome FROM person_edges ORDER BY ALL"
    )
    incremental, full = table(runs.incremental, edges_sql), table(runs.full, edges_sql)
    pd.testing.assert_frame_equal(
        incremental.drop(columns=["match_weight", "match_probability"]),
        full.drop(columns=["match_weight", "match_probability"]),
    )
    for column in ("match_weight", "match_probability"):
        assert (incremental[column] - full[column]).abs().max() < 1e-9, column
    vectors_sql = "SELECT unique_id_l, unique_id_r, match_key, gamma FROM pair_comparisons"
    incremental_vectors = table(runs.incremental, vectors_sql)
    full_vectors = table(runs.full, vectors_sql)
    as_set = lambda frame: {  # noqa: E731
        (a, b, k, tuple(g)) for a, b, k, g in frame.itertuples(index=False)
    }
    assert as_set(incremental_vectors) == as_set(full_vectors)
    # The term frequencies moved with the added records, so reused pairs were re-weighed, not
    # copied: some edge the base index also had carries a different weight now.
    base = table(runs.base, edges_sql)
    both = base.merge(full, on=["unique_id_l", "unique_id_r"], suffixes=("_base", ""))
    assert len(both) > 0
    assert (both["match_weight_base"] - both["match_weight"]).abs().max() > 1e-6


def test_withdrawn_records_leave_every_person_family_and_pair(runs: Runs) -> None:
    withdrawn = runs.delta.withdrawn
    for db in (runs.incremental, runs.full):
        links = table(db, "SELECT unique_id, person_id FROM record_links")
        assert not withdrawn & set(links["unique_id"])
        pairs = table(db, "SELECT unique_id_l, unique_id_r FROM pair_comparisons")
        assert not withdrawn & (set(pairs["unique_id_l"]) | set(pairs["unique_id_r"]))
        edges = table(db, "SELECT unique_id_l, unique_id_r FROM person_edges")
        assert not withdrawn & (set(edges["unique_id_l"]) | set(edges["unique_id_r"]))
        # A person made only of withdrawn records is retired with no survivor, and is in no family.
        before = table(runs.base, "SELECT unique_id, person_id FROM record_links")
        emptied = {
            pid for pid, ids in before.groupby("person_id")["unique_id"] if set(ids) <= withdrawn
        }
        persons = table(db, "SELECT person_id, status, survivor_id FROM persons")
        gone = persons[persons["person_id"].isin(emptied)]
        assert len(gone) == len(emptied)
        assert (gone["status"] == "retired").all() and gone["survivor_id"].isna().all()
        members = table(db, "SELECT person_id FROM family_members")
        assert not emptied & set(members["person_id"])
        # The history closes each withdrawn record's link; none is left open.
        open_rows = table(
            db, "SELECT unique_id FROM record_link_history WHERE valid_to IS NULL"
        )
        assert not withdrawn & set(open_rows["unique_id"])


def test_carried_over_ids_are_the_same_as_a_full_rerun(runs: Runs) -> None:
    base_ids = set(table(runs.base, "SELECT person_id FROM persons")["person_id"])
    incremental, full = partition(runs.incremental, "person_id"), partition(runs.full, "person_id")
    carried = {members: pid for members, pid in incremental.items() if pid in base_ids}
    assert carried, "no person kept a base ID"
    assert all(full[members] == pid for members, pid in carried.items())
    # Minted IDs are random; which persons needed a new one is not.
    assert {m for m, pid in incremental.items() if pid not in base_ids} == {
        m for m, pid in full.items() if pid not in base_ids
    }
    retired_sql = "SELECT person_id, survivor_id FROM persons WHERE status = 'retired'"
    incremental_retired = table(runs.incremental, retired_sql)
    full_retired = table(runs.full, retired_sql)
    assert set(incremental_retired["person_id"]) == set(full_retired["person_id"])


def test_incremental_refuses_without_a_previous_index(tmp_path: Path, runs: Runs) -> None:
    sources = tmp_path / "sources"
    shutil.copytree(runs.base.parent / "final", sources)
    result = runner.invoke(
        app, ["link", "--sources", str(sources), "--db", str(tmp_path / "new.duckdb"),
              "--incremental", "--json"]
    )
    assert result.exit_code == 2
    assert "no previous index" in result.output
    assert not (tmp_path / "new.duckdb").exists()
