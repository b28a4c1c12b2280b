"""Constrained clustering of scored pairs into persons.

Splink's connected components link everything reachable through any edge above the threshold, so
one record that looks a little like two twins joins them. Here edges are taken strongest first and
two clusters merge only if no hard constraint holds between any of their records, and, when both
already hold several records, only if they agree as groups, not through one chance pair.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from linkage.model.comparisons import DobLevel
from linkage.persons.constraints import (
    GENERATION_GAP_YEARS,
    RecordFacts,
    pair_conflict,
    reissued_upn,
    same_first_name,
    sibling_identifier_error,
    twins_in_one_source,
)
from linkage.persons.expected_births import expected_birth_links
from linkage.persons.house_namesakes import house_namesake_candidates
from linkage.persons.household_parents import household_parent_links
from linkage.persons.identifier_errors import MisplacedNumber, misplaced_nhs_numbers
from linkage.persons.outcomes import Outcome, constraint
from linkage.persons.profiles import ProfileModel, profile_candidates

__all__ = ["ClusterResult", "ClusteringRules", "Relative", "cluster_records", "fits_two_people"]

#: Relationship roles that can name the same person from two agencies' records: a school's
#: "parent" contact is the health visitor's "mother" or the police's "father", never both.
_ROLE_GROUPS = {
    "mother": ("mother",), "father": ("father",), "parent": ("mother", "father"),
    "sibling": ("sibling",), "carer": ("carer",),
}


@dataclass(frozen=True, slots=True)
class Relative:
    """``record`` is the ``role`` (mother, parent, sibling…) of ``of_record``, per its agency."""

    record: int
    of_record: int
    role: str


@dataclass(frozen=True)
class ClusteringRules:
    #: Pairs at or above this probability link, constraints permitting. Chosen from the
    #: precision-recall sweep on two independent synthetic populations (see the linkage issue
    #: note): 0.95 keeps pairwise precision above 0.999 on both with ~0.3% less recall than 0.9.
    link_threshold: float = 0.95
    #: When two multi-record clusters meet, the mean probability over all their cross pairs
    #: (unscored pairs count as 0) must reach this, so one chance pair cannot fuse two groups.
    group_agreement: float = 0.2
    #: A record whose best two candidates cannot be one person, and whose scores for them are
    #: within this many bits (a factor of 2**margin), is ambiguous: it is held for a reviewer
    #: rather than given to whichever happens to score a little higher.
    ambiguity_margin_bits: float = 6.0
    #: An undated record below the threshold joins the only person of its name at its house
    #: (``house_namesakes``) only if the model still finds the pair more likely than not.
    namesake_floor: float = 0.5


@dataclass
class ClusterResult:
    labels: np.ndarray  # cluster label per record index (the smallest member index)
    edge_outcomes: list[str]  # per input edge
    conflicts: list[tuple[int, int, str]] = field(default_factory=list)
    #: Pairs each rule joined (not by their own score), in the order the rules ran: the outcome
    #: says which rule, and the pipeline records each pair under it (``RULES`` lists them).
    rule_links: dict[Outcome, list[tuple[int, int]]] = field(default_factory=dict)
    #: NHS numbers found on records of a child they do not belong to, and disregarded there.
    misplaced_numbers: list[MisplacedNumber] = field(default_factory=list)

    def links_by(self, outcome: Outcome) -> list[tuple[int, int]]:
        return self.rule_links.get(outcome, [])

    # The rules' links under the names the rules' own tests read.
    @property
    def implied_links(self) -> list[tuple[int, int]]:
        """Pairs joined because they are the same relative (mother, father, sibling) of one child."""
        return self.links_by(Outcome.LINKED_SAME_RELATIVE)

    @property
    def birth_links(self) -> list[tuple[int, int]]:
        """Pairs joined because one is a pre-birth record of the child the other is."""
        return self.links_by(Outcome.LINKED_EXPECTED_BIRTH)

    @property
    def household_parent_links(self) -> list[tuple[int, int]]:
        """Pairs joined because one is a child's parent contact, the other that parent's record."""
        return self.links_by(Outcome.LINKED_HOUSEHOLD_PARENT)

    @property
    def profile_links(self) -> list[tuple[int, int]]:
        """Pairs joined because their persons' profiles (best level of each comparison) fit."""
        return self.links_by(Outcome.LINKED_PERSON_PROFILE)

    @property
    def namesake_links(self) -> list[tuple[int, int]]:
        """Pairs joined because one is undated and the other the only person of its name at its
        house."""
        return self.links_by(Outcome.LINKED_ONLY_NAMESAKE_AT_HOUSE)


