"""An undated record joined to the only person of its name living at its house.

A school's contact record for a parent, or a police record taken at the door, often has a name
and an address and nothing else: no date of birth, no identifier, and perhaps a surname from
before a marriage. Scored against that person's own records it agrees on the given name and the
house and so falls short of the threshold — rightly, as a pair: a mother and a daughter, or a
father and his Junior, can share a name and a house. The household settles it: if no one else
known at that house could bear the name, there is no one else the record can be.

A link needs all of:
- the pair scores at least ``floor`` and agrees on something personal, and the first given
  names are one name (exactly, by nickname or by a typo; a middle name is not enough: a father
  Thomas is not his son Adam Thomas);
- one side's person has no date of birth at all (when both are dated, the model has the dates
  and its score stands);
- neither person's records give a sex the other's contradict;
- the records share a house (by postcode and number, or by number, street and town);
- at every house they share, no third person's records carry a compatible given name (by typo,
  nickname, initial or middle name — a lenient test, so any doubt counts as a rival); and
- no hard constraint (a different generation, a parent younger than their child, a different
  identifier) holds between the two persons, checked by the caller at the moment of joining.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np

from linkage.persons.constraints import RecordFacts, given_names_compatible, same_first_name

__all__ = ["house_namesake_candidates"]


def house_namesake_candidates(
    facts: Sequence[RecordFacts],
    members: Mapping[int, Sequence[int]],
    find: Callable[[int], int],
    left: np.ndarray,
    right: np.ndarray,
    probability: np.ndarray,
    eligible: np.ndarray,
) -> list[tuple[float, int, int]]:
    """(probability, undated record, other record) for each eligible pair that passes the test
    above, strongest first. ``eligible[k]`` says pair k scored in the band and agrees on
    something personal."""
    def dated(root: int) -> bool:
        return any(facts[i].dob for i in members[root])

    def sexes(root: int) -> set[str]:
        return {sex for i in members[root] if (sex := facts[i].sex)}

    def bears(root: int, name_of: RecordFacts) -> bool:
        return any(facts[i].given_name and given_names_compatible(name_of, facts[i])
                   for i in members[root])

    passing: list[tuple[int, int, int, int, int, set[str]]] = []
    for k in np.flatnonzero(eligible).tolist():
        i, j = int(left[k]), int(right[k])
        a, b = find(i), find(j)
        if a == b:
            continue
        if dated(a) and dated(b):
            continue
        if len(sexes(a) | sexes(b)) > 1:
            continue
        undated, other = (i, j) if not dated(a) else (j, i)
        if not facts[undated].given_name:
            continue
        if not facts[i].same_house(facts[j]) or not same_first_name(facts[i], facts[j]):
            continue
        passing.append((k, undated, other, a, b, {*facts[i].houses(), *facts[j].houses()}))
    if not passing:
        return []
    # Who else lives at each house, for the houses of the pairs still standing only: a handful,
    # where indexing every record's house was most of the rule's cost.
    wanted = set().union(*(houses for *_, houses in passing))
    at_house: dict[str, set[int]] = {}
    for root, records in members.items():
        for i in records:
            for key in facts[i].houses():
                if key in wanted:
                    at_house.setdefault(key, set()).add(root)
    found: list[tuple[float, int, int]] = []
    for k, undated, other, a, b, houses in passing:
        rivals = {root for key in houses for root in at_house.get(key, ())} - {a, b}
        if any(bears(root, facts[undated]) for root in rivals):
            continue
        found.append((float(probability[k]), undated, other))
    found.sort(key=lambda t: (-t[0], t[1], t[2]))
    return found
