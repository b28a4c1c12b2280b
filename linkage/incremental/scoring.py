"""Scoring pairs: every blocked pair afresh, or only the pairs a re-extract touched.

A pair's comparison vector (one gamma level per comparison) depends only on the two records'
features and the model's comparison levels and blocking rules; its match weight also depends on
what this run re-estimates for its population: the prior, the u probabilities and the term
frequencies of names, dates and postcodes. So each index keeps the comparison vector of *every*
blocked pair (not only those above the edge floor, because a pair's weight can cross the floor when
the population changes), and an incremental run

1. computes comparison vectors only for pairs with at least one new or changed record (blocking
   those records against all records with Splink's own blocking SQL, then ``predict`` on exactly
   those registered pairs), and
2. re-weighs the stored vectors of unchanged pairs with Splink's own prediction SQL, under this
   run's fitted model and this population's term-frequency tables.

Both produce the same weights a full ``predict`` would, so clustering sees the same edges.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

import duckdb
from splink import Linker
from splink.internals.blocking import (
    ExplodingBlockingRule,
    block_using_rules_sqls,
    compute_blocked_pairs_from_concat_with_tf,
)
from splink.internals.comparison_vector_values import (
    compute_comparison_vector_values_from_id_pairs_sqls,
)
from splink.internals.dialects import SplinkDialect
from splink.internals.duckdb.database_api import DuckDBAPI
from splink.internals.pipeline import CTEPipeline
from splink.internals.predict import predict_from_comparison_vectors_sqls
from splink.internals.term_frequencies import (
    _join_tf_to_input_table_sql,
    ensure_term_frequencies_for_linker,
)
from splink.internals.vertically_concatenate import enqueue_df_concat, enqueue_df_concat_with_tf

from linkage.incremental.delta import DELTA_TABLE, STABLE_TABLE, RecordDelta, record_delta
from linkage.model.blocking import (
    BOUNDED_RULES,
    LARGEST_BLOCK,
    SPARSE_RULES,
    SWAPPED_NAMES_RULE,
    bounded_blocking_rules,
)

__all__ = [
    "PAIR_SCORES",
    "PairScoring",
    "gamma_columns",
    "score_all_pairs",
    "score_blocked_pairs",
    "score_changed_pairs",
    "scoring_structure",
    "store_pair_comparisons",
    "why_not_incremental",
]

#: Temporary table of this run's scored pairs: ids, match_key, gamma_* columns, weight, probability.
PAIR_SCORES = "pair_scores"

_NEW_BLOCKED = "incremental_new_blocked_pairs"
_REUSED = "incremental_reused_pairs"


@dataclass
class PairScoring:
    mode: str  # full | incremental
    pairs_scored: int  # comparison vectors computed this run
    pairs_reused: int  # comparison vectors taken from the previous index and re-weighed
    delta: RecordDelta | None = None
    reason: str = ""  # why a run that could have been incremental was not

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "mode": self.mode,
            "pairs_scored": self.pairs_scored,
            "pairs_reused": self.pairs_reused,
        }
        if self.delta is not None:
            out["records"] = self.delta.as_dict()
        if self.reason:
            out["reason"] = self.reason
        return out


@dataclass(frozen=True)
class _Structure:
    link_type: str
    blocking: list[str]
    comparisons: list[dict[str, Any]] = field(default_factory=list)


def scoring_structure(model: dict[str, Any], largest_block: int = LARGEST_BLOCK) -> str:
    """A hash of what decides which pairs are blocked and what gamma each comparison gives.

    m and u values are left out on purpose: retraining re-weighs the same comparison vectors, so
    stored vectors stay valid across ``--retrain``; a new comparison level or blocking rule does not.
    """
    rules = [
        r["blocking_rule"] if isinstance(r, dict) else str(r)
        for r in model.get("blocking_rules_to_generate_predictions", [])
    ]
    comparisons = [
        {
            "name": c.get("output_column_name"),
            "levels": [
                [level.get("sql_condition"), bool(level.get("is_null_level", False))]
                for level in c["comparison_levels"]
            ],
        }
        for c in model["comparisons"]
    ]
    # The bound on large blocks decides which pairs are blocked as much as the rules do.
    rules.append(json.dumps({"largest_block": largest_block,
                             "bounded": [[r.keys, r.second_keys] for r in BOUNDED_RULES],
                             "sparse": [[r.keys, r.largest] for r in SPARSE_RULES],
                             "swapped": SWAPPED_NAMES_RULE}))
    structure = _Structure(str(model.get("link_type")), rules, comparisons)
    text = json.dumps(structure.__dict__, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def gamma_columns(linker: Linker) -> list[str]:
    return [c._gamma_column_name for c in linker._settings_obj.comparisons]


def blocking_rules(linker: Linker) -> list[Any]:
    """The rules pairs are generated with: the model's, large blocks bounded
    (``linkage.model.blocking``). Full and incremental runs both block with these."""
    return bounded_blocking_rules(linker._settings_obj._blocking_rules_to_generate_predictions)


def score_all_pairs(linker: Linker, con: duckdb.DuckDBPyConnection) -> PairScoring:
    """Block and score every pair (no threshold: the next run needs every comparison vector)."""
    settings = linker._settings_obj
    pipeline = CTEPipeline()
    enqueue_df_concat(linker, pipeline)
    blocked = compute_blocked_pairs_from_concat_with_tf(
        pipeline=pipeline,
        db_api=linker._db_api,
        splink_df_dict=linker._input_tables_dict,
        blocking_rules=blocking_rules(linker),
        link_type=settings._link_type,
        source_dataset_input_column=settings.column_info_settings.source_dataset_input_column,
        unique_id_input_column=settings.column_info_settings.unique_id_input_column,
        df_concat_with_tf_table_name="__splink__df_concat",
    )
    predictions = score_blocked_pairs(linker, blocked)
    _keep_scores(con, [predictions.physical_name], gamma_columns(linker))
    predictions.drop_table_from_database_and_remove_from_cache()
    blocked.drop_table_from_database_and_remove_from_cache()
    count = _count(con, PAIR_SCORES)
    return PairScoring(mode="full", pairs_scored=count, pairs_reused=0)


def score_changed_pairs(
    linker: Linker, con: duckdb.DuckDBPyConnection, db_api: DuckDBAPI
) -> PairScoring:
    """Score pairs touching new or changed records; re-weigh the stored vectors of the rest.

    Needs the previous index attached as ``previous`` with ``record_fingerprints`` and
    ``pair_comparisons`` written under the same scoring structure (the caller checks).
    """
    delta = record_delta(con)
    gammas = gamma_columns(linker)
    tables: list[str] = []
    cleanup: list[Any] = []

    scored = _block_changed_records(linker, con)
    if scored:
        blocked = db_api.table_to_splink_dataframe("__splink__blocked_id_pairs", _NEW_BLOCKED)
        fresh = score_blocked_pairs(linker, blocked)
        tables.append(fresh.physical_name)
        cleanup.append(fresh)

    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {_REUSED} AS
        SELECT p.* FROM previous.pair_comparisons p
        WHERE p.unique_id_l IN (SELECT unique_id FROM {STABLE_TABLE})
          AND p.unique_id_r IN (SELECT unique_id FROM {STABLE_TABLE})
        """
    )
    reused = _count(con, _REUSED)
    if reused:
        reweighed = _reweigh_stored_vectors(linker, con, gammas)
        tables.append(reweighed.physical_name)
        cleanup.append(reweighed)

    _keep_scores(con, tables, gammas)
    for frame in cleanup:
        frame.drop_table_from_database_and_remove_from_cache()
    for table in (_NEW_BLOCKED, _REUSED):
        con.execute(f"DROP TABLE IF EXISTS {table}")
    return PairScoring(mode="incremental", pairs_scored=scored, pairs_reused=reused, delta=delta)


