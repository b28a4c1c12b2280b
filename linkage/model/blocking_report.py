"""Blocking analysis: comparisons each rule adds and, with truth, the share of true pairs found.

Counts come from Splink's own blocking analysis; recall is ours, measured by generating the blocked
pairs for a truth file, because a rule set is only as good as the true pairs it lets the model see.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import duckdb
from splink import blocking_analysis
from splink.internals.duckdb.database_api import DuckDBAPI

from linkage.evaluation import read_truth
from linkage.features import prepare_sources
from linkage.model.blocking import prediction_blocking_rules

__all__ = ["blocking_report"]


def blocking_report(sources: Path, truth_path: Path | None = None) -> list[dict[str, Any]]:
    prepared = prepare_sources(sources)
    rules = prediction_blocking_rules()
    with contextlib.closing(duckdb.connect()) as con:
        con.register("features_df", prepared.features)
        con.execute("CREATE TABLE record_features AS SELECT * FROM features_df")
        db_api = DuckDBAPI(connection=con)
        counts = blocking_analysis.count_comparisons_from_blocking_rules(
            db_api.register("record_features"),
            blocking_rules=rules,
            link_type="dedupe_only",
            record_sample_proportion=1.0,
        )
        rows: list[dict[str, Any]] = [
            {
                "rule": c["blocking_rule"],
                "new comparisons": int(c["marginal_comparison_count"]),
                "cumulative comparisons": int(c["cumulative_comparison_count"]),
            }
            for c in counts
        ]
        if truth_path is not None:
            truth = read_truth(truth_path)
            truth["unique_id"] = truth["source"] + ":" + truth["record_id"]
            con.register("truth_df", truth[["unique_id", "person_id"]])
            con.execute(
                """CREATE TABLE true_pairs AS
                   SELECT a.unique_id AS l, b.unique_id AS r FROM truth_df a JOIN truth_df b
                   ON a.person_id = b.person_id AND a.unique_id < b.unique_id"""
            )
            total = con.execute("SELECT count(*) FROM true_pairs").fetchall()[0][0] or 1
            seen = "FALSE"
            for row, rule in zip(rows, rules, strict=True):
                condition = rule.get_blocking_rule("duckdb").blocking_rule_sql
                seen = f"({seen}) OR coalesce({condition}, FALSE)"
                found = con.execute(
                    f"""SELECT count(*) FROM true_pairs t
                        JOIN record_features l ON l.unique_id = t.l
                        JOIN record_features r ON r.unique_id = t.r
                        WHERE {seen}"""
                ).fetchall()[0][0]
                row["cumulative recall of true pairs"] = found / total
    return rows
