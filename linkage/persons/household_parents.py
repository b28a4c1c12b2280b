"""A parent's contact record joined to that parent's own records, through the child's household.

A school's or social worker's contact record for a child's mother often has no date of birth and
her surname from before a marriage or separation, and the family may have moved since; scored
against her own records (health, police) it agrees only on the given name and, perhaps, the
address, so it stays a person of its own. The child settles it: the contact names the child, the
child's records give the household's addresses, and if exactly one person recorded at those
addresses has the contact's given name, is old enough to be the child's parent and is not of the
other sex to the role, the contact is that person. Two such people (a mother and a grandmother
both called Sam) and nothing is linked; nor is a person another agency records as the child's
carer or sibling rather than parent, nor (checked by the caller) one whose dates of birth the
contact's person contradicts.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from linkage.persons.constraints import RecordFacts

__all__ = ["HouseholdParent", "household_parent_links"]

_SEX_OF_ROLE = {"mother": "F", "father": "M"}
_PARENT_ROLES = frozenset({"mother", "father", "parent"})


@dataclass(frozen=True, slots=True)
class HouseholdParent:
    """``contact`` (a record naming itself ``role`` of ``child``) is the person holding ``match``."""

    contact: int
    match: int
    child: int
    role: str


def _year(fact: RecordFacts) -> int | None:
    return int(fact.dob[:4]) if fact.dob and fact.dob[:4].isdigit() else None


def household_parent_links(
    facts: Sequence[RecordFacts],
    members: Mapping[int, Sequence[int]],
    find: Callable[[int], int],
    relatives: Sequence[tuple[int, int, str]],
    min_parent_age: int,
) -> list[HouseholdParent]:
    """Contacts (``record``, ``of_record``, ``role`` triples) that fit exactly one person of the
    named child's household; ``match`` is that person's record with the contact's given name."""
    at_address: dict[str, set[int]] = {}
    for root, recs in members.items():
        for i in recs:
            if (key := facts[i].address_key):
                at_address.setdefault(key, set()).add(root)

    # Who each person already is to each child by some agency's record: a child's recorded carer
    # (a grandmother, say) is not the parent another agency names, however alike their names.
    other_roles: dict[int, set[int]] = {}
    for record, of_record, role in relatives:
        if role not in _PARENT_ROLES:
            other_roles.setdefault(find(record), set()).add(find(of_record))

    links: list[HouseholdParent] = []
    seen: set[tuple[int, int]] = set()
    for record, of_record, role in relatives:
        if role not in _PARENT_ROLES:
            continue
        contact = facts[record]
        name = contact.given_name_canonical
        if not name:
            continue
        own, child = find(record), find(of_record)
        if (own, child) in seen:
            continue
        seen.add((own, child))
        child_years = [y for i in members[child] if (y := _year(facts[i])) is not None]
        if not child_years:
            continue
        born = min(child_years)
        household: set[int] = set()
        for i in members[child]:
            if (key := facts[i].address_key):
                household |= at_address.get(key, set())
        household.discard(child)
        fits: list[tuple[int, int]] = []
        for root in sorted(household):
            recs = members[root]
            named = [i for i in recs if facts[i].given_name_canonical == name]
            if not named or child in other_roles.get(root, ()):
                continue
            years = [y for i in recs if (y := _year(facts[i])) is not None]
            if not years or max(years) + min_parent_age > born:
                continue
            sex = _SEX_OF_ROLE.get(role)
            if sex and any(facts[i].sex and facts[i].sex != sex for i in recs):
                continue
            fits.append((root, named[0]))
        # A contact already in a person who fits is that parent; another person who fits too
        # is more of the same parent's records only if the caller finds their dates of birth
        # agree (a grandmother of the same name does not share the mother's birthday).
        others = [fit for fit in fits if fit[0] != own]
        if len(others) == 1 and len(fits) <= 2:
            links.append(HouseholdParent(record, others[0][1], of_record, role))
    return links
