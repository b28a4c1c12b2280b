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
    # The persons recorded at each address who hold a record of each given name: the only ones
    # of a household that can fit a contact of that name, found without reading the rest.
    at_address_named: dict[tuple[str, str], set[int]] = {}
    for root, recs in members.items():
        keys = {key for i in recs if (key := facts[i].address_key)}
        if not keys:
            continue
        names = {name for i in recs if (name := facts[i].given_name_canonical) is not None}
        for key in keys:
            for name in names:
                at_address_named.setdefault((key, name), set()).add(root)

    # Who each person already is to each child by some agency's record: a child's recorded carer
    # (a grandmother, say) is not the parent another agency names, however alike their names.
    other_roles: dict[int, set[int]] = {}
    for record, of_record, role in relatives:
        if role not in _PARENT_ROLES:
            other_roles.setdefault(find(record), set()).add(find(of_record))

    # What the rule reads of a person, worked out once per person rather than once for every
    # contact whose child's household includes it: the span of its birth years, the first of
    # its records under each given name, the sexes its records give.
    spans: dict[int, tuple[int, int] | None] = {}
    first_named: dict[int, dict[str, int]] = {}
    sexes: dict[int, set[str]] = {}

    def span(root: int) -> tuple[int, int] | None:
        if root not in spans:
            years = [y for i in members[root] if (y := _year(facts[i])) is not None]
            spans[root] = (min(years), max(years)) if years else None
        return spans[root]

    def named_record(root: int, name: str) -> int | None:
        if root not in first_named:
            names: dict[str, int] = {}
            for i in members[root]:
                if (canonical := facts[i].given_name_canonical) is not None:
                    names.setdefault(canonical, i)
            first_named[root] = names
        return first_named[root].get(name)

    def other_sex(root: int, sex: str) -> bool:
        if root not in sexes:
            sexes[root] = {s for i in members[root] if (s := facts[i].sex)}
        return bool(sexes[root] - {sex})

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
        # The child's household: everyone recorded at one of its addresses; of those, the
        # persons with a record of the contact's name.
        household: set[int] = set()
        for i in members[child]:
            if (key := facts[i].address_key):
                household |= at_address_named.get((key, name), set())
        household.discard(child)
        if not household:
            continue
        child_span = span(child)
        if child_span is None:
            continue
        born = child_span[0]
        sex = _SEX_OF_ROLE.get(role)
        fits: list[tuple[int, int]] = []
        others = 0
        for root in sorted(household):
            match = named_record(root, name)
            if match is None or child in other_roles.get(root, ()):
                continue
            root_span = span(root)
            if root_span is None or root_span[1] + min_parent_age > born:
                continue
            if sex and other_sex(root, sex):
                continue
            fits.append((root, match))
            others += root != own
            if others > 1 or len(fits) > 2:
                break  # too many fit for a link, whoever else does
        # A contact already in a person who fits is that parent; another person who fits too
        # is more of the same parent's records only if the caller finds their dates of birth
        # agree (a grandmother of the same name does not share the mother's birthday).
        if others == 1 and len(fits) <= 2:
            match = next(m for r, m in fits if r != own)
            links.append(HouseholdParent(record, match, of_record, role))
    return links