def store_pair_comparisons(con: duckdb.DuckDBPyConnection, gammas: list[str]) -> None:
    """Keep every scored pair's comparison vector in the index for the next run to reuse."""
    vector = ", ".join(gammas)
    con.execute(
        f"""
        INSERT INTO pair_comparisons
        SELECT unique_id_l, unique_id_r, match_key, CAST([{vector}] AS TINYINT[])
        FROM {PAIR_SCORES}
        """
    )


def _block_changed_records(linker: Linker, con: duckdb.DuckDBPyConnection) -> int:
    """Every pair the blocking rules give that has a new or changed record on either side.

    Two role-split passes keep Splink's own pair orientation (left id < right id) and its
    rule-order de-duplication (``match_key`` = the first rule that finds the pair): changed
    records against all records, then unchanged records against changed ones.
    """
    settings = linker._settings_obj
    rules = blocking_rules(linker)
    if any(isinstance(rule, ExplodingBlockingRule) for rule in rules):
        raise ValueError("incremental linkage does not support exploding blocking rules")
    changed, stable = "incremental_changed_features", "incremental_stable_features"
    con.execute(
        f"""CREATE OR REPLACE TEMP VIEW {changed} AS SELECT * FROM record_features
            WHERE unique_id IN (SELECT unique_id FROM {DELTA_TABLE})"""
    )
    con.execute(
        f"""CREATE OR REPLACE TEMP VIEW {stable} AS SELECT * FROM record_features
            WHERE unique_id NOT IN (SELECT unique_id FROM {DELTA_TABLE})"""
    )
    passes = []
    for left, right in ((changed, "record_features"), (stable, changed)):
        sqls = block_using_rules_sqls(
            input_tablename_l=left,
            input_tablename_r=right,
            blocking_rules=rules,
            link_type=settings._link_type,
            source_dataset_input_column=settings.column_info_settings.source_dataset_input_column,
            unique_id_input_column=settings.column_info_settings.unique_id_input_column,
        )
        passes.append(_as_one_query(sqls))
    con.execute(
        f"CREATE OR REPLACE TABLE {_NEW_BLOCKED} AS "
        + " UNION ALL ".join(f"SELECT * FROM ({sql})" for sql in passes)
    )
    for view in (changed, stable):
        con.execute(f"DROP VIEW {view}")
    return _count(con, _NEW_BLOCKED)