#: A parent is at least this many years older than their child (by year of birth).
PARENT_MIN_AGE_YEARS = 12

_PARENT_ROLES = frozenset({"mother", "father", "parent"})

#: The date-of-birth level "same year, one an estimated 1 January".
_DOB_ESTIMATED_JAN1 = DobLevel.SAME_YEAR_ESTIMATED_JAN1


class _Clusters:
    def __init__(self, facts: Sequence[RecordFacts], relatives: Sequence[Relative] = ()) -> None:
        n = len(facts)
        self.facts = facts
        # Parent → child records, and child → parent records, per cluster root: a parent's record
        # that joins a person born after their child has joined the wrong person.
        self.children: dict[int, list[int]] = {}
        self.parents: dict[int, list[int]] = {}
        for rel in relatives:
            if rel.role in _PARENT_ROLES:
                self.children.setdefault(rel.record, []).append(rel.of_record)
                self.parents.setdefault(rel.of_record, []).append(rel.record)
        self.parent = np.arange(n)
        self.members: dict[int, list[int]] = {i: [i] for i in range(n)}
        self.nhs: dict[int, str | None] = {i: f.nhs_number for i, f in enumerate(facts)}
        # Records with a permanent UPN, per cluster: two different UPNs are two children unless
        # the records say the number was re-issued (``reissued_upn``).
        self.upn: dict[int, list[int]] = {i: [i] if f.upn else [] for i, f in enumerate(facts)}
        years = [int(f.dob[:4]) if f.dob else None for f in facts]
        self.years: dict[int, tuple[int, int] | None] = {
            i: (y, y) if y is not None else None for i, y in enumerate(years)
        }
        self.by_dob: dict[int, dict[str, list[int]]] = {
            i: ({f.dob: [i]} if f.dob else {}) for i, f in enumerate(facts)
        }

    def find(self, i: int) -> int:
        root = i
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[i] != root:
            self.parent[i], i = root, self.parent[i]
        return int(root)

    def conflict(self, a: int, b: int, cannot: dict[int, set[int]]) -> str | None:
        nhs_a, nhs_b = self.nhs[a], self.nhs[b]
        if nhs_a and nhs_b and nhs_a != nhs_b:
            return "different-nhs-number"
        for i in self.upn[a]:
            for j in self.upn[b]:
                if self.facts[i].upn != self.facts[j].upn and not reissued_upn(self.facts[i],
                                                                               self.facts[j]):
                    return "different-upn"
        years_a, years_b = self.years[a], self.years[b]
        if (
            years_a
            and years_b
            and (max(years_a[1], years_b[1]) - min(years_a[0], years_b[0]) >= GENERATION_GAP_YEARS)
        ):
            return "different-generation"
        if self._younger_than_own_child(a, b):
            return "parent-younger-than-child"
        dobs_a, dobs_b = self.by_dob[a], self.by_dob[b]
        if len(dobs_a) > len(dobs_b):
            dobs_a, dobs_b = dobs_b, dobs_a
        for dob, left in dobs_a.items():
            right = dobs_b.get(dob)
            if not right:
                continue
            for i in left:
                for j in right:
                    if twins_in_one_source(self.facts[i], self.facts[j]):
                        return "twin-or-sibling"
        if nhs_a and nhs_a == nhs_b:
            for i in self.members[a]:
                for j in self.members[b]:
                    if sibling_identifier_error(self.facts[i], self.facts[j]):
                        return "identifier-on-another-child"
        if cannot:
            small, large = sorted((a, b), key=lambda r: len(self.members[r]))
            large_members = set(self.members[large])
            for i in self.members[small]:
                if cannot.get(i, set()) & large_members:
                    return "cannot-link"
        return None

    def _younger_than_own_child(self, a: int, b: int) -> bool:
        """Would this merge make someone younger than their own child, or older than their
        parent? Only a violation the merge *creates* counts: a person whose agency records
        already name an implausibly young "father" (a mother's new partner) is not thereby
        barred from joining the rest of its own records."""
        years_a, years_b = self.years[a], self.years[b]
        if not (self.children.get(a) or self.children.get(b) or self.parents.get(a)
                or self.parents.get(b)):
            return False
        if years_a and years_b:
            merged = (min(years_a[0], years_b[0]), max(years_a[1], years_b[1]))
        else:
            merged = years_a or years_b  # type: ignore[assignment]  # one side is None here, the other a (min, max) pair
        if merged is None or not self._too_young(merged, (a, b)):
            return False
        return not (self._too_young(years_a, (a,)) or self._too_young(years_b, (b,)))

    def _too_young(self, years: tuple[int, int] | None, roots: tuple[int, ...]) -> bool:
        if years is None:
            return False
        for child in (c for r in roots for c in self.children.get(r, ())):
            child_years = self.years.get(self.find(child))
            if child_years and years[1] + PARENT_MIN_AGE_YEARS > child_years[0]:
                return True
        for parent in (p for r in roots for p in self.parents.get(r, ())):
            parent_years = self.years.get(self.find(parent))
            if parent_years and parent_years[1] + PARENT_MIN_AGE_YEARS > years[0]:
                return True
        return False

    def join(self, i: int, j: int, cannot: dict[int, set[int]]) -> bool:
        """Join the persons of records i and j, as every rule-made link does: unless they are
        one already or a hard constraint holds between them. True when joined."""
        a, b = self.find(i), self.find(j)
        if a == b or self.conflict(a, b, cannot) is not None:
            return False
        self.union(a, b)
        return True

    def union(self, a: int, b: int) -> int:
        if len(self.members[a]) < len(self.members[b]):
            a, b = b, a
        self.parent[b] = a
        self.members[a].extend(self.members.pop(b))
        self.nhs[a] = self.nhs[a] or self.nhs[b]
        self.upn[a].extend(self.upn.pop(b))
        ya, yb = self.years[a], self.years.pop(b)
        if ya and yb:
            self.years[a] = (min(ya[0], yb[0]), max(ya[1], yb[1]))
        else:
            self.years[a] = ya or yb
        dobs = self.by_dob[a]
        for dob, idx in self.by_dob.pop(b).items():
            dobs.setdefault(dob, []).extend(idx)
        for links in (self.children, self.parents):
            moved = links.pop(b, None)
            if moved:
                links.setdefault(a, []).extend(moved)
        del self.nhs[b]
        return a


