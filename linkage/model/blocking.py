"""Blocking rules: which pairs the model scores at all.

A true pair that no rule generates can never be linked, so the rules are chosen as a union that
survives any single corrupted field: each rule leans on a different pair of fields, and every field
is absent from at least one rule. ``kinlink blocking`` (``linkage.model.blocking_report``) reports the
comparisons each rule adds and, with a truth file, the recall of true pairs.

A rule with no place or date in it (same given name and surname, anywhere) makes blocks that grow
with the population and with the share of its most common surname, and its pairs with the square of
that: at 1M records with skewed surnames it was most of the pairs scored. Such a rule is *bounded*
(``BOUNDED_RULES``): a key held by at most ``LARGEST_BLOCK`` records pairs all of them as before; in
a larger block a pair must also agree on one of the rule's second keys (year of birth, postcode
district). Pairs of a large block that agree on neither are still found when another rule finds
them (the same date of birth, postcode or house); ``kinlink blocking`` reports recall per rule with
and without the bound.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import duckdb
from splink import block_on
from splink.blocking_rule_library import CustomRule
from splink.internals.blocking import BlockingRule
from splink.internals.blocking_rule_creator import BlockingRuleCreator

__all__ = [
    "BOUNDED_RULES",
    "LARGEST_BLOCK",
    "PREDICTION_KEYS",
    "SPARSE_RULES",
    "SWAPPED_NAMES_RULE",
    "BoundedRule",
    "add_block_bounds",
    "bounded_blocking_rules",
    "bounded_model",
    "demographic_rules",
    "deterministic_rules",
    "effective_keys",
    "prediction_blocking_rules",
    "training_blocking_rules",
]


#: The prediction rules as the columns each one joins on (every rule is an equi-join, so its pairs
#: and its largest block can be counted from the keys alone: ``linkage.model.blocking_report``).
PREDICTION_KEYS: tuple[tuple[str, ...], ...] = (
    ("nhs_number",),
    ("upn",),
    ("local_id_key",),
    # Demographic rules: each tolerates an error in every field it does not name.
    ("dob", "family_name_metaphone"),
    ("dob", "given_name_canonical"),
    # Same name, any date (or none): a parent's school-contact record, a moved family.
    ("given_name_canonical", "family_name_metaphone"),
    ("postcode", "given_name_canonical"),
    ("postcode", "dob"),
    # Same postcode and year of birth: a "Baby" record under the mother's surname.
    ("postcode", "dob_year"),
    ("address_key", "given_name_metaphone"),
    # A household: catches "Baby"/"Unborn" records (no given name, expected date of birth).
    ("address_key", "family_name_metaphone"),
    # The same house without a postcode on one side: a contact record, a police record.
    ("address_line_key", "given_name_metaphone"),
    ("given_name_metaphone", "family_name_metaphone", "postcode_district"),
)


def prediction_blocking_rules() -> list[BlockingRuleCreator]:
    return [block_on(*keys) for keys in PREDICTION_KEYS]


#: The most records one key of a bounded rule pairs exhaustively; past it a second key must agree.
#: 300 records are 44,850 pairs: on the 65k population no name block reaches it (largest 71, 143
#: with skewed surnames), so the bound only acts where blocks grow with the population.
LARGEST_BLOCK = 300


@dataclass(frozen=True)
class BoundedRule:
    """A prediction rule whose large blocks are split by a second key."""

    keys: tuple[str, ...]
    #: In a block larger than the bound, a pair must also agree on one of these.
    second_keys: tuple[tuple[str, ...], ...]
    #: This rule's own bound (None: the run's ``largest_block``).
    largest: int | None = None

    @property
    def small_block_column(self) -> str:
        """A feature column: TRUE where the record's key is held by at most the bound's number of
        records, NULL otherwise, so joining on it pairs exactly the small blocks."""
        return "small_block_" + "_".join(self.keys)

    def split_keys(self) -> list[tuple[str, ...]]:
        return [(*self.keys, self.small_block_column),
                *((*self.keys, *second) for second in self.second_keys)]


BOUNDED_RULES: tuple[BoundedRule, ...] = (
    BoundedRule(("given_name_canonical", "family_name_metaphone"),
                (("dob_year",), ("postcode_district",))),
)

#: Rules the run adds to the model's own, only where the data are sparse enough that they cost
#: little. The same date of birth *alone* finds the copies whose given name, family name and
#: postcode are all mistyped (FEBRL3: 332 of the 618 true pairs no model rule blocks), and a
#: date held by at most 30 records adds at most 29 comparisons per record. In a large population a
#: child's date is held by hundreds (386 at most at 1M) and the rule pairs only the sparse dates
#: (1.45M pairs at 1M, against 14.5M from the model's rules); for the crowded ones same date and
#: postcode, or same date and either name, are already model rules. Added at run time, not to the
#: model: a real-time query has no block to be small in.
SPARSE_RULES: tuple[BoundedRule, ...] = (
    BoundedRule(("dob",), (), largest=30),
)

#: Given and family names recorded the wrong way round: no rule keyed on one name can meet such a
#: pair, though the name comparisons score it as both names agreeing. It joins one column to the
#: other, so it is not a key rule; its blocks are as small as the names'. FEBRL3: 102 of the true
#: pairs no other rule compared, for 272 pairs in all. Added at run time like ``SPARSE_RULES``.
SWAPPED_NAMES_RULE = "l.given_name = r.family_name AND l.family_name = r.given_name"


def effective_keys(keys: list[tuple[str, ...]], bounded: bool = True) -> list[tuple[str, ...]]:
    """The rules as pairs are generated: each bounded rule replaced by its split."""
    if not bounded:
        return list(keys)
    split = {rule.keys: rule.split_keys() for rule in BOUNDED_RULES}
    return ([k for rule_keys in keys for k in split.get(rule_keys, [rule_keys])]
            + [k for rule in SPARSE_RULES for k in rule.split_keys()])


def bounded_blocking_rules(rules: list[BlockingRule]) -> list[BlockingRule]:
    """A model's prediction rules with each bounded rule split (matched by its SQL, so a model
    with other rules keeps them as they are), numbered in order for Splink's de-duplication."""
    splits = {
        block_on(*rule.keys).get_blocking_rule("duckdb").blocking_rule_sql: rule
        for rule in BOUNDED_RULES
    }
    out: list[BlockingRule] = []
    for rule in rules:
        bound = splits.get(rule.blocking_rule_sql)
        if bound is None:
            out.append(copy.copy(rule))  # the model's own objects keep their numbering
            continue
        out.extend(block_on(*keys).get_blocking_rule(rule._sql_dialect_str)
                   for keys in bound.split_keys())
    dialect = rules[0]._sql_dialect_str if rules else "duckdb"
    out.extend(block_on(*keys).get_blocking_rule(dialect)
               for sparse in SPARSE_RULES for keys in sparse.split_keys())
    out.append(CustomRule(SWAPPED_NAMES_RULE).get_blocking_rule(dialect))
    return BlockingRule._add_preceding_rules_to_each_blocking_rule(out)


