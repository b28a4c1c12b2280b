"""The shipped model carries the comparison SQL the code defines: a level changed in
``linkage.model.comparisons`` but not in ``linkage/models/person-model.json`` would score every
run with the old condition while the real-time levels follow the new one."""

from __future__ import annotations

import json

from linkage.model.comparisons import model_comparisons
from linkage.model.store import DEFAULT_MODEL_PATH


def test_every_level_of_the_shipped_model_is_the_code_s_own() -> None:
    shipped = json.loads(DEFAULT_MODEL_PATH.read_text())
    code = {c.output_column_name: c for c in
            (creator.get_comparison("duckdb") for creator in model_comparisons())}
    assert [c["output_column_name"] for c in shipped["comparisons"]] == list(code)
    for comparison in shipped["comparisons"]:
        levels = code[comparison["output_column_name"]].comparison_levels
        assert [lv["sql_condition"] for lv in comparison["comparison_levels"]] == \
            [lv.sql_condition for lv in levels], comparison["output_column_name"]