def cluster_records(
    facts: Sequence[RecordFacts],
    left: np.ndarray,
    right: np.ndarray,
    probability: np.ndarray,
    weight: np.ndarray,
    rules: ClusteringRules = ClusteringRules(),
    must_link: Iterable[tuple[int, int]] = (),
    cannot_link: Iterable[tuple[int, int]] = (),
    personal_evidence: np.ndarray | None = None,
    relatives: Sequence[Relative] = (),
    profile: tuple[ProfileModel, np.ndarray] | None = None,
) -> ClusterResult:
    """Cluster record indices ``0..len(facts)-1`` from scored edges ``left[k]–right[k]``.

    ``personal_evidence[k]`` says whether pair k agrees on something personal to one child (an
    identifier, the given name, or a close date of birth with a similar name). A household shares
    a surname and an address, so a pair agreeing on those alone scores high but may be siblings
    or a parent: such a pair is never enough to link on its own.
    """
    if personal_evidence is None:
        personal_evidence = np.ones(len(left), dtype=bool)
    outcomes: list[str] = [Outcome.BELOW_THRESHOLD] * len(left)
    linkable = (probability >= rules.link_threshold) & personal_evidence
    cannot: dict[int, set[int]] = {}
    for i, j in cannot_link:
        cannot.setdefault(i, set()).add(j)
        cannot.setdefault(j, set()).add(i)
    misplaced = misplaced_nhs_numbers(facts, left, right, linkable)
    if misplaced:
        facts, linkable = _set_aside_misplaced(facts, left, right, linkable, outcomes, cannot,
                                               misplaced)
    clusters = _Clusters(facts, relatives)

    pair_probability: dict[tuple[int, int], float] = {}
    for i, j, p, ok in zip(
        left.tolist(), right.tolist(), probability.tolist(), personal_evidence.tolist(), strict=True
    ):
        pair_probability[(i, j) if i < j else (j, i)] = p if ok else 0.0

    conflicts: list[tuple[int, int, str]] = []
    for i, j in must_link:
        a, b = clusters.find(i), clusters.find(j)
        if a == b:
            continue
        reason = clusters.conflict(a, b, cannot)
        if reason is not None:
            # A reviewer said "same person" but a hard fact says otherwise: surface, never resolve.
            conflicts.append((i, j, reason))
            continue
        clusters.union(a, b)

    for k in np.flatnonzero((probability >= rules.link_threshold) & ~personal_evidence).tolist():
        outcomes[k] = Outcome.INSUFFICIENT_PERSONAL_EVIDENCE
    held = _ambiguous_records(facts, left, right, probability, weight, rules, linkable,
                              _youngest_child_year(facts, relatives))
    candidates = np.flatnonzero(linkable)
    order = candidates[np.argsort(-weight[candidates], kind="stable")]
    for k in order.tolist():
        i, j = int(left[k]), int(right[k])
        if i in held or j in held:
            outcomes[k] = Outcome.HELD_AMBIGUOUS
            continue
        a, b = clusters.find(i), clusters.find(j)
        if a == b:
            outcomes[k] = Outcome.LINKED
            continue
        reason = clusters.conflict(a, b, cannot)
        if reason is None and not _groups_agree(clusters, a, b, pair_probability, rules):
            reason = "weak-group-agreement"
        if reason is not None:
            outcomes[k] = constraint(reason)
            continue
        clusters.union(a, b)
        outcomes[k] = Outcome.LINKED

    # A link made once a record's misplaced NHS number was set aside says so, because a person
    # checking it sees two different numbers.
    set_aside = {i for found in misplaced for i in found.records}
    for k, (i, j) in enumerate(zip(left.tolist(), right.tolist(), strict=True)):
        if outcomes[k] == Outcome.LINKED and (i in set_aside or j in set_aside):
            outcomes[k] = Outcome.LINKED_NHS_NUMBER_SET_ASIDE

    eligible = (np.array([o == Outcome.BELOW_THRESHOLD for o in outcomes], dtype=bool)
                & personal_evidence & (probability >= rules.namesake_floor))
    # The rules that join persons the scores alone did not, in the order they run (each sees
    # the persons the earlier ones made). A rule not applicable to this run (no profile model)
    # is left out of the table.
    table: list[tuple[Outcome, Callable[[], list[tuple[int, int]]]]] = [
        (Outcome.LINKED_SAME_RELATIVE,
         lambda: _link_through_relatives(clusters, relatives, cannot)),
        (Outcome.LINKED_EXPECTED_BIRTH, lambda: _link_expected_births(clusters, cannot)),
        (Outcome.LINKED_HOUSEHOLD_PARENT,
         lambda: _link_household_parents(clusters, relatives, cannot)),
    ]
    if profile is not None:
        table.append((Outcome.LINKED_PERSON_PROFILE, lambda: _link_profiles(
            clusters, left, right, weight, profile, rules, cannot, held)))
    table.append((Outcome.LINKED_ONLY_NAMESAKE_AT_HOUSE, lambda: _link_house_namesakes(
        clusters, left, right, probability, eligible, cannot, held)))
    rule_links = {outcome: rule() for outcome, rule in table}

    labels = np.empty(len(facts), dtype=np.int64)
    for root, members in clusters.members.items():
        label = min(members)
        labels[members] = label
        del root
    return ClusterResult(labels=labels, edge_outcomes=outcomes, conflicts=conflicts,
                         rule_links=rule_links, misplaced_numbers=misplaced)


