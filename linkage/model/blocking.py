"""Blocking rules: which pairs the model scores at all.

A true pair that no rule generates can never be linked, so the rules are chosen as a union that
survives any single corrupted field: each rule leans on a different pair of fields, and every field
is absent from at least one rule. ``kinlink blocking`` (``linkage.model.blocking_report``) reports the
comparisons each rule adds and, with a truth file, the recall of true pairs.
"""

from __future__ import annotations

from splink import block_on
from splink.internals.blocking_rule_creator import BlockingRuleCreator

__all__ = [
    "PREDICTION_KEYS",
    "demographic_rules",
    "deterministic_rules",
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
