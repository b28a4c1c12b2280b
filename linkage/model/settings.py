"""The model's Splink settings: the single definition both training and the saved JSON come from."""

from __future__ import annotations

from typing import Any

from splink import SettingsCreator
from splink.internals.blocking_rule_creator import BlockingRuleCreator
from splink.internals.comparison_creator import ComparisonCreator

from linkage.model.blocking import prediction_blocking_rules
from linkage.model.comparisons import model_comparisons

__all__ = ["ADDITIONAL_COLUMNS", "model_settings"]

#: Carried through prediction so constraints and explanations can read them without a join.
ADDITIONAL_COLUMNS: list[str] = ["source", "record_id", "name_is_placeholder", "dob_is_jan1"]


def model_settings() -> SettingsCreator:
    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="unique_id",
        comparisons=list[ComparisonCreator | dict[str, Any]](model_comparisons()),
        blocking_rules_to_generate_predictions=list[BlockingRuleCreator | dict[str, Any]](
            prediction_blocking_rules()),
        retain_intermediate_calculation_columns=False,
        retain_matching_columns=True,
        additional_columns_to_retain=ADDITIONAL_COLUMNS,
        # A prior that is roughly right for a few tens of thousands of records; it is
        # re-estimated on every population from near-certain identifier matches.
        probability_two_random_records_match=1e-5,
    )