def _set_aside_misplaced(
    facts: Sequence[RecordFacts],
    left: np.ndarray,
    right: np.ndarray,
    linkable: np.ndarray,
    outcomes: list[str],
    cannot: dict[int, set[int]],
    misplaced: list[MisplacedNumber],
) -> tuple[list[RecordFacts], np.ndarray]:
    """Clustering facts with each misplaced number removed from the records it was keyed onto,
    and those records kept from the number's owner: the shared number is the error, so their
    pairs are no evidence and no rival (``identifier_errors``)."""
    facts = list(facts)
    linkable = linkable.copy()
    apart: set[tuple[int, int]] = set()
    for found in misplaced:
        for i in found.records:
            facts[i] = replace(facts[i], nhs_number=None)
            for j in found.owner_records:
                cannot.setdefault(i, set()).add(j)
                cannot.setdefault(j, set()).add(i)
                apart.add((min(i, j), max(i, j)))
    for k, (i, j) in enumerate(zip(left.tolist(), right.tolist(), strict=True)):
        if (min(i, j), max(i, j)) in apart:
            linkable[k] = False
            outcomes[k] = constraint("identifier-on-another-child")
    return facts, linkable


def _link_profiles(
    clusters: _Clusters,
    left: np.ndarray,
    right: np.ndarray,
    weight: np.ndarray,
    profile: tuple[ProfileModel, np.ndarray],
    rules: ClusteringRules,
    cannot: dict[int, set[int]],
    held: set[int],
) -> list[tuple[int, int]]:
    """Persons whose profiles fit (``profiles``) joined, strongest first, unless a hard
    constraint holds between them.

    A record held as ambiguous stays held: fitting two people does not change because one of
    them has more records. An exact date of birth on 1 January counts only as "same year, one
    estimated": it is how unknown dates are recorded, and the profile has no term frequencies
    to say so.
    """
    model, gammas = profile
    dob = model.names.index("dob") if "dob" in model.names else None
    if dob is not None:
        gammas = gammas.copy()
        estimated = np.array([bool(clusters.facts[i].dob and clusters.facts[i].dob[5:] == "01-01")
                              for i in left.tolist()], dtype=bool)
        column = gammas[:, dob]
        column[estimated & (column > _DOB_ESTIMATED_JAN1)] = _DOB_ESTIMATED_JAN1
    if held:
        keep = np.array([i not in held and j not in held
                         for i, j in zip(left.tolist(), right.tolist(), strict=True)], dtype=bool)
        left, right, weight, gammas = left[keep], right[keep], weight[keep], gammas[keep]
    threshold = float(np.log2(rules.link_threshold / (1 - rules.link_threshold)))
    found = profile_candidates(model, left, right, weight, gammas, clusters.find,
                               lambda root: len(clusters.members[root]), threshold,
                               rules.ambiguity_margin_bits)
    return [(i, j) for _, i, j in found if clusters.join(i, j, cannot)]


