"""Group persons into families (households) from co-residence and stated relationships.

Co-residence decides the household: the people an agency records at one address are the people a
MASH worker means by "who lives with them". Stated relationships (birth registrations, social-care
family links, school contacts) then bring in people no agency holds an address for, but they never
fuse two households that each have their own address: a father who has moved to a new partner is
related to his children, not living with them. Very large address groups (a hostel, a block without
flat numbers) say nothing about family, so they are ignored.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["FAMILY_RELATIONSHIPS", "FamilyAssignment", "group_families"]

#: Relationships that make two people one family; others (``associate``) do not.
FAMILY_RELATIONSHIPS = frozenset(
    {
        "mother",
        "father",
        "parent",
        "sibling",
        "brother",
        "sister",
        "half-sibling",
        "step-parent",
        "stepparent",
        "carer",
        "guardian",
        "child",
        "son",
        "daughter",
        "grandparent",
        "grandmother",
        "grandfather",
        "partner",
        "spouse",
    }
)

#: Address groups with more distinct persons than this are not treated as one household.
MAX_HOUSEHOLD = 10


@dataclass
class FamilyAssignment:
    family_of: dict[int, int]  # person index → family label
    basis: dict[int, str]  # person index → co-residence | relationship | alone


class _UnionFind:
    def __init__(self, n: int) -> None:
        # Lists, not arrays: ``find`` runs for every person and pair, and indexing a Python list
        # element by element is several times quicker than indexing a NumPy array.
        self.parent: list[int] = list(range(n))
        self.size: list[int] = [1] * n

    def find(self, i: int) -> int:
        root = i
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[i] != root:
            self.parent[i], i = root, self.parent[i]
        return int(root)

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return
        if self.size[ra] < self.size[rb]:
            ra, rb = rb, ra
        self.parent[rb] = ra
        self.size[ra] += self.size[rb]


def group_families(
    n_persons: int,
    residence: pd.DataFrame,
    related_pairs: Iterable[tuple[int, int]],
) -> FamilyAssignment:
    """``residence`` has columns person (index) and address_key; ``related_pairs`` are person pairs."""
    uf = _UnionFind(n_persons)
    basis: dict[int, str] = {}
    with_address: set[int] = set()
    grouped = residence.dropna(subset=["address_key"]).drop_duplicates()
    # The persons of each address, addresses in sorted order and persons in the frame's, as
    # ``groupby("address_key")`` gives them, read from two arrays rather than a Series per
    # address (there are tens of thousands).
    codes, _ = pd.factorize(grouped["address_key"].to_numpy(), sort=True)
    order = np.argsort(codes, kind="stable")
    persons = grouped["person"].to_numpy()[order].tolist()
    ends = np.cumsum(np.bincount(codes)).tolist() if len(codes) else []
    start = 0
    for end in ends:
        members, start = persons[start:end], end
        if len(members) > MAX_HOUSEHOLD:
            continue
        first = int(members[0])
        for other in members[1:]:
            uf.union(first, int(other))
        if len(members) > 1:
            for m in members:
                basis[int(m)] = "co-residence"
        with_address.update(int(m) for m in members)

    def has_household(person: int) -> bool:
        return uf.size[uf.find(person)] > 1 and person in with_address

    # Relationships join someone into a household, but never fuse two established households.
    for a, b in related_pairs:
        if a == b:
            continue
        if has_household(a) and has_household(b) and uf.find(a) != uf.find(b):
            continue
        uf.union(a, b)
        basis.setdefault(a, "relationship")
        basis.setdefault(b, "relationship")

    family_of = {p: uf.find(p) for p in range(n_persons)}
    for p in range(n_persons):
        basis.setdefault(p, "alone")
    return FamilyAssignment(family_of=family_of, basis=basis)
