"""Training the person model without labels, and fitting a saved model to a new population.

u probabilities and the prior describe the population itself (how common "Smith" is, how many
records there are). m probabilities describe how the population's records go wrong (typos,
nicknames, swapped dates, missing fields), and that differs between sources as much as u does: a
model whose m values came from one generator under-scores the duplicates of another. So every full
link run fits the shipped model to the data in front of it (``adapt_to_population``): the prior, u
by random sampling, then m by Splink's EM starting from the shipped values. EM is guarded: a
comparison whose only sessions had too few pairs, did not converge, or learnt nonsense (agreement
counting against a match) keeps its shipped m, and the run summary says so (``ModelFit``).
``kinlink train`` re-learns everything from the untrained settings.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from statistics import median
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

__all__ = ["ModelFit", "adapt_to_population", "new_linker", "train_model"]

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


def _estimate_prior(linker: Linker, demographic_recall: float = DEMOGRAPHIC_RECALL) -> str:
    """The prior from near-certain matches: identifiers where the population has any, otherwise
    exact name and date of birth at ``demographic_recall`` (fitted runs pass the recall their own
    m values imply); returns which rule decided it. With neither finding a pair, the prior is
    left for EM's own estimate (``_prior_from_em``) and a minimal placeholder stands meanwhile.

    The identifier rules' recall does not carry over to a population without identifiers (the
    demographic rule alone finds a half or less of the true pairs, so the prior came out two to
    three times too small there), and Splink sets the prior to 0 when its rules find no pair, after
    which every match weight is the logarithm of zero.
    """
    plans = [("exact name and date of birth", demographic_rules(), demographic_recall)]
    if _has_identifiers(linker):
        plans.insert(0, ("identifiers", deterministic_rules(), DETERMINISTIC_RECALL))
    for basis, rules, recall in plans:
        linker.training.estimate_probability_two_random_records_match(
            list[str | BlockingRuleCreator](rules), recall=recall)
        if _prior(linker) > 0:
            return f"{basis} (recall {recall:.2f})"
    records = _count(linker, "count(*)")
    prior = 1 / max(records - 1, 1)
    log.warning("no record pairs agree exactly on an identifier or on name and date of birth; "
                "the prior waits for EM (placeholder %.3g)", prior)
    linker._settings_obj._probability_two_random_records_match = prior
    return "none agreed exactly"


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


#: EM on fewer blocked pairs than this learns noise (Splink's guidance: a few hundred at least,
#: preferably thousands).
MIN_EM_PAIRS = 1_000
#: Pairs EM reads per session at most (sampled beyond): at 65k records the two sessions cost
#: 2.5 s with this (the postcode session samples 0.5M of 3.7M pairs), against 4 s at 2e6, and a
#: few hundred thousand pairs fix a dozen m values as well as millions do.
EM_MAX_PAIRS = 5e5
#: A session that used all its iterations still counts as converged when its last step moved no
#: parameter by more than this: EM on a block that is nearly all matches (a file of many copies
#: per person) creeps towards a match rate of 1 by ~1e-4 a step without changing any m that
#: matters.
EM_SETTLED = 1e-3


@dataclass
class EMSession:
    """One EM session of a fitted run: what it blocked on, and whether its values were used."""

    rule: str
    pairs: int
    iterations: int = 0
    converged: bool = False
    trained: list[str] = field(default_factory=list)
    #: EM's share of matches among the blocked pairs.
    match_rate: float = 0.0
    #: Why its values were set aside ("" when they were used).
    rejected: str = ""


@dataclass
class ModelFit:
    """What a run learnt about its population, for the run summary and the model report."""

    prior: float
    prior_basis: str
    sessions: list[EMSession]
    #: Comparisons whose m values were learnt from this population.
    learnt: list[str]
    #: Comparisons that kept the shipped m values, with the reason.
    kept_shipped: dict[str, str]
    #: The shipped model's m values (comparison → level label → m), to show beside the learnt.
    shipped_m: dict[str, dict[str, float]]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


#: Blocking rules for fitting m, in sessions that between them train every comparison without
#: fixing it: the first trains names-and-address evidence with date and surname fixed, the second
#: (the first of its alternatives with enough pairs) trains names and dates with the address fixed,
#: or, where there are too few addresses to block on, surname, date and address with the given
#: name's sound fixed.
#: Blocking on a *derived* name key would leave its comparison active and biased (every pair agrees
#: on it), which is why neither names the given name.
def _fitting_sessions() -> list[list[tuple[str, ...]]]:
    return [
        [("dob", "family_name_metaphone")],
        [("postcode",), ("address_line_key",), ("given_name_metaphone",)],
    ]


def adapt_to_population(linker: Linker, max_pairs: float = 2e6) -> ModelFit:
    """Fit the shipped model to this population: prior, u, and m by EM from the shipped values,
    per comparison falling back to the shipped m where EM cannot be trusted (see ``ModelFit``)."""
    shipped = _m_values(linker)
    _estimate_prior(linker, _demographic_recall(linker))
    _estimate_u(linker, max_pairs)
    sessions: list[EMSession] = []
    learnt: dict[str, list[dict[str, float]]] = {}
    for alternatives in _fitting_sessions():
        for columns in alternatives:
            session = _fit_session(linker, columns, learnt)
            sessions.append(session)
            if not session.rejected or session.pairs >= MIN_EM_PAIRS:
                break
    kept = _apply_learnt_m(linker, shipped, learnt)
    basis = _estimate_prior(linker, _demographic_recall(linker))
    if basis == "none agreed exactly":
        basis = _prior_from_em(linker, sessions)
    fit = ModelFit(
        prior=_prior(linker), prior_basis=basis, sessions=sessions,
        learnt=sorted(set(learnt) - set(kept)), kept_shipped=kept,
        shipped_m={c: {label: m for label, m in levels} for c, levels in shipped.items()},
    )
    log.info("model fitted: learnt m for %s; kept shipped m for %s; prior %.3g from %s",
             ", ".join(fit.learnt) or "none", ", ".join(kept) or "none", fit.prior, basis)
    return fit


def _m_values(linker: Linker) -> dict[str, list[tuple[str, float]]]:
    """Every trainable comparison's (level label, m) in level order, null levels left out."""
    values: dict[str, list[tuple[str, float]]] = {}
    for comparison in linker._settings_obj.comparisons:
        levels = comparison._comparison_levels_excluding_null
        if any(level._fix_m_probability for level in levels):
            continue
        values[comparison.output_column_name] = [
            (level.label_for_charts, float(level.m_probability or 0.0)) for level in levels]
    return values