def _link_house_namesakes(
    clusters: _Clusters,
    left: np.ndarray,
    right: np.ndarray,
    probability: np.ndarray,
    eligible: np.ndarray,
    cannot: dict[int, set[int]],
    held: set[int],
) -> list[tuple[int, int]]:
    """Undated records joined to the only person of their name at their house
    (``house_namesakes``), strongest first, hard constraints permitting; a held record stays
    held."""
    found = house_namesake_candidates(clusters.facts, clusters.members, clusters.find,
                                      left, right, probability, eligible)
    return [(i, j) for _, i, j in found
            if i not in held and j not in held and clusters.join(i, j, cannot)]


def _link_household_parents(
    clusters: _Clusters, relatives: Sequence[Relative], cannot: dict[int, set[int]]
) -> list[tuple[int, int]]:
    """Each parent contact joined to the one person of its child's household it can be
    (``household_parents``); a contact fitting different people through different children
    joins none, and hard constraints hold as for any link."""
    found = household_parent_links(
        clusters.facts, clusters.members, clusters.find,
        [(r.record, r.of_record, r.role) for r in relatives], PARENT_MIN_AGE_YEARS)
    before = {link.contact: clusters.find(link.contact) for link in found}
    targets: dict[int, set[int]] = {}
    for link in found:
        targets.setdefault(before[link.contact], set()).add(clusters.find(link.match))
    linked: list[tuple[int, int]] = []
    for link in found:
        i, j = link.contact, link.match
        if len(targets[before[i]]) != 1:
            continue
        if not _dates_compatible(clusters, clusters.find(i), clusters.find(j)):
            continue
        if clusters.join(i, j, cannot):
            linked.append((i, j))
    return linked


def _link_expected_births(
    clusters: _Clusters, cannot: dict[int, set[int]]
) -> list[tuple[int, int]]:
    """Each pre-birth record joined to the one child born from it (``expected_births``), unless a
    hard constraint (a reviewer's "different", a relationship between the two) says otherwise."""
    return [(i, j) for i, j in expected_birth_links(clusters.facts, clusters.members)
            if clusters.join(i, j, cannot)]