def bounded_model(model: dict[str, Any]) -> dict[str, Any]:
    """A saved model (JSON) whose prediction rules are split as ``bounded_blocking_rules`` splits
    them, for an engine that blocks from the model itself (Spark). The model that is kept and
    matched against in real time keeps its own rules: a query has no block to be small in."""
    splits = {
        block_on(*rule.keys).get_blocking_rule("duckdb").blocking_rule_sql: rule
        for rule in BOUNDED_RULES
    }
    rules: list[Any] = []
    for rule in model.get("blocking_rules_to_generate_predictions", []):
        sql = rule["blocking_rule"] if isinstance(rule, dict) else str(rule)
        bound = splits.get(sql)
        if bound is None:
            rules.append(rule)
            continue
        for keys in bound.split_keys():
            split = block_on(*keys).get_blocking_rule("duckdb").blocking_rule_sql
            rules.append({**rule, "blocking_rule": split} if isinstance(rule, dict) else split)
    rules.extend(block_on(*keys).get_blocking_rule("duckdb").blocking_rule_sql
                 for sparse in SPARSE_RULES for keys in sparse.split_keys())
    rules.append(SWAPPED_NAMES_RULE)
    return {**model, "blocking_rules_to_generate_predictions": rules}


def add_block_bounds(con: duckdb.DuckDBPyConnection, table: str = "record_features",
                     largest_block: int = LARGEST_BLOCK, source: str | None = None) -> None:
    """Add each bounded rule's small-block column to the features table (rows kept in ``idx``
    order: clustering and the index read records by position). With ``source`` (a registered
    frame of the features), the table is created from it with those columns in one statement:
    creating it and then rewriting it with the columns wrote every record twice (0.25 s of the
    0.95 s the two took at 65k records)."""
    flags = ", ".join(
        f"CASE WHEN count(*) OVER (PARTITION BY {', '.join(rule.keys)}) "
        f"<= {int(rule.largest or largest_block)} THEN TRUE END AS {rule.small_block_column}"
        for rule in (*BOUNDED_RULES, *SPARSE_RULES)
    )
    con.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT *, {flags} FROM {source or table} ORDER BY idx")


def training_blocking_rules() -> list[BlockingRuleCreator]:
    """EM sessions; each fixes some fields by blocking on them and learns the others' m values."""
    return [
        block_on("dob", "family_name_metaphone"),
        block_on("given_name_canonical", "postcode"),
        block_on("nhs_number"),
    ]


def deterministic_rules() -> list[str]:
    """Rules whose matches are near-certain: used to estimate the prior match probability."""
    return [
        "l.nhs_number = r.nhs_number",
        "l.upn = r.upn AND l.dob = r.dob",
        "l.given_name = r.given_name AND l.family_name = r.family_name AND l.dob = r.dob "
        "AND l.postcode = r.postcode",
    ]


def demographic_rules() -> list[str]:
    """Near-certain rules for a population with no identifiers: the same name and date of birth
    are still nearly always one person (twins differ in given name), though they miss many pairs."""
    return [
        "l.given_name = r.given_name AND l.family_name = r.family_name AND l.dob = r.dob",
    ]
