"""A system's own person ID is compared only with IDs of the same system."""

import duckdb

from linkage.model.comparisons import model_comparisons
from linkage.realtime.levels import GAMMA_FUNCTIONS


def _sql_level(left: str | None, right: str | None) -> int:
    """The level the comparison's own SQL conditions give, first true wins, evaluated in DuckDB."""
    [comparison] = [c.get_comparison("duckdb") for c in model_comparisons()
                    if c.get_comparison("duckdb").output_column_name == "local_id_key"]
    levels = comparison.comparison_levels
    numbered = [lv for lv in levels if not lv.is_null_level]
    whens = [f"WHEN {'TRUE' if lv.sql_condition == 'ELSE' else lv.sql_condition} "
             f"THEN {-1 if lv.is_null_level else len(numbered) - 1 - numbered.index(lv)}"
             for lv in levels]
    sql = f"CASE {' '.join(whens)} END"
    with duckdb.connect() as con:
        row = con.execute(f"SELECT {sql} FROM (SELECT ?::VARCHAR AS local_id_key_l, "
                          "?::VARCHAR AS local_id_key_r)", [left, right]).fetchone()
    assert row is not None
    return int(row[0])


def test_ids_of_two_systems_are_not_compared_and_one_systems_are() -> None:
    level = GAMMA_FUNCTIONS["local_id_key"]
    cases = [
        ("social_care:123", "police:123", -1),  # unrelated numbering: nothing to compare
        ("social_care:123", "social_care:123", 1),
        ("social_care:123", "social_care:456", 0),
        (None, "social_care:456", -1),
    ]
    for left, right, expected in cases:
        assert level({"local_id_key": left}, {"local_id_key": right}) == expected
        assert _sql_level(left, right) == expected