def score_blocked_pairs(linker: Linker, blocked: Any) -> Any:
    """Comparison vectors and weights for a table of blocked pairs, as ``predict`` computes them.

    Splink's own steps (features with this population's term frequencies, comparison vectors
    from id pairs, weights) run directly, for full and incremental runs alike: ``predict`` on
    registered pairs takes a source-pruning route slower than scoring every pair, and carries
    every matching column, which nothing after scoring reads.
    """
    settings = linker._settings_obj
    columns = settings.column_info_settings
    pipeline = CTEPipeline([blocked])
    enqueue_df_concat_with_tf(linker, pipeline)
    pipeline.enqueue_list_of_sqls(
        compute_comparison_vector_values_from_id_pairs_sqls(
            settings._columns_to_select_for_blocking,
            settings._columns_to_select_for_comparison_vector_values,
            input_tablename_l="__splink__df_concat_with_tf",
            input_tablename_r="__splink__df_concat_with_tf",
            source_dataset_input_column=columns.source_dataset_input_column,
            unique_id_input_column=columns.unique_id_input_column,
            link_type=settings._link_type,
            sql_dialect_str=linker._sql_dialect_str,
        )
    )
    pipeline.enqueue_list_of_sqls(_weight_sqls(linker))
    return linker._db_api.sql_pipeline_to_splink_dataframe(pipeline)


def _weight_sqls(linker: Linker) -> list[dict[str, str]]:
    """Splink's prediction SQL, keeping the gammas (its "training mode" selection) but not the
    matching columns: nothing downstream of scoring reads them."""
    settings = linker._settings_obj
    return predict_from_comparison_vectors_sqls(
        unique_id_input_columns=settings.column_info_settings.unique_id_input_columns,
        core_model_settings=settings.core_model_settings,
        sql_dialect=SplinkDialect.from_string(settings._sql_dialect_str),
        retain_matching_columns=False,
        retain_intermediate_calculation_columns=False,
        training_mode=True,
    )


