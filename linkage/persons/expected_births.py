"""Pre-birth records joined to the child born from them.

Children's social care opens a record before a child is born: no given name (or "Baby",
"Unborn"), the mother's surname, her address, and the *expected* date of delivery. Once the child
is born every other agency records the real name (often the father's surname) and the real date of
birth, weeks from the expected one, so pairwise scoring finds nothing personal in common and the
pre-birth history stays split from the child.

The household settles it: a pre-birth record belongs to the one child born at its address (by
postcode or by street) within a few weeks of the expected date, when a member of that household
carries the record's surname. A record with no address at all belongs to the one child of its
surname born within three weeks anywhere in the extracts. When two children fit (twins, or one
child's records still in two persons, or two families of one surname) nothing is linked, because
the record could be either; a person reviews it.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from datetime import date

from linkage.persons.constraints import RecordFacts

__all__ = ["EXPECTED_BIRTH_WINDOW_DAYS", "SURNAME_ONLY_WINDOW_DAYS", "expected_birth_links"]

#: How far a real date of birth may fall from the expected one: the model's own "within 45 days
#: (estimated or expected date)" level, so the rule and the scores agree on what counts as near.
EXPECTED_BIRTH_WINDOW_DAYS = 45
#: With nothing but the surname to go on, only a birth within three weeks of the expected date
#: counts (most births are): a pregnancy whose child is not in the extracts yet must not find a
#: namesake's baby born a month away.
SURNAME_ONLY_WINDOW_DAYS = 21


@functools.lru_cache(maxsize=65536)
def _day(value: str | None) -> date | None:
    # Cached: every record's date is read on every pass, and a population has far fewer
    # distinct dates of birth than records.
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def expected_birth_links(
    facts: Sequence[RecordFacts],
    members: Mapping[int, Sequence[int]],
    window_days: int = EXPECTED_BIRTH_WINDOW_DAYS,
) -> list[tuple[int, int]]:
    """(pre-birth record, born child's record) pairs, one per person made only of pre-birth
    records that fits exactly one born child.

    ``members`` maps each current person (cluster root) to its record indices. The second record
    of each pair is the child's record at the pre-birth address with the nearest date of birth:
    the evidence a reviewer reads.
    """
    unborn_roots = [
        root for root, recs in members.items()
        if all(facts[i].placeholder_name for i in recs)
    ]
    if not unborn_roots:
        return []
    unborn = set(unborn_roots)
    # Only the houses and surnames some pre-birth record asks after are indexed: a few hundred
    # of the population's tens of thousands, so most records are passed over on one look.
    wanted_houses: set[str] = set()
    wanted_names: set[str] = set()
    for root in unborn_roots:
        for i in members[root]:
            fact = facts[i]
            if _day(fact.dob) is None or not fact.family_name:
                continue
            houses = fact.houses()
            if houses:
                wanted_houses.update(houses)
            else:
                wanted_names.add(fact.family_name)
    born_at: dict[str, list[tuple[date, int, int]]] = {}
    surnames_at: dict[str, set[str]] = {}
    born_named: dict[str, list[tuple[date, int, int]]] = {}
    for root, recs in members.items():
        if root in unborn:
            continue
        for i in recs:
            fact = facts[i]
            name = fact.family_name
            keys = [key for key in (fact.address_key, fact.address_line_key)
                    if key and key in wanted_houses]  # ``houses()``, those asked after
            if not keys and name not in wanted_names:
                continue
            day = _day(fact.dob)
            if day is not None and name and name in wanted_names:
                born_named.setdefault(name, []).append((day, root, i))
            for key in keys:
                if name:
                    surnames_at.setdefault(key, set()).add(name)
                if day is not None:
                    born_at.setdefault(key, []).append((day, root, i))

    links: list[tuple[int, int]] = []
    for root in sorted(unborn_roots):
        fits: dict[int, tuple[int, int, int]] = {}  # child root → (days apart, unborn rec, child rec)
        for i in members[root]:
            fact, expected = facts[i], _day(facts[i].dob)
            if expected is None or not fact.family_name:
                continue
            houses = fact.houses()
            if houses:
                near = [born for key in houses if fact.family_name in surnames_at.get(key, ())
                        for born in born_at.get(key, ())]
            else:
                # No address on the record: the only child of that surname born near the
                # expected date anywhere in the extracts. Common surnames find several and so
                # link nothing.
                near = born_named.get(fact.family_name, [])
            within = window_days if houses else min(window_days, SURNAME_ONLY_WINDOW_DAYS)
            for day, child, j in near:
                apart = abs((day - expected).days)
                if apart <= within and (child not in fits or apart < fits[child][0]):
                    fits[child] = (apart, i, j)
        if len(fits) == 1:
            (_, i, j), = fits.values()
            links.append((i, j))
    return links
