"""NHS numbers keyed onto the wrong child, found and set aside before clustering.

The commonest way a valid NHS number is wrong is a brother's, sister's or twin's number keyed onto a
child's record. Left as it is, the number splits that record from the child's own person (their
numbers differ) and bars it from the sibling (``identifier-on-another-child``): the record sits
alone, and a record without an identifier that matches it and the child's own records equally is
held as ambiguous. A person reading the records sees at once which number is wrong; so can this:

- the number is on records of two children whose names cannot be one child's (``G`` the records
  that fit this child, ``O`` those of the other child), and
- a record of ``G`` links strongly, on something personal (its given name, its date of birth), to
  a record of this child that does *not* carry the number: one with a different NHS number, or any
  such record when ``O`` holds more records of the number than ``G`` (so the number is the other
  child's by weight of records), and
- the same cannot be said of ``O`` (then nothing says whose number it is, and nothing is done).

The number is then disregarded on ``G``'s records — they link as records without an NHS number —
and each of them is kept apart from the other child's records, so the number cannot pull them in.
The number itself is never changed: the source record keeps it, and the pair stays on the review
queue as a constraint a reviewer can confirm.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from linkage.persons.constraints import RecordFacts, sibling_identifier_error

__all__ = ["MisplacedNumber", "misplaced_nhs_numbers"]


@dataclass(frozen=True)
class MisplacedNumber:
    """``records`` carry ``nhs_number`` although it is the child of ``owner_records``'s."""

    nhs_number: str
    records: tuple[int, ...]
    owner_records: tuple[int, ...]


def _groups(carriers: list[int], facts: Sequence[RecordFacts]) -> list[list[int]]:
    """Records of one number split into children: each group's records all fit each other."""
    groups: list[list[int]] = []
    for i in carriers:
        fitting = [g for g in groups
                   if not any(sibling_identifier_error(facts[i], facts[j]) for j in g)]
        if len(fitting) == 1:
            fitting[0].append(i)
        elif not fitting:
            groups.append([i])
        else:
            return []  # fits two children: too tangled to say anything
    return groups


def misplaced_nhs_numbers(
    facts: Sequence[RecordFacts],
    left: np.ndarray,
    right: np.ndarray,
    linkable: np.ndarray,
) -> list[MisplacedNumber]:
    """Groups of records whose NHS number is another child's (see the module docstring).

    ``linkable[k]`` says whether pair ``left[k]–right[k]`` scores above the link threshold on
    personal evidence.
    """
    carriers: dict[str, list[int]] = {}
    for i, fact in enumerate(facts):
        if fact.nhs_number:
            carriers.setdefault(fact.nhs_number, []).append(i)
    shared = {number: recs for number, recs in carriers.items() if len(recs) >= 2}
    if not shared:
        return []
    on_shared = {i for recs in shared.values() for i in recs}
    partners: dict[int, list[int]] = {}
    strong = np.flatnonzero(linkable)
    for i, j in zip(left[strong].tolist(), right[strong].tolist(), strict=True):
        if i in on_shared:
            partners.setdefault(i, []).append(j)
        if j in on_shared:
            partners.setdefault(j, []).append(i)

    def elsewhere(group: list[int], number: str, outnumbered: bool) -> bool:
        """Does this group's child show up strongly on a record without the number?"""
        for i in group:
            for j in partners.get(i, ()):
                other = facts[j].nhs_number
                if other == number or sibling_identifier_error(facts[i], facts[j]):
                    continue
                if other is not None or outnumbered:
                    return True
        return False

    found: list[MisplacedNumber] = []
    for number, recs in sorted(shared.items()):
        groups = _groups(recs, facts)
        if len(groups) != 2:
            continue
        first, second = groups
        first_wrong = elsewhere(first, number, len(second) > len(first))
        second_wrong = elsewhere(second, number, len(first) > len(second))
        if first_wrong == second_wrong:
            continue
        wrong, owner = (first, second) if first_wrong else (second, first)
        found.append(MisplacedNumber(number, tuple(wrong), tuple(owner)))
    return found
