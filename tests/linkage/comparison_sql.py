"""A comparison's level for one pair, computed from the model's own SQL conditions in DuckDB, so a
test can hold the SQL and the real-time Python levels to the same expectations."""

from __future__ import annotations

import duckdb
import pandas as pd

from linkage.model.comparisons import model_comparisons

__all__ = ["sql_level"]


def sql_level(column: str, left: dict[str, object], right: dict[str, object]) -> int:
    """Splink's rule: the first level whose condition holds wins; a null level is -1 and the
    others count down to 0."""
    [comparison] = [c.get_comparison("duckdb") for c in model_comparisons()
                    if c.get_comparison("duckdb").output_column_name == column]
    levels = comparison.comparison_levels
    numbered = [lv for lv in levels if not lv.is_null_level]
    whens = " ".join(
        f"WHEN {'TRUE' if lv.sql_condition == 'ELSE' else lv.sql_condition} "
        f"THEN {-1 if lv.is_null_level else len(numbered) - 1 - numbered.index(lv)}"
        for lv in levels)
    pair = pd.DataFrame([{f"{k}_l": v for k, v in left.items()}
                         | {f"{k}_r": v for k, v in right.items()}])
    with duckdb.connect() as con:
        con.register("pair", pair)
        columns = ", ".join(f'"{c}"::VARCHAR AS "{c}"' if pair[c].isna().all() else f'"{c}"'
                            for c in pair.columns)
        row = con.execute(f"SELECT CASE {whens} END FROM (SELECT {columns} FROM pair)").fetchone()
    assert row is not None
    return int(row[0])
