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


def _blocked(con: duckdb.DuckDBPyConnection, left: str, right: str) -> bool:
    """Whether the rules a run generates pairs with (the model's, bounded, and the run's own)
    pair these two records (NULL never agrees)."""
    from splink import block_on

    from linkage.model.blocking import bounded_blocking_rules

    rules = bounded_blocking_rules([block_on(*keys).get_blocking_rule("duckdb")
                                    for keys in PREDICTION_KEYS])
    for rule in rules:
        if con.execute(f"SELECT count(*) FROM record_features l, record_features r "
                       f"WHERE l.unique_id = ? AND r.unique_id = ? "
                       f"AND ({rule.blocking_rule_sql})", [left, right]).fetchone()[0]:
            return True
    return False


def _features(rows: list[tuple[str, str, str, str, str]]) -> duckdb.DuckDBPyConnection:
    columns = sorted({k for keys in PREDICTION_KEYS for k in keys} | {"given_name", "family_name"})
    con = duckdb.connect()
    con.execute("CREATE TABLE record_features (idx INTEGER, unique_id VARCHAR, "
                + ", ".join(f"{c} VARCHAR" for c in columns) + ")")
    for i, (uid, given, family, dob, postcode) in enumerate(rows):
        values = {c: None for c in columns} | {
            "given_name": given, "given_name_canonical": given, "given_name_metaphone": given,
            "family_name": family, "family_name_metaphone": family, "dob": dob, "dob_year": dob[:4],
            "postcode": postcode, "postcode_district": postcode.split()[0]}
        con.execute("INSERT INTO record_features VALUES (?, ?, "
                    + ", ".join("?" for _ in columns) + ")",
                    [i, uid, *(values[c] for c in columns)])
    return con


def test_a_copy_mistyped_in_every_name_and_postcode_is_compared_where_dates_are_sparse() -> None:
    """What the sparse date rule solves: two copies that share only their date of birth (FEBRL's
    heavily corrupted duplicates) are compared when few records hold that date."""
    from linkage.model.blocking import add_block_bounds

    con = _features([("a", "ZOE", "HART", "1990-04-02", "TA1 2AB"),
                     ("b", "ZOY", "HERT", "1990-04-02", "TA9 7XY"),
                     ("c", "SAM", "LOWE", "1971-10-30", "TA1 2AB")])
    add_block_bounds(con)
    assert _blocked(con, "a", "b")
    assert not _blocked(con, "a", "c")


def test_the_sparse_date_rule_adds_nothing_where_a_date_is_common() -> None:
    """What it must not do: pair every record of a crowded date (a large population), where the
    rule would add hundreds of comparisons per record; there the model's rules decide alone."""
    from linkage.model.blocking import SPARSE_RULES, add_block_bounds

    crowd = SPARSE_RULES[0].largest or 0
    rows = [("a", "ZOE", "HART", "2015-04-02", "TA1 2AB"), ("b", "ZOY", "HERT", "2015-04-02",
                                                              "TA9 7XY")]
    rows += [(f"x{i}", f"N{i}", f"F{i}", "2015-04-02", f"LS{i} 1AA") for i in range(crowd - 1)]
    con = _features(rows)
    add_block_bounds(con)
    assert not _blocked(con, "a", "b")


def test_names_typed_into_each_others_boxes_are_compared() -> None:
    """No rule keyed on one name meets a swapped pair; the swapped-names rule does, and only it:
    one name moved across (a different person's surname as a given name) is not a swap."""
    from linkage.model.blocking import add_block_bounds

    rows = [("a", "SARA", "NIKAKIS", "2012-01-05", "TA1 2AB"),
            ("b", "NIKAKIS", "SARA", "2012-05-01", "LS6 2AB"),
            ("c", "NIKAKIS", "JONES", "2012-05-01", "LS6 2AB")]
    rows += [(f"x{i}", f"N{i}", f"F{i}", "2012-05-01", f"M{i} 1AA") for i in range(30)]
    con = _features(rows)
    add_block_bounds(con)
    assert _blocked(con, "a", "b")
    assert not _blocked(con, "a", "c")