def _dates_compatible(clusters: _Clusters, a: int, b: int) -> bool:
    """Both unknown, or some date of birth in one is the other's or a typo of it (same year and
    month, a day/month swap, or an estimated 1 January in the same year)."""
    dobs_a, dobs_b = clusters.by_dob[a], clusters.by_dob[b]
    if not dobs_a or not dobs_b:
        return True
    for x in dobs_a:
        for y in dobs_b:
            if x[:7] == y[:7] or (x[:4] == y[:4] and (
                    (x[5:7], x[8:10]) == (y[8:10], y[5:7]) or x[5:] == "01-01" or y[5:] == "01-01")):
                return True
    return False


def _link_through_relatives(
    clusters: _Clusters, relatives: Sequence[Relative], cannot: dict[int, set[int]]
) -> list[tuple[int, int]]:
    """Join two agencies' records of one relative of one child: a school's "parent" contact
    named Helen and the health visitor's "mother" Helen of the same (already linked) child.

    A mother's school contact record often has no date of birth and her maiden surname, so
    pairwise scoring cannot link it; the child linking does the work. The given names must be the
    same name (exactly, or the same full name by a nickname), the roles compatible, and no hard
    constraint may hold; repeated until nothing changes, because each link can reveal another.
    A mother or father named for one child is also the one named for the children living with it
    under its surname (``_households_of_children``): a school's contacts for two siblings.
    """
    implied: list[tuple[int, int]] = []
    for _ in range(3):
        home, children_of = _households_of_children(clusters, relatives)
        groups: dict[tuple[int, str], list[int]] = {}
        named: dict[tuple[int, str], set[str]] = {}
        for rel in relatives:
            name = clusters.facts[rel.record].given_name_canonical
            if not name:
                continue
            child = clusters.find(rel.of_record)
            for role in _ROLE_GROUPS.get(rel.role, ()):
                # The mother of one child is the mother named for the other children of her
                # home: a school's contacts for two pupils who live together.
                key = home.get(child, child) if role in ("mother", "father") else child
                groups.setdefault((key, role), []).append(rel.record)
            if rel.role in ("mother", "father"):
                named.setdefault((home.get(child, child), rel.role), set()).add(name)
        # A mother and a father of one child with one name (Sam, Alex, Jo): a "parent" record
        # with that name could be either, so it joins neither.
        for child in sorted({c for c, _ in named}):
            shared = named.get((child, "mother"), set()) & named.get((child, "father"), set())
            if not shared:
                continue
            for role in ("mother", "father"):
                if (child, role) in groups:
                    groups[(child, role)] = [
                        r for r in groups[(child, role)]
                        if clusters.facts[r].given_name_canonical not in shared]
        changed = False
        for group in sorted(groups):
            members = sorted(set(groups[group]))
            for x in range(len(members)):
                for y in range(x + 1, len(members)):
                    i, j = members[x], members[y]
                    a, b = clusters.find(i), clusters.find(j)
                    own = children_of.get(group[0], {group[0]})
                    if a == b or a in own or b in own or clusters.find(group[0]) in (a, b):
                        continue
                    fi, fj = clusters.facts[i], clusters.facts[j]
                    if fi.given_name_canonical != fj.given_name_canonical:
                        continue
                    if not _dates_compatible(clusters, a, b):
                        continue  # a stepfather and a father may share a name, not a birthday
                    if clusters.join(i, j, cannot):
                        implied.append((i, j))
                        changed = True
        if not changed:
            break
    return implied


def _households_of_children(
    clusters: _Clusters, relatives: Sequence[Relative]
) -> tuple[dict[int, int], dict[int, set[int]]]:
    """Children (persons some record names a parent of) recorded at one and the same single
    address under one and the same surname: each child's household key (a member child), and
    each key's children.

    A child recorded at several addresses or surnames keeps a household of its own: a family
    that moved into another's old home, or two families sharing a house, must not make the two
    families' parents one.
    """
    by_address: dict[tuple[str, str], list[int]] = {}
    for child in sorted({clusters.find(rel.of_record) for rel in relatives
                         if rel.role in _PARENT_ROLES}):
        records = [clusters.facts[i] for i in clusters.members[child]]
        addresses = {f.address_key for f in records if f.address_key is not None}
        surnames = {f.family_name for f in records if f.family_name is not None}
        if len(addresses) == 1 and len(surnames) == 1:
            by_address.setdefault((addresses.pop(), surnames.pop()), []).append(child)
    home: dict[int, int] = {}
    children_of: dict[int, set[int]] = {}
    for children in by_address.values():
        key = children[0]
        children_of[key] = set(children)
        for child in children:
            home[child] = key
    return home, children_of


