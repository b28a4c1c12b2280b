"""Scoring pairs with Splink's Spark backend, for populations that outgrow one machine.

Everything but the pair scoring stays as on DuckDB: the same standardised features, the same
model fitted to this population (its JSON, term frequencies computed from the same records), and
the same constrained clustering, which reads only the scored pairs. Blocking and comparing pairs
is the part that grows with the square of a block, so that is what moves to Spark: the features
go to Spark, Splink's ``predict`` runs there with the fitted model, and the pairs come back as the
same ``pair_scores`` table the DuckDB engine writes, so nothing downstream knows which ran.

The session is local (``local[N]``) unless ``KINLINK_SPARK_MASTER`` names a cluster; Splink's
similarity UDF jar is put on its class path, and its web UI is off.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import threading
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from linkage.incremental.scoring import PAIR_SCORES, PairScoring

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

__all__ = ["score_all_pairs_on_spark", "spark_model", "spark_session", "to_spark_sql"]

#: DuckDB functions the model uses → the names Splink registers on Spark (its similarity jar).
_FUNCTIONS = {"jarowinkler_similarity": "jaro_winkler", "jaro_winkler_similarity": "jaro_winkler"}

_FEATURES = "kinlink_record_features"
_session: SparkSession | None = None
_session_lock = threading.Lock()


def spark_session() -> SparkSession:
    """This process's Spark session, created once (a JVM start costs seconds)."""
    global _session
    with _session_lock:
        if _session is None:
            from pyspark.sql import SparkSession
            from splink.internals.spark.jar_location import similarity_jar_location

            master = os.environ.get("KINLINK_SPARK_MASTER", f"local[{os.cpu_count() or 2}]")
            partitions = os.environ.get("KINLINK_SPARK_PARTITIONS", str(4 * (os.cpu_count() or 2)))
            builder = SparkSession.builder.master(master)
            if master.startswith("local"):
                # Nothing outside this machine needs to reach a local driver.
                builder = builder.config("spark.driver.bindAddress", "127.0.0.1") \
                    .config("spark.driver.host", "127.0.0.1")
            _session = (
                builder
                .appName("kinlink-link")
                .config("spark.ui.enabled", "false")
                .config("spark.ui.showConsoleProgress", "false")
                .config("spark.jars", similarity_jar_location())
                .config("spark.sql.shuffle.partitions", partitions)
                .config("spark.default.parallelism", partitions)
                .config("spark.sql.execution.arrow.pyspark.enabled", "true")
                .config("spark.driver.memory", os.environ.get("KINLINK_SPARK_DRIVER_MEMORY", "4g"))
                .config("spark.local.dir", tempfile.gettempdir())
                .getOrCreate()
            )
            _session.sparkContext.setLogLevel("ERROR")
            _session.sparkContext.setCheckpointDir(tempfile.mkdtemp(prefix="kinlink-spark-"))
        return _session


def to_spark_sql(condition: str) -> str:
    """One level's or blocking rule's SQL, from the DuckDB the model is written in to Spark SQL.

    sqlglot (Splink's own translator) does the dialect; two things it cannot know are fixed on
    its tree: Spark has no array-overlap operator (``&&``), only ``arrays_overlap``, and the
    string similarity functions are the UDFs Splink registers from its jar."""
    import sqlglot
    from sqlglot import exp

    if condition.strip().upper() == "ELSE":
        return condition
    tree = sqlglot.parse_one(condition, read="duckdb")

    def rewrite(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.ArrayOverlaps):
            return exp.Anonymous(this="arrays_overlap", expressions=[node.this, node.expression])
        name = node.sql_name().lower() if isinstance(node, exp.Func) else ""
        if isinstance(node, exp.Anonymous):
            name = str(node.this).lower()
        if name in _FUNCTIONS:
            return exp.Anonymous(this=_FUNCTIONS[name], expressions=list(node.args.values())
                                 if not isinstance(node, exp.Anonymous) else node.expressions)
        return node

    return tree.transform(rewrite).sql(dialect="spark")


def spark_model(fitted: dict[str, Any]) -> dict[str, Any]:
    """The fitted model, its SQL in Spark's dialect: the same levels, weights and rules."""
    import copy

    model = copy.deepcopy(fitted)
    model["sql_dialect"] = "spark"
    for comparison in model["comparisons"]:
        for level in comparison["comparison_levels"]:
            level["sql_condition"] = to_spark_sql(level["sql_condition"])
    rules: list[Any] = []
    for rule in model.get("blocking_rules_to_generate_predictions", []):
        if isinstance(rule, dict):
            rules.append({**rule, "blocking_rule": to_spark_sql(rule["blocking_rule"]),
                          "sql_dialect": "spark"})
        else:
            rules.append(to_spark_sql(rule))
    model["blocking_rules_to_generate_predictions"] = rules
    return model