def _exact_m(linker: Linker, column: str) -> float:
    """The m of a comparison's first (exact) level, 1.0 when the model has no such comparison."""
    for comparison in linker._settings_obj.comparisons:
        if comparison.output_column_name == column:
            return float(comparison._comparison_levels_excluding_null[0].m_probability or 1.0)
    return 1.0


def _demographic_recall(linker: Linker) -> float:
    """How many of the true pairs the exact name-and-date rule finds, by the model's own m values:
    a true pair meets it when it agrees exactly on all three (Fellegi–Sunter's independence).
    Clamped to [0.05, 0.95] so a degenerate m cannot make the prior absurd."""
    recall = _exact_m(linker, "given_name") * _exact_m(linker, "family_name") * _exact_m(
        linker, "dob")
    return min(max(recall, 0.05), 0.95)


def _pairs_for(linker: Linker, columns: tuple[str, ...]) -> int:
    """Pairs agreeing on every one of ``columns`` (none missing), counted by group sizes rather
    than by joining, so a broad key costs one scan."""
    table = next(iter(linker._input_tables_dict.values())).physical_name
    keys = ", ".join(columns)
    present = " AND ".join(f"{c} IS NOT NULL" for c in columns)
    return int(linker._db_api._execute_sql_against_backend(
        f"SELECT coalesce(sum(n * (n - 1) / 2), 0) FROM (SELECT count(*) AS n FROM {table} "
        f"WHERE {present} GROUP BY {keys})").fetchall()[0][0])


def _fit_session(linker: Linker, columns: tuple[str, ...],
                 learnt: dict[str, list[dict[str, float]]]) -> EMSession:
    """Run one EM session, blocked on ``columns``, from the current values; keep its m values
    in ``learnt`` when it had enough pairs and converged."""
    from splink import block_on

    rule = block_on(*columns)
    session = EMSession(rule=" AND ".join(columns), pairs=_pairs_for(linker, columns))
    if session.pairs < MIN_EM_PAIRS:
        session.rejected = f"{session.pairs} pairs (fewer than {MIN_EM_PAIRS})"
        return session
    before = linker._settings_obj.core_model_settings.copy()
    try:
        em = linker.training.estimate_parameters_using_expectation_maximisation(
            rule, estimate_without_term_frequencies=True, max_pairs=EM_MAX_PAIRS)
    except EMTrainingException as exc:
        linker._settings_obj.core_model_settings = before
        session.rejected = f"EM failed: {str(exc).splitlines()[0][:120]}"
        return session
    # EM's values are averaged into the linker as it goes; the guarded values are put back
    # at the end (``_apply_learnt_m``), so what Splink put there now does not matter.
    history = em._core_model_settings_history
    session.iterations = max(len(history) - 1, 0)
    session.match_rate = float(em.core_model_settings.probability_two_random_records_match)
    session.converged = (session.iterations < linker._settings_obj.training_settings.max_iterations
                         or _last_change(history) < EM_SETTLED)
    if not session.converged:
        session.rejected = f"did not converge in {session.iterations} iterations"
        return session
    households = _not_persons(em.core_model_settings.comparisons)
    if households:
        session.rejected = households
        return session
    for comparison in em.core_model_settings.comparisons:
        levels = comparison._comparison_levels_excluding_null
        if any(level._fix_m_probability for level in levels):
            continue
        values = {level.label_for_charts: level._m_probability for level in levels}
        learnt.setdefault(comparison.output_column_name, []).append(values)
        session.trained.append(comparison.output_column_name)
    return session


