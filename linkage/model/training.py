"""Training the person model without labels, and fitting a saved model to a new population.

m probabilities describe how agencies mis-record a child (typos, nicknames, swapped dates): they
carry over between populations. u probabilities and the prior describe the population itself (how
common "Smith" is, how many records there are), so every link run re-estimates those on its own data
and keeps the saved m values; ``kinlink train`` re-learns everything.
"""

from __future__ import annotations

import logging
from typing import Any

from splink import Linker
from splink.internals.blocking_rule_creator import BlockingRuleCreator
from splink.internals.duckdb.database_api import DuckDBAPI
from splink.internals.exceptions import EMTrainingException

from linkage.model.blocking import (
    demographic_rules,
    deterministic_rules,
    training_blocking_rules,
)
from linkage.model.settings import model_settings

__all__ = ["adapt_to_population", "new_linker", "train_model"]

log = logging.getLogger(__name__)

#: Rough recall of the near-certain rules: people without an NHS number or UPN are not found by them.
DETERMINISTIC_RECALL = 0.7
#: Exact name and date of birth find fewer of a population's true pairs than an identifier does:
#: every typo, nickname or swapped date escapes them. Measured: 0.63 on kinlink's synthetic
#: population, 0.29-0.42 on the FEBRL benchmark files (bench/public_benchmarks.py). The middle
#: keeps the prior within a factor of about 1.4 of the truth on both.
DEMOGRAPHIC_RECALL = 0.5


def new_linker(db_api: DuckDBAPI, table: str, model: dict[str, Any] | None = None) -> Linker:
    """A linker over a registered features table, from a saved model or the untrained settings."""
    settings: Any = model if model is not None else model_settings()
    # Splink 5 sets its logger to INFO on every Linker unless told otherwise; keep operators'
    # output to our own summary (callers who want Splink's narration raise the "splink" logger).
    return Linker(db_api.register(table), settings, log_level=logging.getLogger("splink").getEffectiveLevel())


def _estimate_prior(linker: Linker) -> None:
    """The prior from near-certain matches: identifiers where the population has any, otherwise
    exact name and date of birth; failing those, about one other record per record.

    The identifier rules' recall does not carry over to a population without identifiers (the
    demographic rule alone finds a half or less of the true pairs, so the prior came out two to
    three times too small there), and Splink sets the prior to 0 when its rules find no pair, after
    which every match weight is the logarithm of zero.
    """
    plans = [(demographic_rules(), DEMOGRAPHIC_RECALL)]
    if _has_identifiers(linker):
        plans.insert(0, (deterministic_rules(), DETERMINISTIC_RECALL))
    for rules, recall in plans:
        linker.training.estimate_probability_two_random_records_match(
            list[str | BlockingRuleCreator](rules), recall=recall)
        if _prior(linker) > 0:
            return
    records = _count(linker, "count(*)")
    prior = 1 / max(records - 1, 1)
    log.warning("no record pairs agree exactly on an identifier or on name and date of birth; "
                "assuming about one other record per record (prior %.3g)", prior)
    linker._settings_obj._probability_two_random_records_match = prior


def _has_identifiers(linker: Linker) -> bool:
    return _count(linker, "count(nhs_number) + count(upn)") > 0


def _prior(linker: Linker) -> float:
    return float(linker._settings_obj._probability_two_random_records_match)


def _count(linker: Linker, expression: str) -> int:
    table = next(iter(linker._input_tables_dict.values())).physical_name
    return int(linker._db_api._execute_sql_against_backend(
        f"SELECT {expression} FROM {table}").fetchall()[0][0])


def _estimate_u(linker: Linker, max_pairs: float) -> None:
    linker.training.estimate_u_using_random_sampling(max_pairs=max_pairs, seed=42)


def train_model(linker: Linker, max_pairs: float = 5e6) -> None:
    """Estimate the prior, u by random sampling, then m by EM over complementary blocking rules."""
    _estimate_prior(linker)
    _estimate_u(linker, max_pairs)
    trained = 0
    for rule in training_blocking_rules():
        # Splink's session removes the comparisons its rule fixes, and swaps in a blocking-adjusted
        # prior, on the linker's own settings before it finds the rule has no pairs; it then raises
        # without putting them back, and the model would lose (say) its NHS-number comparison.
        before = linker._settings_obj.core_model_settings.copy()
        try:
            linker.training.estimate_parameters_using_expectation_maximisation(
                rule, estimate_without_term_frequencies=True
            )
            trained += 1
        except EMTrainingException:
            # A population without (say) NHS numbers gives that session no pairs; the other
            # sessions still train every comparison it would have.
            linker._settings_obj.core_model_settings = before
            log.info("EM session produced no pairs; skipped")
    if trained == 0:
        raise ValueError("training failed: no EM session found any candidate pairs in this data")


def adapt_to_population(linker: Linker, max_pairs: float = 2e6) -> None:
    """Re-estimate what depends on the population (prior, u) and keep the saved m values."""
    _estimate_prior(linker)
    _estimate_u(linker, max_pairs)