def score_all_pairs_on_spark(con: duckdb.DuckDBPyConnection, fitted: dict[str, Any],
                             gammas: list[str]) -> PairScoring:
    """Block and score every pair of ``record_features`` on Spark with the fitted model; leave
    the result in ``pair_scores`` exactly as the DuckDB engine does."""
    scratch = Path(tempfile.mkdtemp(prefix="kinlink-spark-features-"))
    try:
        return _score(con, fitted, gammas, scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


#: Text columns that a source may leave empty throughout: pandas hands DuckDB an all-NULL
#: column as INTEGER, and Spark, unlike DuckDB, will not compare or coalesce that with text
#: (``coalesce(dob, expected_dob)`` fails; ``former_upn = upn`` casts both to numbers).
_TEXT_COLUMNS = ("former_upn", "former_family_name", "uprn", "expected_dob")


def _features_as_text(con: duckdb.DuckDBPyConnection) -> str:
    present = {row[0] for row in con.execute("DESCRIBE record_features").fetchall()}
    casts = [f"CAST({c} AS VARCHAR) AS {c}" for c in _TEXT_COLUMNS if c in present]
    return (f"SELECT * REPLACE ({', '.join(casts)}) FROM record_features" if casts
            else "SELECT * FROM record_features")


def _score(con: duckdb.DuckDBPyConnection, fitted: dict[str, Any], gammas: list[str],
           scratch: Path) -> PairScoring:
    from splink import Linker
    from splink.backends.spark import SparkAPI

    from linkage.incremental.scoring import score_blocked_pairs
    from linkage.model.blocking import bounded_model

    # pyspark warns about every pandas 3 conversion; the frames here are plain columns.
    warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas")
    spark = spark_session()
    # The features reach Spark as Parquet, as they would on a cluster: a frame handed over from
    # the driver becomes one local relation, which Spark's optimiser copies at every step.
    features = scratch / "features.parquet"
    con.execute(f"COPY ({_features_as_text(con)}) TO '{features}' (FORMAT parquet)")
    db_api = SparkAPI(spark_session=spark, break_lineage_method="persist")
    linker = Linker(db_api.register(spark.read.parquet(str(features)), table_name=_FEATURES),
                    spark_model(bounded_model(fitted)), log_level=logging.getLogger("splink").getEffectiveLevel())
    # The same steps as the DuckDB engine (blocked pairs, then Splink's comparison and weight
    # SQL), not ``predict``: identical pairs, gammas and weights, none of the matching columns.
    blocked = linker.inference.compute_blocked_pairs_for_predict()
    scored = score_blocked_pairs(linker, blocked)
    columns = ["unique_id_l", "unique_id_r", "match_key", *gammas, "match_weight",
               "match_probability"]
    # The pairs come back as Parquet written by the executors, not collected through the
    # driver: 15M pairs at 1M records are more than a driver's result limit, and on a cluster
    # the driver is the one machine that must not hold them all.
    pairs = scratch / "pairs.parquet"
    scored.as_spark_dataframe().select(*columns).write.parquet(str(pairs))
    casts = ", ".join([
        "unique_id_l", "unique_id_r", "CAST(match_key AS UTINYINT) AS match_key",
        *(f"CAST({g} AS TINYINT) AS {g}" for g in gammas),
        "match_weight", "match_probability"])
    if not any(pairs.glob("*.parquet")):
        raise RuntimeError("Spark wrote no scored pairs (its job failed without an error)")
    con.execute(f"CREATE OR REPLACE TEMP TABLE {PAIR_SCORES} AS SELECT {casts} "
                f"FROM read_parquet('{pairs}/*.parquet')")
    for frame in (scored, blocked):
        frame.drop_table_from_database_and_remove_from_cache()
    linker.table_management.delete_tables_created_by_splink_from_db()
    spark.catalog.dropTempView(_FEATURES)
    count = con.execute(f"SELECT count(*) FROM {PAIR_SCORES}").fetchone()
    return PairScoring(mode="full", pairs_scored=int(count[0]) if count else 0,
                       pairs_reused=0, reason="spark engine")