def _reweigh_stored_vectors(
    linker: Linker, con: duckdb.DuckDBPyConnection, gammas: list[str]
) -> Any:
    """Splink's prediction SQL over stored comparison vectors joined to this run's features and
    term frequencies: the weights a full ``predict`` would give these pairs now."""
    settings = linker._settings_obj
    pipeline = CTEPipeline()
    for tf_table in ensure_term_frequencies_for_linker(linker):
        pipeline.append_input_dataframe(tf_table)
    with_tf = "incremental_features_with_tf"
    pipeline.enqueue_sql(_join_tf_to_input_table_sql(linker, "record_features"), with_tf)

    uid = settings.column_info_settings.unique_id_input_column.unquote().name
    tf_columns = [c.tf_name.strip('"') for c in settings._term_frequency_columns]
    sides = [f'{side}."{c}" AS "{c}_{side}"' for c in tf_columns for side in ("l", "r")]
    vector = [f"p.gamma[{k + 1}] AS {name}" for k, name in enumerate(gammas)]
    pipeline.enqueue_sql(
        f"""
        SELECT p.unique_id_l AS "{uid}_l", p.unique_id_r AS "{uid}_r",
               CAST(p.match_key AS VARCHAR) AS match_key,
               {", ".join([*vector, *sides])}
        FROM {_REUSED} p
        JOIN {with_tf} l ON l."{uid}" = p.unique_id_l
        JOIN {with_tf} r ON r."{uid}" = p.unique_id_r
        """,
        "__splink__df_comparison_vectors",
    )
    pipeline.enqueue_list_of_sqls(_weight_sqls(linker))
    return linker._db_api.sql_pipeline_to_splink_dataframe(pipeline)


def _keep_scores(con: duckdb.DuckDBPyConnection, tables: list[str], gammas: list[str]) -> None:
    columns = ", ".join(
        [
            "unique_id_l",
            "unique_id_r",
            "CAST(match_key AS UTINYINT) AS match_key",
            *(f"CAST({g} AS TINYINT) AS {g}" for g in gammas),
            "match_weight",
            "match_probability",
        ]
    )
    empty = f"SELECT {columns} FROM pair_comparisons_shape WHERE false"
    parts = [f"SELECT {columns} FROM {table}" for table in tables]
    if not parts:
        con.execute(
            "CREATE OR REPLACE TEMP TABLE pair_comparisons_shape AS SELECT "
            "''::VARCHAR AS unique_id_l, ''::VARCHAR AS unique_id_r, '0'::VARCHAR AS match_key, "
            + ", ".join(f"0::TINYINT AS {g}" for g in gammas)
            + ", 0.0::DOUBLE AS match_weight, 0.0::DOUBLE AS match_probability"
        )
        parts = [empty]
    con.execute(f"CREATE OR REPLACE TEMP TABLE {PAIR_SCORES} AS " + " UNION ALL ".join(parts))


def _as_one_query(sqls: list[dict[str, str]]) -> str:
    """Splink's list of (sql, output name) steps as one query with CTEs."""
    *steps, last = sqls
    if not steps:
        return last["sql"]
    ctes = ", ".join(f"{s['output_table_name']} AS ({s['sql']})" for s in steps)
    return f"WITH {ctes} {last['sql']}"


def _count(con: duckdb.DuckDBPyConnection, table: str) -> int:
    return int(con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0])


def why_not_incremental(
    con: duckdb.DuckDBPyConnection, has_previous: bool, structure: str
) -> str | None:
    """Why this run cannot reuse the previous index's comparison vectors (None when it can)."""
    if not has_previous:
        return "no previous index"
    tables = {
        name
        for (name,) in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = 'previous'"
        ).fetchall()
    }
    if not {"record_fingerprints", "pair_comparisons"} <= tables:
        return "the previous index keeps no comparison vectors (written before schema 2)"
    row = con.execute(
        "SELECT value FROM previous.meta WHERE key = 'scoring_structure'"
    ).fetchall()
    if not row or row[0][0] != structure:
        return "the model's comparison levels or blocking rules changed since the previous run"
    return None
