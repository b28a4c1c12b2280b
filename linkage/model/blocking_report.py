"""Blocking analysis: the pairs each rule makes, its largest block, and (with truth) the true pairs
it finds.

A rule's cost grows with the square of its largest block, so the report gives, per rule, the pairs
it makes on its own, the most records sharing one key and the pairs that block alone makes, beside
the pairs it adds to the rules before it (Splink's own count). Recall is ours, measured over the
blocked pairs of a truth file — alone and cumulatively — because a rule set is only as good as
the true pairs it lets the model see, and a rule that finds no true pair the others miss is cost
without benefit.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
from splink import block_on, blocking_analysis
from splink.internals.duckdb.database_api import DuckDBAPI

from linkage.evaluation import read_truth
from linkage.features import prepare_sources
from linkage.model.blocking import (
    LARGEST_BLOCK,
    PREDICTION_KEYS,
    add_block_bounds,
    effective_keys,
)

__all__ = ["blocking_report", "rule_name"]


def rule_name(keys: tuple[str, ...]) -> str:
    return " + ".join(keys)


def blocking_report(sources: Path, truth_path: Path | None = None, bounded: bool = True,
                    largest_block: int = LARGEST_BLOCK) -> list[dict[str, Any]]:
    """One row per rule as a link run blocks: with ``bounded`` (the default) each bounded rule is
    its split (small blocks, then large blocks on each second key); without, the model's rules."""
    prepared = prepare_sources(sources)
    keys_list = effective_keys(list(PREDICTION_KEYS), bounded)
    rules = [block_on(*keys) for keys in keys_list]
    with contextlib.closing(duckdb.connect()) as con:
        con.register("features_df", prepared.features)
        add_block_bounds(con, largest_block=largest_block, source="features_df")
        con.unregister("features_df")
        db_api = DuckDBAPI(connection=con)
        counts = blocking_analysis.count_comparisons_from_blocking_rules(
            db_api.register("record_features"),
            blocking_rules=rules,
            link_type="dedupe_only",
            record_sample_proportion=1.0,
        )
        rows: list[dict[str, Any]] = []
        for keys, count in zip(keys_list, counts, strict=True):
            pairs, largest, largest_pairs = _block_sizes(con, keys)
            rows.append({
                "rule": rule_name(keys),
                "pairs": pairs,
                "largest block": largest,
                "pairs in largest block": largest_pairs,
                "new comparisons": int(count["marginal_comparison_count"]),
                "cumulative comparisons": int(count["cumulative_comparison_count"]),
            })
        if truth_path is not None:
            _add_recall(con, read_truth(truth_path), keys_list, rows)
    return rows


def _block_sizes(con: duckdb.DuckDBPyConnection, keys: tuple[str, ...]) -> tuple[int, int, int]:
    """Pairs the rule makes alone (every pair of records sharing all its keys), the size of its
    largest block, and the pairs of that block."""
    present = " AND ".join(f'"{k}" IS NOT NULL' for k in keys)
    columns = ", ".join(f'"{k}"' for k in keys)
    row = con.execute(
        f"""SELECT coalesce(sum(n * (n - 1) // 2), 0), coalesce(max(n), 0)
            FROM (SELECT count(*)::HUGEINT AS n FROM record_features WHERE {present}
                  GROUP BY {columns})"""
    ).fetchall()[0]
    pairs, largest = int(row[0]), int(row[1])
    return pairs, largest, largest * (largest - 1) // 2


def _add_recall(con: duckdb.DuckDBPyConnection, truth: pd.DataFrame,
                keys_list: list[tuple[str, ...]], rows: list[dict[str, Any]]) -> None:
    """Each rule's share of the true pairs alone, and of the rules so far together."""
    truth = truth.assign(unique_id=truth["source"] + ":" + truth["record_id"])
    con.register("truth_df", truth[["unique_id", "person_id"]])
    found = ", ".join(
        "coalesce(" + " AND ".join(f'l."{k}" = r."{k}"' for k in keys) + f", FALSE) AS rule_{i}"
        for i, keys in enumerate(keys_list)
    )
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE true_pairs_found AS
            SELECT {found}
            FROM truth_df a JOIN truth_df b
              ON a.person_id = b.person_id AND a.unique_id < b.unique_id
            JOIN record_features l ON l.unique_id = a.unique_id
            JOIN record_features r ON r.unique_id = b.unique_id"""
    )
    con.unregister("truth_df")
    total = con.execute("SELECT count(*) FROM true_pairs_found").fetchall()[0][0] or 1
    alone = ", ".join(f"count(*) FILTER (rule_{i})" for i in range(len(keys_list)))
    so_far = ", ".join(
        "count(*) FILTER (" + " OR ".join(f"rule_{j}" for j in range(i + 1)) + ")"
        for i in range(len(keys_list))
    )
    only = ", ".join(
        f"count(*) FILTER (rule_{i} AND NOT ("
        + (" OR ".join(f"rule_{j}" for j in range(len(keys_list)) if j != i) or "FALSE")
        + "))"
        for i in range(len(keys_list))
    )
    n = len(keys_list)
    values = con.execute(f"SELECT {alone}, {so_far}, {only} FROM true_pairs_found").fetchall()[0]
    for i, row in enumerate(rows):
        row["recall alone"] = values[i] / total
        row["cumulative recall of true pairs"] = values[n + i] / total
        row["true pairs no other rule finds"] = int(values[2 * n + i])
