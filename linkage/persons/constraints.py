"""Hard constraints: pairs of records that may never be in one person, whatever the score says.

Scores are evidence; these are facts about how children's records go wrong (domain/linkage.md):
two valid, different NHS numbers are two people, and two records sharing a date of birth but with
genuinely different given names are twins or siblings, not one child. A constraint is checked
between whole clusters, so a weak record cannot chain two children together.
"""

from __future__ import annotations

from dataclasses import dataclass

from rapidfuzz.distance import JaroWinkler

__all__ = ["RecordFacts", "given_names_compatible"]

#: Above this similarity two given names may be one name mistyped (Jon/John), so they do not prove
#: two people; below it (Jack/Jacob) they do when the date of birth is shared.
TYPO_SIMILARITY = 0.88


@dataclass(frozen=True, slots=True)
class RecordFacts:
    """What the constraints read about one record (all standardised, None when unknown)."""

    nhs_number: str | None
    dob: str | None
    given_name: str | None
    given_name_canonical: str | None
    given_name_metaphone: str | None
    given_names_all: frozenset[str]


def given_names_compatible(a: RecordFacts, b: RecordFacts) -> bool:
    """Could these two given names belong to one child? Unknown names are always compatible."""
    if not a.given_name or not b.given_name:
        return True
    x, y = a.given_name, b.given_name
    if x == y:
        return True
    if a.given_name_canonical and a.given_name_canonical == b.given_name_canonical:
        return True
    if a.given_name_metaphone and a.given_name_metaphone == b.given_name_metaphone:
        return True
    if x in b.given_names_all or y in a.given_names_all:
        return True  # known by a middle name
    shorter, longer = sorted((x, y), key=len)
    if len(shorter) >= 3 and longer.startswith(shorter):
        return True  # Alex / Alexander, Chris / Christopher
    if len(shorter) == 1 and longer.startswith(shorter):
        return True  # an initial
    if _equivalent_by_nickname(x, y):
        return True
    return JaroWinkler.similarity(x, y) >= TYPO_SIMILARITY


def _equivalent_by_nickname(x: str, y: str) -> bool:
    try:
        from linkage.standardise.names import names_equivalent
    except ImportError:  # pragma: no cover - the standardiser ships with the package
        return False
    return bool(names_equivalent(x, y))
