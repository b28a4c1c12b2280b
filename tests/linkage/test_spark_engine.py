"""The Spark engine scores the same pairs the same way as DuckDB, so the persons are the same.

Both runs use one population, one fitted model (Spark receives the model DuckDB fitted, its SQL
translated to Spark's dialect) and one clustering; only where pairs are blocked and compared
differs. A real local Spark (pyspark on Debian's OpenJDK) does the scoring."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from linkage.engines.spark import to_spark_sql
from linkage.pipeline import LinkOptions, link_sources
from linkage.synth import generate_population


def _persons(db: Path) -> set[frozenset[str]]:
    with duckdb.connect(str(db), read_only=True) as con:
        rows = con.execute("SELECT person_id, list(unique_id) FROM record_links GROUP BY 1"
                           ).fetchall()
    return {frozenset(ids) for _, ids in rows}


def _comparisons(db: Path) -> dict[tuple[str, str], tuple[int, tuple[int, ...]]]:
    with duckdb.connect(str(db), read_only=True) as con:
        rows = con.execute("SELECT unique_id_l, unique_id_r, match_key, gamma "
                           "FROM pair_comparisons").fetchall()
    return {(left, right): (int(key), tuple(vector)) for left, right, key, vector in rows}


def _edges(db: Path) -> dict[tuple[str, str], tuple[float, str]]:
    with duckdb.connect(str(db), read_only=True) as con:
        rows = con.execute("SELECT unique_id_l, unique_id_r, match_weight, outcome "
                           "FROM person_edges").fetchall()
    return {(left, right): (weight, outcome) for left, right, weight, outcome in rows}


@pytest.fixture(scope="module")
def both_engines(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("engines")
    generate_population(root / "extracts", families=120, seed=11)
    duck, spark = root / "duckdb.duckdb", root / "spark.duckdb"
    link_sources(root / "extracts", duck, LinkOptions())
    link_sources(root / "extracts", spark, LinkOptions(engine="spark"))
    return duck, spark


def test_spark_blocks_and_compares_the_same_pairs_the_same_way(
        both_engines: tuple[Path, Path]) -> None:
    duck, spark = both_engines
    on_duckdb, on_spark = _comparisons(duck), _comparisons(spark)
    assert len(on_duckdb) > 500
    assert on_spark.keys() == on_duckdb.keys()
    differing = {pair for pair in on_duckdb if on_duckdb[pair] != on_spark[pair]}
    assert not differing, sorted(differing)[:5]


def test_spark_gives_the_same_persons_and_weights(both_engines: tuple[Path, Path]) -> None:
    duck, spark = both_engines
    assert _persons(spark) == _persons(duck)
    on_duckdb, on_spark = _edges(duck), _edges(spark)
    assert on_spark.keys() == on_duckdb.keys()
    for pair, (weight, outcome) in on_duckdb.items():
        assert on_spark[pair][0] == pytest.approx(weight, abs=1e-9)
        assert on_spark[pair][1] == outcome


def test_duckdb_sql_becomes_spark_sql() -> None:
    assert to_spark_sql("list_has_any(a_l, a_r)") == "ARRAYS_OVERLAP(a_l, a_r)"
    assert to_spark_sql('jaro_winkler_similarity("n_l", "n_r") >= 0.9') == \
        "JARO_WINKLER(`n_l`, `n_r`) >= 0.9"
    assert to_spark_sql("ELSE") == "ELSE"


def test_spark_without_its_extra_stops_before_any_work(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """A machine without pyspark hears which extra to install, before extracts are even read."""
    import importlib.util

    from typer.testing import CliRunner

    from kinlink.cli import app

    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "pyspark" else real_find_spec(name, *a))
    db = tmp_path / "kinlink.duckdb"
    # The sources folder does not even exist: a run that did any work would fail on it instead.
    result = CliRunner().invoke(app, ["link", "--sources", str(tmp_path / "nowhere"),
                                      "--db", str(db), "--engine", "spark"])
    assert result.exit_code == 2
    assert "kinlink[spark]" in result.output and "Traceback" not in result.output
    assert not db.exists()