#: Comparisons on which one person's records agree more often than they disagree outright, in
#: any population: a class EM found whose pairs mostly differ on these is not "one person".
_PERSONAL = ("given_name", "dob")


def _not_persons(comparisons: list[Any]) -> str:
    """Why the class an EM session called "match" is not one person, or "". Blocked on a postcode
    in children's records, EM's likeliest split is household against stranger: its "matches"
    share a surname and a home but mostly differ on the given name and the date of birth, and
    those m values would make siblings look like one child."""
    for comparison in comparisons:
        if comparison.output_column_name not in _PERSONAL:
            continue
        levels = comparison._comparison_levels_excluding_null
        top, last = levels[0]._m_probability, levels[-1]._m_probability
        if isinstance(top, float) and isinstance(last, float) and last >= top:
            return (f"EM's matches mostly differ on {comparison.output_column_name} "
                    f"(m {last:.2f} different vs {top:.2f} identical): households, not persons")
    return ""


def _last_change(history: list[Any]) -> float:
    """The largest change in the match rate or any m probability over the last EM step."""
    if len(history) < 2:
        return float("inf")
    before, after = history[-2], history[-1]
    change = abs(after.probability_two_random_records_match
                 - before.probability_two_random_records_match)
    for old, new in zip(before.comparisons, after.comparisons, strict=True):
        for x, y in zip(old._comparison_levels_excluding_null,
                        new._comparison_levels_excluding_null, strict=True):
            if isinstance(x._m_probability, float) and isinstance(y._m_probability, float):
                change = max(change, abs(y._m_probability - x._m_probability))
    return change


#: Comparisons whose m EM is not allowed to learn, with why (said in the run summary).
#: Sex: EM blocked on date of birth and surname takes opposite-sex twins for one person recorded
#: with the wrong sex (the block is nearly all matches), and on our own population learnt
#: "sex different" eight times likelier in one person than shipped, which let a boy's record
#: join a woman's of a similar name. A child's recorded sex rarely differs between agencies in
#: any population, so the shipped value stands.
KEEP_SHIPPED = {"sex": "EM blocked on date of birth takes opposite-sex twins for one person"}


def _apply_learnt_m(linker: Linker, shipped: dict[str, list[tuple[str, float]]],
                    learnt: dict[str, list[dict[str, Any]]]) -> dict[str, str]:
    """Set each comparison's m to the median of its trusted sessions (unobserved levels keep the
    shipped m, and the whole is renormalised), or back to the shipped values; return those kept
    shipped, with why."""
    kept: dict[str, str] = {}
    for comparison in linker._settings_obj.comparisons:
        name = comparison.output_column_name
        if name not in shipped:
            continue
        levels = comparison._comparison_levels_excluding_null
        original = dict(shipped[name])
        candidate = original
        runs = learnt.get(name, [])
        if name in KEEP_SHIPPED and runs:
            kept[name] = KEEP_SHIPPED[name]
        elif not runs:
            kept[name] = "no trusted EM session trained it"
        else:
            candidate = {}
            for label, m in original.items():
                seen = [r[label] for r in runs if isinstance(r.get(label), int | float)]
                candidate[label] = median(seen) if seen else m
            total = sum(candidate.values())
            candidate = {k: v / total for k, v in candidate.items()} if total > 0 else original
            reason = _implausible(candidate, {lv.label_for_charts: lv.u_probability for lv in levels})
            if reason:
                kept[name] = reason
                candidate = original
        for level in levels:
            level.m_probability = candidate[level.label_for_charts]
    return kept


def _implausible(m: dict[str, float], u: dict[str, Any]) -> str:
    """Why learnt m values cannot be right, or "": full agreement must count for a match, and
    for it more than outright disagreement does."""
    labels = list(m)
    top, last = labels[0], labels[-1]
    u_top, u_last = u.get(top), u.get(last)
    if not isinstance(u_top, int | float) or not isinstance(u_last, int | float) or u_top <= 0:
        return ""
    if m[top] <= u_top:
        return f"EM made '{top}' count against a match"
    if u_last > 0 and m[last] / u_last >= m[top] / u_top:
        return f"EM made '{last}' count as much as '{top}'"
    return ""


def _prior_from_em(linker: Linker, sessions: list[EMSession]) -> str:
    """When no pair agrees exactly, the prior from EM's λ in the date-and-surname session: its
    matched pairs, over the share of true pairs that agree exactly on the date of birth (the
    surname key is looser than exact agreement, so this slightly over-counts)."""
    for session in sessions:
        if session.rejected or "dob" not in session.rule:
            continue
        matches = session.match_rate * session.pairs
        records = _count(linker, "count(*)")
        total = records * (records - 1) / 2
        prior = min(max(matches / max(_exact_m(linker, "dob"), 0.05) / total, 1 / total), 0.5)
        linker._settings_obj._probability_two_random_records_match = prior
        return "EM's match rate blocked on date of birth and surname"
    return "none agreed exactly; about one other record per record"