def _ambiguous_records(
    facts: Sequence[RecordFacts],
    left: np.ndarray,
    right: np.ndarray,
    probability: np.ndarray,
    weight: np.ndarray,
    rules: ClusteringRules,
    linkable: np.ndarray,
    youngest_child_year: Mapping[int, int] | None = None,
) -> set[int]:
    """Records that fit two people who cannot be one (a father and Junior) about equally well.

    A record its agency names as the parent of a child born in year Y cannot be anyone born
    less than ``PARENT_MIN_AGE_YEARS`` before Y: such a candidate (Junior, for his father's
    school-contact record) is no rival, so the record is not held on its account. The merge
    itself still checks the same fact (``parent-younger-than-child``).
    """
    youngest_child_year = youngest_child_year or {}
    neighbours: dict[int, list[tuple[float, int]]] = {}
    strong = np.flatnonzero(linkable)
    for i, j, w in zip(
        left[strong].tolist(), right[strong].tolist(), weight[strong].tolist(), strict=True
    ):
        neighbours.setdefault(i, []).append((w, j))
        neighbours.setdefault(j, []).append((w, i))
    held: set[int] = set()
    for record, candidates in neighbours.items():
        child_year = youngest_child_year.get(record)
        if child_year is not None:
            candidates = [(w, c) for w, c in candidates
                          if not _born_too_late_to_be_parent(facts[c], child_year)]
        if len(candidates) < 2:
            continue
        candidates.sort(reverse=True)
        ranked = [(w, facts[c]) for w, c in candidates]
        if fits_two_people(facts[record], ranked, rules.ambiguity_margin_bits) is not None:
            held.add(record)
    return held


def fits_two_people(record: RecordFacts, ranked: Sequence[tuple[float, RecordFacts]],
                    margin_bits: float) -> int | None:
    """The position in ``ranked`` (the record's linkable neighbours, strongest first) of a
    neighbour the record fits about as well as its best one and who cannot be the same person,
    or None. One rule for a link run's records and a real-time query
    (``linkage.realtime.matcher``)."""
    if len(ranked) < 2:
        return None
    best_weight, best = ranked[0]
    for position, (w, other) in enumerate(ranked[1:], start=1):
        if best_weight - w >= margin_bits:
            break
        if _named_for(record, best, other):
            continue
        if pair_conflict(best, other) is not None:
            return position
    return None


def _named_for(record: RecordFacts, best: RecordFacts, other: RecordFacts) -> bool:
    """Does the record carry the best candidate's given name, spelt exactly, and not the other's
    in any form? Twins Harry and Harvey are a letter apart, so a record of "Harry" scores well
    against both; but it names Harry, and only a record that could name either is ambiguous."""
    name = record.given_name
    if not name or name != best.given_name or not other.given_name:
        return False
    return not same_first_name(record, other)


def _youngest_child_year(
    facts: Sequence[RecordFacts], relatives: Sequence[Relative]
) -> dict[int, int]:
    """For each record named as a parent, the birth year of the youngest child it is named for."""
    years: dict[int, int] = {}
    for rel in relatives:
        if rel.role not in _PARENT_ROLES:
            continue
        dob = facts[rel.of_record].dob
        if dob and dob[:4].isdigit():
            year = int(dob[:4])
            years[rel.record] = max(year, years.get(rel.record, year))
    return years


def _born_too_late_to_be_parent(candidate: RecordFacts, child_year: int) -> bool:
    dob = candidate.dob
    return bool(dob and dob[:4].isdigit() and int(dob[:4]) + PARENT_MIN_AGE_YEARS > child_year)


def _groups_agree(
    clusters: _Clusters,
    a: int,
    b: int,
    pair_probability: dict[tuple[int, int], float],
    rules: ClusteringRules,
) -> bool:
    members_a, members_b = clusters.members[a], clusters.members[b]
    if len(members_a) < 2 or len(members_b) < 2:
        return True
    total = 0.0
    for i in members_a:
        for j in members_b:
            total += pair_probability.get((i, j) if i < j else (j, i), 0.0)
    return total / (len(members_a) * len(members_b)) >= rules.group_agreement
