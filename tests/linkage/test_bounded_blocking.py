"""Large name blocks are split by a second key: fewer pairs, only those the bound names are lost,
and an incremental run under the bound gives what a full run does."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from typer.testing import CliRunner

from kinlink.cli import app
from linkage.model.blocking import PREDICTION_KEYS
from linkage.synth import generate_population

runner = CliRunner()
NAME = ("given_name_canonical", "family_name_metaphone")


def link(sources: Path, db: Path, *extra: str) -> dict[str, object]:
    result = runner.invoke(app, ["link", "--sources", str(sources), "--db", str(db), "--json",
                                 *extra])
    assert result.exit_code == 0, result.output
    text = result.stdout
    return json.loads(text[text.index("{"): text.rindex("}") + 1])


def pairs(db: Path) -> pd.DataFrame:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute("SELECT unique_id_l, unique_id_r, gamma FROM pair_comparisons").df()


def persons(db: Path) -> set[frozenset[str]]:
    with duckdb.connect(str(db), read_only=True) as con:
        links = con.execute("SELECT unique_id, person_id FROM record_links").df()
    return set(links.groupby("person_id")["unique_id"].agg(frozenset))


@pytest.fixture(scope="module")
def population(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("population")
    generate_population(out, families=300, seed=9)
    return out


def test_only_pairs_of_large_name_blocks_agreeing_on_neither_second_key_are_lost(
    population: Path, tmp_path: Path
) -> None:
    link(population, tmp_path / "all.duckdb", "--full")
    link(population, tmp_path / "bounded.duckdb", "--full", "--largest-block", "3")
    every, bounded = pairs(tmp_path / "all.duckdb"), pairs(tmp_path / "bounded.duckdb")
    key = ["unique_id_l", "unique_id_r"]
    merged = every.merge(bounded, on=key, how="outer", indicator=True, suffixes=("", "_b"))
    assert (merged["_merge"] != "right_only").all()  # the bound adds no pair
    kept = merged[merged["_merge"] == "both"]
    assert (kept["gamma"].map(list) == kept["gamma_b"].map(list)).all()
    lost = merged[merged["_merge"] == "left_only"]
    assert len(lost) > 0

    with duckdb.connect(str(tmp_path / "all.duckdb"), read_only=True) as con:
        features = con.execute("SELECT * FROM record_features").df().set_index("unique_id")
    sizes = features.groupby(list(NAME)).size()
    for left, right in lost[key].itertuples(index=False):
        a, b = features.loc[left], features.loc[right]

        def agree(columns: tuple[str, ...], a: pd.Series = a, b: pd.Series = b) -> bool:
            return all(pd.notna(a[c]) and pd.notna(b[c]) and a[c] == b[c] for c in columns)

        assert agree(NAME) and sizes[tuple(a[list(NAME)])] > 3
        assert not agree(("dob_year",)) and not agree(("postcode_district",))
        assert not any(agree(keys) for keys in PREDICTION_KEYS if keys != NAME)


def test_incremental_under_the_bound_equals_a_full_run(population: Path, tmp_path: Path) -> None:
    base = tmp_path / "base"
    base.mkdir()
    for path in population.iterdir():
        if path.is_file() and path.name != "police.csv" and path.name != "police.yaml":
            shutil.copy(path, base / path.name)
    link(base, tmp_path / "incr.duckdb", "--largest-block", "3")
    shutil.copy(tmp_path / "incr.duckdb", tmp_path / "full.duckdb")
    incremental = link(population, tmp_path / "incr.duckdb", "--incremental",
                       "--largest-block", "3")
    link(population, tmp_path / "full.duckdb", "--full", "--largest-block", "3")
    scoring = incremental["scoring"]
    assert isinstance(scoring, dict) and scoring["mode"] == "incremental"
    key = ["unique_id_l", "unique_id_r"]
    a = pairs(tmp_path / "incr.duckdb").sort_values(key, ignore_index=True)
    b = pairs(tmp_path / "full.duckdb").sort_values(key, ignore_index=True)
    assert a[key].equals(b[key])
    assert (a["gamma"].map(list) == b["gamma"].map(list)).all()
    assert persons(tmp_path / "incr.duckdb") == persons(tmp_path / "full.duckdb")


def test_a_new_bound_makes_the_next_run_score_every_pair(population: Path, tmp_path: Path) -> None:
    db = tmp_path / "kinlink.duckdb"
    link(population, db, "--largest-block", "3")
    summary = link(population, db, "--largest-block", "4")
    scoring = summary["scoring"]
    assert isinstance(scoring, dict)
    assert scoring["mode"] == "full"
    assert "blocking rules changed" in scoring["reason"]
