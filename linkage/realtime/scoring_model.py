"""The saved Splink model as plain numbers: each level's match weight, and what its term-frequency
adjustment needs, read through Splink's own settings objects so clamping and defaults are Splink's.

Splink's match weight for a pair is ``log2(prior odds) + Σ level weight + Σ tf adjustment``, where a
level with term-frequency adjustment (an exact match on a name, date or postcode) adds
``tf_weight × (log2(u of the exact level) − log2(max(tf value, tf minimum)))``: a common value
counts for less than a rare one.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from splink.internals.settings_creator import SettingsCreator

__all__ = ["ComparisonWeights", "LevelWeights", "ScoringModel", "equality_columns"]


@dataclass(frozen=True)
class LevelWeights:
    gamma: int
    label: str
    match_weight: float
    tf_column: str | None = None
    tf_weight: float = 0.0
    tf_minimum_u: float = 0.0
    log2_u_exact: float = 0.0


@dataclass(frozen=True)
class ComparisonWeights:
    name: str
    description: str
    levels: dict[int, LevelWeights]


_EQUAL_COLUMNS = re.compile(r'l\."?(\w+)"?\s*=\s*r\."?\1"?')


def equality_columns(rule_sql: str) -> tuple[str, ...]:
    """The columns a blocking rule requires equal, when the rule is nothing but such equalities
    joined by AND; any other rule is refused rather than half-understood (which would silently
    miss candidates)."""
    columns = tuple(_EQUAL_COLUMNS.findall(rule_sql))
    rest = re.sub(r"\bAND\b|[()\s]", "", _EQUAL_COLUMNS.sub("", rule_sql), flags=re.IGNORECASE)
    if not columns or rest:
        raise ValueError(f"blocking rule not supported by real-time matching: {rule_sql}")
    return columns


@dataclass(frozen=True)
class ScoringModel:
    log2_prior_odds: float
    comparisons: tuple[ComparisonWeights, ...]
    #: Each prediction blocking rule as the columns it requires equal.
    blocking_rules: tuple[tuple[str, ...], ...] = ()

    @property
    def tf_columns(self) -> tuple[str, ...]:
        return tuple(sorted({lv.tf_column for c in self.comparisons for lv in c.levels.values()
                             if lv.tf_column}))

    @classmethod
    def from_model_json(cls, model: dict[str, Any]) -> ScoringModel:
        settings = SettingsCreator.from_path_or_dict(model).get_settings("duckdb")
        prior = settings._probability_two_random_records_match
        comparisons = []
        for comparison in settings.comparisons:
            levels: dict[int, LevelWeights] = {}
            for level in comparison.comparison_levels:
                gamma = level.comparison_vector_value
                weight = 0.0 if level.is_null_level else level._match_weight
                if weight is None:
                    raise ValueError(f"model level {level.label_for_charts!r} has no m or u")
                tf_column = None
                tf_weight = tf_min = log2_u = 0.0
                if (level._has_tf_adjustments and not level.is_null_level
                        and not level._is_else_level and level._tf_adjustment_weight):
                    tf_column = level._tf_adjustment_input_column.input_name
                    tf_weight = float(level._tf_adjustment_weight)
                    tf_min = float(level._tf_minimum_u_value)
                    log2_u = math.log2(level._u_probability_corresponding_to_exact_match(
                        comparison.comparison_levels))
                levels[gamma] = LevelWeights(gamma, level.label_for_charts, float(weight),
                                             tf_column, tf_weight, tf_min, log2_u)
            comparisons.append(ComparisonWeights(comparison.output_column_name,
                                                 comparison.comparison_description, levels))
        rules = tuple(equality_columns(rule.blocking_rule_sql)
                      for rule in settings._blocking_rules_to_generate_predictions)
        return cls(math.log2(prior / (1 - prior)), tuple(comparisons), rules)
