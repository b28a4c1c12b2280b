"""Constrained clustering of scored pairs into persons.

Splink's connected components link everything reachable through any edge above the threshold, so
one record that looks a little like two twins joins them. Here edges are taken strongest first and
two clusters merge only if no hard constraint holds between any of their records, and, when both
already hold several records, only if they agree as groups, not through one chance pair.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import MappingProxyType

import numpy as np
from rapidfuzz.distance import JaroWinkler

from linkage.model.comparisons import AddressLevel, DobLevel, FamilyNameLevel, GivenNameLevel
from linkage.persons.constraints import (
    GENERATION_GAP_YEARS,
    RESTRICTED_RECORD,
    RecordFacts,
    given_names_compatible,
    identity_kept_apart,
    pair_conflict,
    reissued_upn,
    same_first_name,
    sibling_identifier_error,
    twin_names,
)
from linkage.persons.expected_births import expected_birth_links
from linkage.persons.house_namesakes import house_namesake_candidates
from linkage.persons.household_parents import household_parent_links
from linkage.persons.identifier_errors import MisplacedNumber, misplaced_nhs_numbers
from linkage.persons.outcomes import Outcome, constraint
from linkage.persons.pair_scores import PairScores
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


#: A source with at most this share of its records duplicated inside it is taken as a register
#: that lists each child once (a GP list, a school roll): two of its records are two children.
#: Measured (bench/public_benchmarks.py and bench/linkage.py): agency extracts of our two
#: generators duplicate 1-14% of their records (case systems and police the most); FEBRL 1-3 and
#: files of many copies per person a quarter or more.
DUPLICATE_FREE_SHARE = 0.15
#: Fewer duplicated records than this say nothing about a source's habits: it counts as a register.
DUPLICATES_TO_JUDGE = 20


#: A source with at least this share of its records duplicated inside it is a file of many
#: copies per person (measured, linkable pairs only: FEBRL 2 24 %, FEBRL 1 and 3 70-80 %);
#: between this and ``DUPLICATE_FREE_SHARE`` a source is neither (the twin rule does not hold
#: its records apart, and a replaced field is no evidence in it). Our generators' case systems
#: and police duplicate 12-14 %: social care's share of twins among its same-birthday pairs
#: (17 %) is FEBRL 3's share of replaced names, so the duplication rate, and that a twin has
#: records of her own (``_a_name_is_a_one_off``), tell the two apart.
DUPLICATE_HEAVY_SHARE = 0.20


def _source_codes(facts: Sequence[RecordFacts]) -> tuple[np.ndarray, list[str]]:
    """Each record's source as a number (its place in the sorted sources; -1 for none), so the
    pair loops below can compare two records' sources over arrays rather than one pair at a
    time in Python: at 1M records they read millions of linkable pairs."""
    sources = [f.source or "" for f in facts]
    names = sorted(set(sources) - {""})
    code = {name: n for n, name in enumerate(names)}
    code[""] = -1
    return np.fromiter((code[s] for s in sources), dtype=np.int64, count=len(sources)), names


def _duplicated_shares(facts: Sequence[RecordFacts], left: np.ndarray, right: np.ndarray,
                       linkable: np.ndarray) -> dict[str, tuple[int, int]]:
    """Per source, (its records with a linkable pair in the same source whose given names can
    be one child's, its records)."""
    codes, names = _source_codes(facts)
    sizes = np.bincount(codes[codes >= 0], minlength=len(names))
    left, right = np.asarray(left, dtype=np.int64), np.asarray(right, dtype=np.int64)
    inside = np.flatnonzero(linkable & (codes[left] >= 0) & (codes[left] == codes[right]))
    compatible = np.fromiter(
        (given_names_compatible(facts[i], facts[j])
         for i, j in zip(left[inside].tolist(), right[inside].tolist(), strict=True)),
        dtype=bool, count=len(inside))
    inside = inside[compatible]
    records = np.unique(np.concatenate([left[inside], right[inside]]))
    duplicated = np.bincount(codes[records], minlength=len(names))
    # Only sources with a record, in the order they were first met (as the dict was filled).
    order = sorted(np.flatnonzero(sizes).tolist(),
                   key=lambda c: int(np.argmax(codes == c)))
    return {names[c]: (int(duplicated[c]), int(sizes[c])) for c in order}


def duplicate_free_sources(facts: Sequence[RecordFacts], left: np.ndarray, right: np.ndarray,
                           linkable: np.ndarray) -> frozenset[str]:
    """The sources whose records are (nearly) never duplicated inside them: few of their records
    have a linkable pair, with given names that can be one child's, in the same source.

    This is the evidence the twin rule needs from a source: in a register, one date of birth and
    two names are two children; in an extract full of duplicates (a case system, a benchmark
    file), they are as often one person recorded twice under another given name.
    """
    return _free_of_duplicates(_duplicated_shares(facts, left, right, linkable))


def _free_of_duplicates(shares: Mapping[str, tuple[int, int]]) -> frozenset[str]:
    return frozenset(source for source, (duplicated, size) in shares.items()
                     if duplicated < DUPLICATES_TO_JUDGE or duplicated <= DUPLICATE_FREE_SHARE * size)


def duplicate_heavy_sources(facts: Sequence[RecordFacts], left: np.ndarray, right: np.ndarray,
                            linkable: np.ndarray) -> frozenset[str]:
    """The sources that hold many copies of each person (``DUPLICATE_HEAVY_SHARE``)."""
    return _heavy_with_duplicates(_duplicated_shares(facts, left, right, linkable))


def _heavy_with_duplicates(shares: Mapping[str, tuple[int, int]]) -> frozenset[str]:
    return frozenset(source for source, (duplicated, size) in shares.items()
                     if duplicated >= DUPLICATES_TO_JUDGE and duplicated >= DUPLICATE_HEAVY_SHARE * size)


#: Two registers list the same people when at least this share of each one's records has a
#: linkable pair in the other (``covering_registers``). Measured on the linkable pairs before
#: any replaced-field evidence: FEBRL 4's two files 0.85 each way; our generators' registers
#: 0.48 at most the lesser way (seed 7's GP list in its school roll; the independent
#: generator's school roll is 0.98 in its GP list but the GP list 0.40 in the roll), police and
#: social care 0.03-0.41. 0.7 leaves 0.15 below FEBRL 4 and 0.22 above ours.
MUTUAL_COVERAGE = 0.7


def covering_registers(facts: Sequence[RecordFacts], left: np.ndarray, right: np.ndarray,
                       linkable: np.ndarray, registers: frozenset[str]) -> frozenset[tuple[str, str]]:
    """The pairs of registers (sorted) that list the same people: ``MUTUAL_COVERAGE`` of each
    one's records with a linkable pair in the other.

    Two such registers are two lists of one population, each person once in each. A name at a
    house under two dates a generation apart, one record in each list and neither date on a
    third record of that name, is then one person whose date one list replaced: a father and
    a son of one name would each be in both lists, and so each have a second record of his
    date. Between registers that do not cover each other a person is as often in one only.
    """
    return frozenset(pair for pair, (x, y) in _coverage(facts, left, right, linkable,
                                                        registers).items()
                     if min(x, y) >= MUTUAL_COVERAGE)


def _coverage(facts: Sequence[RecordFacts], left: np.ndarray, right: np.ndarray,
              linkable: np.ndarray, registers: frozenset[str],
              ) -> dict[tuple[str, str], tuple[float, float]]:
    """Per pair of registers (x, y), sorted: (share of x's records with a linkable pair in y,
    share of y's with one in x)."""
    codes, names = _source_codes(facts)
    listed = np.array([name in registers for name in names] + [False], dtype=bool)
    # A record's register code, -1 for a record of no register (index -1 reads the False).
    codes = np.where(listed[codes], codes, -1)
    sizes = np.bincount(codes[codes >= 0], minlength=len(names))
    left, right = np.asarray(left, dtype=np.int64), np.asarray(right, dtype=np.int64)
    x, y = codes[left], codes[right]
    across = np.flatnonzero(linkable & (x >= 0) & (y >= 0) & (x != y))
    span = len(names) + 1
    # (x, y, record of x with a linkable pair in y), each once.
    seen = np.unique(np.concatenate([
        (x[across] * span + y[across]) * len(facts) + left[across],
        (y[across] * span + x[across]) * len(facts) + right[across]]))
    covered = np.bincount(seen // len(facts), minlength=span * span) if len(seen) else (
        np.zeros(span * span, dtype=np.int64))
    present = [c for c in range(len(names)) if sizes[c]]
    return {(names[a], names[b]): (int(covered[a * span + b]) / int(sizes[a]),
                                   int(covered[b * span + a]) / int(sizes[b]))
            for n, a in enumerate(present) for b in present[n + 1:]}


#: A population "replaces" a given name (or a date of birth) when, among its pairs that agree on
#: everything else, at least this share of those where that one field differs outright stand
#: beside those where it agrees: pooled over the duplicate-heavy sources, where one twin in a
#: few hundred duplicates is no habit (``DUPLICATE_HEAVY_SHARE`` does the real work there).
REPLACEMENT_HABIT = 0.03
#: The same share between two registers, per pair of sources. There, twins make it: each twin
#: pair gives two cross pairs beside about one pair per child, and a third of twins differ in
#: sex, so ~2 % — measured 2.0-2.7 % between our generator's registers (education, health,
#: social care, police) and 1.2-2.4 % on the independent generator's; FEBRL 4's two files give
#: 9.6 %. Only a habit well above what twins make counts.
CROSS_REGISTER_HABIT = 0.05
#: The share for a replaced date between two registers that list the same people
#: (``covering_registers``). Twins, whom ``CROSS_REGISTER_HABIT`` stands above, share a date, so
#: they never make these pairs; between two such lists a father and a son of one name are each
#: in both, and ``_neither_date_carried`` keeps them out. Measured, pairs of one name at one
#: house under two dates beside those under one: FEBRL 4's two files 4.7 % (105 beside 2,237);
#: our generators' registers, none of which covers another, 0.6-4.6 % (fathers and sons). As in
#: a file of many copies (``REPLACEMENT_HABIT``).
COVERING_DATE_HABIT = REPLACEMENT_HABIT


def evidence_in_duplicated_sources(
    facts: Sequence[RecordFacts], left: np.ndarray, right: np.ndarray,
    registers: frozenset[str], profile: tuple[ProfileModel, np.ndarray] | None,
    heavy: frozenset[str] | None = None, covering: frozenset[tuple[str, str]] = frozenset(),
) -> np.ndarray:
    """Pairs that are personal evidence because the data show a habit of replacing one field,
    the sexes not different, and either

    - the given names differ outright, the date of birth, the surname and the home agree; or
    - the dates of birth differ outright (less than a generation apart), the given name is
      identical, the surname agrees and the house is the same;

    (inside a file of many copies, the surname may only sound alike beside a replaced given
    name, and the postcode stand for the house beside a replaced date), where such pairs are
    common (not the odd twin or sibling): pooled over pairs of records
    from duplicate-heavy sources (``heavy``; None: every source not a register), at
    ``REPLACEMENT_HABIT``; or, between two different registers, per pair of sources at
    ``CROSS_REGISTER_HABIT`` (a date between two registers that list the same people, at
    ``COVERING_DATE_HABIT``).

    A date a generation off counts in a file of many copies when one of the two dates is on no
    third record of that name (``_a_date_is_a_one_off``); between two registers only when they
    list the same people (``covering``, from ``covering_registers``) and neither date is
    (``_neither_date_carried``).

    In a file of many copies per person with that habit, such a record is one person: a
    clerk's replacement, a preferred or a middle name, a date keyed from another form. Between
    two registers with the habit far above what twins make, it is one person listed once in
    each. Inside one register, another given name is the other twin: never evidence; nor
    between a register and a source that is neither. Whether two such records may still be one
    person is then for the constraints and the model's weights.
    """
    found = np.zeros(len(left), dtype=bool)
    if profile is None or not len(left):
        return found
    model, gammas = profile
    try:
        given, dob, family, address = (gammas[:, model.names.index(c)] for c in
                                       ("given_name", "dob", "family_name", "address"))
    except ValueError:
        return found
    surname = family >= FamilyNameLevel.TYPO
    # Another given name, everything else agreeing.
    rest_given = (dob == DobLevel.EXACT) & surname & (address >= AddressLevel.SAME_POSTCODE)
    # Another date of birth, the same name at the same house.
    rest_dob = (given == GivenNameLevel.EXACT) & surname & (address == AddressLevel.SAME_HOUSE)
    # Between two lists of one population, a given name one typo or nickname apart too: there
    # the third-record test (``_neither_date_carried``) is what keeps two people apart.
    rest_dob_listed = ((given >= GivenNameLevel.TYPO) & surname
                       & (address == AddressLevel.SAME_HOUSE)) if covering else rest_dob
    # Inside a file of many copies per person, where a field is replaced as a habit, the other
    # fields carry the file's typos too: beside a replaced given name a surname that only sounds
    # alike, beside a replaced date the same postcode rather than house. Measured
    # (bench/public_benchmarks.py, after the crossed-name re-scoring): FEBRL 3 recall 0.924 ->
    # 0.930, FEBRL 1 0.930 -> 0.932, FEBRL 2 0.934 -> 0.936, precision 1.0; no source of our
    # three populations is a file of copies (they duplicate 1-14 %), so they are unchanged.
    # Only where there is such a file: the wider masks take in most duplicate pairs of any
    # population (one name at one postcode), and grouping them pair by pair in Python cost a
    # 1M-record run some 20 s of clustering with no file of copies to use them.
    rest_given_heavy, rest_dob_heavy = rest_given, rest_dob
    if heavy:
        rest_given_heavy = rest_given | ((dob == DobLevel.EXACT)
                                         & (family >= FamilyNameLevel.SOUNDS_ALIKE)
                                         & (address >= AddressLevel.SAME_POSTCODE))
        rest_dob_heavy = rest_dob | ((given == GivenNameLevel.EXACT) & surname
                                     & (address >= AddressLevel.SAME_POSTCODE))
    # Only the pairs these read are grouped (a few in a hundred of the scored pairs).
    groups = np.full(len(left), -1, dtype=np.int64)
    years = np.full(len(left), np.inf)
    keys: dict[tuple[str, str], int] = {}
    for k in np.flatnonzero(rest_given_heavy | rest_dob_heavy | rest_dob_listed).tolist():
        a, b = facts[int(left[k])], facts[int(right[k])]
        if a.sex and b.sex and a.sex != b.sex:
            continue
        x, y = a.source or "", b.source or ""
        if (x in heavy and y in heavy) if heavy is not None else (
                x not in registers and y not in registers):
            key = ("", "")
        elif not (rest_given[k] or rest_dob[k] or rest_dob_listed[k]):
            continue
        elif x != y and x in registers and y in registers:
            key = (min(x, y), max(x, y))
        else:
            continue
        groups[k] = keys.setdefault(key, len(keys))
    years = _grouped_years_apart(facts, left, right, groups >= 0, years)
    dates = _RecordsByDate(facts)
    one_off = _a_name_is_a_one_off(facts, left, right, rest_given_heavy & (groups >= 0)
                                   & (given == GivenNameLevel.DIFFERENT), dates)

    def replaced_dates(inside: np.ndarray, pairs: np.ndarray, share: float) -> np.ndarray:
        """Of ``pairs`` inside one group, those under another date outright, when such pairs
        are a habit there beside those under one date (or one a digit off)."""
        return _habit(inside & pairs & (dob == DobLevel.DIFFERENT),
                      inside & pairs & (dob >= DobLevel.ONE_DIGIT), share)

    for key, group in keys.items():
        inside = groups == group
        habit = REPLACEMENT_HABIT if key == ("", "") else CROSS_REGISTER_HABIT
        in_file = key == ("", "") and heavy is not None
        names = (rest_given_heavy if in_file else rest_given) & one_off
        found |= _habit(inside & names & (given == GivenNameLevel.DIFFERENT),
                        inside & names & (given >= GivenNameLevel.TYPO), habit)
        # Another date, outright: a habit when such pairs are common beside the alike ones,
        # whatever the gap (a year keyed as another lands anywhere).
        replaced = replaced_dates(inside, rest_dob_heavy if in_file else rest_dob, habit)
        near = replaced & (years < GENERATION_GAP_YEARS)
        if in_file:
            # One postcode, not one house: two men of one common name in a street are two
            # people with copies of their own, each date on a third record of the name; a date
            # replaced is on one record only (``_a_date_is_a_one_off``), whatever the gap.
            street = near & ~rest_dob
            near = (near & rest_dob) | _a_date_is_a_one_off(facts, left, right, street, dates)
        found |= near
        if key == ("", "") and replaced.any():
            # A generation apart: one person only when one of the two dates is a one-off
            # (``_a_date_is_a_one_off``); a parent and a child of one name each have records
            # of their own.
            far = replaced & (years >= GENERATION_GAP_YEARS)
            found |= far & _a_date_is_a_one_off(facts, left, right, far, dates)
        elif key in covering:
            # Two lists of one population, at the lower habit: a father and a son (or two
            # brothers) of one name would each be in both, so, whatever the gap, neither date
            # may be on a third record of the name.
            listed = replaced_dates(inside, rest_dob_listed, COVERING_DATE_HABIT)
            if listed.any():
                found |= _neither_date_carried(facts, left, right, listed, dates)
    return found


class _RecordsByDate:
    """The records with a given name, by date of birth: built on first use and shared by the
    third-record tests of one ``evidence_in_duplicated_sources`` call, which read it for a few
    pairs each (building it scans every record of the run)."""

    def __init__(self, facts: Sequence[RecordFacts]) -> None:
        self.facts = facts
        self._index: dict[str, list[int]] | None = None

    def get(self, dob: str | None) -> Sequence[int]:
        if self._index is None:
            self._index = {}
            for n, f in enumerate(self.facts):
                if f.dob and f.given_name:
                    self._index.setdefault(f.dob, []).append(n)
        return self._index.get(dob or "", ())


def _a_name_is_a_one_off(facts: Sequence[RecordFacts], left: np.ndarray, right: np.ndarray,
                         pairs: np.ndarray, dates: _RecordsByDate) -> np.ndarray:
    """For each of ``pairs`` (two given names, one date and surname): is one of the names
    carried by no third record of that date and surname? A twin has records of her own (the GP
    list, the school roll, the case file all hold her); a replaced name, one record only. Pairs
    not in ``pairs`` come back True, so this only ever takes evidence away."""
    keep = np.ones(len(left), dtype=bool)
    for k in np.flatnonzero(pairs).tolist():
        i, j = int(left[k]), int(right[k])
        a, b = facts[i], facts[j]
        carried = [False, False]
        for n in dates.get(a.dob):
            c = facts[n]
            if n in (i, j) or c.family_name not in (a.family_name, b.family_name):
                continue
            with_a, with_b = given_names_compatible(c, a), given_names_compatible(c, b)
            carried[0] |= with_a and not with_b
            carried[1] |= with_b and not with_a
        keep[k] = not (carried[0] and carried[1])
    return keep


def _a_date_is_a_one_off(facts: Sequence[RecordFacts], left: np.ndarray, right: np.ndarray,
                         pairs: np.ndarray, dates: _RecordsByDate) -> np.ndarray:
    """For each of ``pairs`` (one given name, surname and house, two dates of birth): is one of
    the dates carried by no third record of that name? A parent and a child of one name are two
    people with records of their own; a date keyed wrong (a year typed as another) is on one
    record only. Pairs not in ``pairs`` come back False, so this only ever gives evidence to
    the pairs asked about."""
    carried_left, carried_right = _dates_carried(facts, left, right, pairs, dates)
    return pairs & ~(carried_left & carried_right)


def _neither_date_carried(facts: Sequence[RecordFacts], left: np.ndarray, right: np.ndarray,
                          pairs: np.ndarray, dates: _RecordsByDate) -> np.ndarray:
    """For each of ``pairs``: is neither date carried by a third record of that name? Stricter
    than ``_a_date_is_a_one_off``: between two registers each person has one record in each,
    so a parent's or a child's second record carries his date; a date one register replaced
    has none. Pairs not in ``pairs`` come back False."""
    carried_left, carried_right = _dates_carried(facts, left, right, pairs, dates)
    return pairs & ~carried_left & ~carried_right


def _dates_carried(facts: Sequence[RecordFacts], left: np.ndarray, right: np.ndarray,
                   pairs: np.ndarray, dates: _RecordsByDate) -> tuple[np.ndarray, np.ndarray]:
    """For each of ``pairs``: is the left record's date carried by a third record of its given
    name and of either surname, and is the right record's? False outside ``pairs``."""
    carried = np.zeros((2, len(left)), dtype=bool)

    def on_a_third(own: RecordFacts, other: RecordFacts, i: int, j: int) -> bool:
        return any(n not in (i, j) and facts[n].family_name in (own.family_name, other.family_name)
                   and given_names_compatible(facts[n], own)
                   for n in dates.get(own.dob))

    for k in np.flatnonzero(pairs).tolist():
        i, j = int(left[k]), int(right[k])
        a, b = facts[i], facts[j]
        carried[0, k] = on_a_third(a, b, i, j)
        carried[1, k] = on_a_third(b, a, i, j)
    return carried[0], carried[1]


def _habit(replaced: np.ndarray, alike: np.ndarray, share: float) -> np.ndarray:
    """``replaced`` when such pairs are a habit of the data beside the ``alike`` ones."""
    if replaced.sum() < share * max(int(alike.sum()), 1):
        return np.zeros_like(replaced)
    return replaced


def _grouped_years_apart(facts: Sequence[RecordFacts], left: np.ndarray, right: np.ndarray,
                         grouped: np.ndarray, years: np.ndarray) -> np.ndarray:
    """``years`` with each of the ``grouped`` pairs' years of birth apart (inf when either is
    unknown), over arrays: each record's year read once, not once per pair."""
    pairs = np.flatnonzero(grouped)
    records = np.unique(np.concatenate([left[pairs], right[pairs]]))
    year = np.full(len(facts), np.nan)
    year[records] = [float(dob[:4]) if (dob := facts[i].dob) else np.nan
                     for i in records.tolist()]
    apart = np.abs(year[left[pairs]] - year[right[pairs]])
    years[pairs] = np.where(np.isnan(apart), np.inf, apart)
    return years


#: One record's name is the other's in the other box when the two are at least this similar
#: (Jaro-Winkler): the model's own typo level for a name (``comparisons``), so a crossed name is
#: held to what a name in its own box is. Measured (bench/public_benchmarks.py, main 8430f22):
#: of FEBRL 3's 74 missed true pairs crossing under one date at one house or postcode, 28 cross
#: with a typo (bailez/bailey), 46 exactly; no false pair crosses in FEBRL 1-4, and our three
#: populations (seed 7, independent 12 and 13) have no pair of that shape at all.
CROSSED_NAME_SIMILARITY = 0.92


def crossed_names(
    facts: Sequence[RecordFacts], left: np.ndarray, right: np.ndarray,
    profile: tuple[ProfileModel, np.ndarray] | None,
) -> np.ndarray:
    """Pairs that are personal evidence because one record's given name is the other's family
    name (or the reverse), the date of birth identical and the home the same: a clerk who typed
    a name into the other box and the other name wrong or anew (Maddison Quilliam / Quilliam
    Ashleigh). The model's swap levels need both names to cross; this needs one. A twin or a
    sibling shares the family name, never has it as a given name, so this holds in any source.

    The crossing name may carry a typo (``CROSSED_NAME_SIMILARITY``) only where neither name
    agrees in its own box even as a sound-alike: then nothing but the crossing ties the names.
    """
    found = np.zeros(len(left), dtype=bool)
    if profile is None or not len(left):
        return found
    model, gammas = profile
    try:
        dob, address = (gammas[:, model.names.index(c)] for c in ("dob", "address"))
    except ValueError:
        return found
    apart = np.zeros(len(left), dtype=bool)
    if "given_name" in model.names and "family_name" in model.names:
        apart = ((gammas[:, model.names.index("given_name")] == GivenNameLevel.DIFFERENT)
                 & (gammas[:, model.names.index("family_name")] == FamilyNameLevel.DIFFERENT))
    for k in np.flatnonzero((dob == DobLevel.EXACT)
                            & (address >= AddressLevel.SAME_POSTCODE)).tolist():
        a, b = facts[int(left[k])], facts[int(right[k])]
        if a.given_name == b.given_name or a.family_name == b.family_name:
            continue
        exact = (bool(a.given_name) and a.given_name == b.family_name) or (
            bool(a.family_name) and a.family_name == b.given_name)
        near = bool(apart[k]) and (_near(a.given_name, b.family_name)
                                   or _near(a.family_name, b.given_name))
        found[k] = exact or near
    return found


def _near(x: str | None, y: str | None) -> bool:
    return bool(x and y and JaroWinkler.similarity(x, y) >= CROSSED_NAME_SIMILARITY)


def crossed_name_bits(profile: tuple[ProfileModel, np.ndarray] | None,
                      crossed: np.ndarray) -> np.ndarray:
    """Bits to add to each crossed pair's weight (``crossed_names``): the model scored the name
    that crossed boxes as a given name that disagrees; it agrees, one box off, so it is scored
    as the model's given-name typo level instead (never less than the model said).

    Measured (bench/public_benchmarks.py, main 8430f22): FEBRL 1-4's crossed pairs under one
    date at one house or postcode weigh 3.3-4.9 bits, below the link threshold's 4.25 for most,
    and every one is one person; scored this way they weigh some 10 bits more, and FEBRL 3's
    missed crossed pairs fall from 74 to 4 (recall 0.911 -> 0.924, FEBRL 1 0.916 -> 0.930,
    FEBRL 2 0.919 -> 0.934, FEBRL 4 0.941 -> 0.947, precision 1.0 on all). Our populations
    have no crossed pair to move: their persons are unchanged to the last mixed and split one.
    """
    bits = np.zeros(len(crossed))
    if profile is None or not crossed.any() or "given_name" not in profile[0].names:
        return bits
    model, gammas = profile
    column = model.names.index("given_name")
    table = model.level_bits[column]
    typo = table.get(int(GivenNameLevel.TYPO), 0.0)
    for k in np.flatnonzero(crossed).tolist():
        bits[k] = max(0.0, typo - table.get(int(gammas[k, column]), 0.0))
    return bits


#: The dates of a person without one (shared: read only).
_NO_DATES: Mapping[str, Sequence[int]] = MappingProxyType({})


class _Clusters:
    def __init__(self, facts: Sequence[RecordFacts], relatives: Sequence[Relative] = (),
                 duplicate_free: frozenset[str] | None = None,
                 heavy: frozenset[str] | None = None,
                 covering: frozenset[tuple[str, str]] = frozenset()) -> None:
        n = len(facts)
        self.facts = facts
        #: Sources full of duplicates: there one record under a date a generation away is as
        #: often a date keyed wrong as a parent (``_two_generations``). None: no such source.
        self.heavy = heavy or frozenset()
        #: Pairs of registers (sorted) that list the same people (``covering_registers``):
        #: between them, too, one record under a date a generation away is a date replaced.
        self.covering = covering
        #: None: every source is taken as a register (the rule as it was before sources were
        #: measured; callers that score pairs pass what they measured).
        self.duplicate_free = duplicate_free
        # Parent → child records, and child → parent records, per cluster root: a parent's record
        # that joins a person born after their child has joined the wrong person.
        self.children: dict[int, list[int]] = {}
        self.parents: dict[int, list[int]] = {}
        for rel in relatives:
            if rel.role in _PARENT_ROLES:
                self.children.setdefault(rel.record, []).append(rel.of_record)
                self.parents.setdefault(rel.of_record, []).append(rel.record)
        # A list, not an array: ``find`` runs some 600k times at 65k records, and indexing a
        # Python list is several times quicker than indexing a NumPy array element by element.
        self.parent: list[int] = list(range(n))
        self.members: dict[int, list[int]] = {i: [i] for i in range(n)}
        # What the constraints read of each person, by root: lists indexed by record, since
        # every record starts as a root (a dict per field cost ~100 bytes a record at 1M); an
        # entry of a record that is no longer a root is never read again.
        self.nhs: list[str | None] = [f.nhs_number for f in facts]
        # Records with a permanent UPN, per cluster: two different UPNs are two children unless
        # the records say the number was re-issued (``reissued_upn``). A person without one
        # holds the shared empty tuple, never extended (``union`` makes a new list).
        self.upn: list[Sequence[int]] = [[i] if f.upn else () for i, f in enumerate(facts)]
        # Records with an identity marker, per cluster holding any: only a few in a thousand
        # have one, so the rule that keeps them apart (``identity_kept_apart``) reads a person's
        # records only when one of the two persons holds one, and other clusters have no entry.
        self.marked: dict[int, list[int]] = {i: [i] for i, f in enumerate(facts)
                                             if f.identity_marked}
        self.years: list[tuple[int, int] | None] = [
            (y, y) if (y := int(f.dob[:4]) if f.dob else None) is not None else None
            for f in facts]
        # Each person's records by date of birth, made at its first join (``dobs``): a map per
        # record of a million, most never joined to another, was ~250 MB.
        self._by_dob: dict[int, dict[str, list[int]]] = {}

    def dobs(self, root: int) -> Mapping[str, Sequence[int]]:
        """The person's records by date of birth (read only: ``union`` keeps them)."""
        found = self._by_dob.get(root)
        if found is not None:
            return found
        dob = self.facts[root].dob  # a root never joined is its own only record
        return {dob: (root,)} if dob else _NO_DATES

    def roots(self) -> np.ndarray:
        """The root of every record at once (what ``find`` gives each), by pointer jumping over
        an array: a rule that reads the persons of millions of pairs asks numpy, not ``find``
        a million times."""
        root = np.asarray(self.parent, dtype=np.int64)
        while True:
            up = root[root]
            if np.array_equal(up, root):
                return root
            root = up

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
        if (a in self.marked) != (b in self.marked) and identity_kept_apart(
                [self.facts[i] for i in self.members[a]], [self.facts[j] for j in self.members[b]]):
            return RESTRICTED_RECORD
        years_a, years_b = self.years[a], self.years[b]
        if (
            years_a
            and years_b
            and (max(years_a[1], years_b[1]) - min(years_a[0], years_b[0]) >= GENERATION_GAP_YEARS)
            and self._two_generations(a, b)
        ):
            return "different-generation"
        if self._younger_than_own_child(a, b):
            return "parent-younger-than-child"
        if self._two_children_of_one_birthday(a, b):
            return "twin-or-sibling"
        if nhs_a and nhs_a == nhs_b:
            for i in self.members[a]:
                for j in self.members[b]:
                    if sibling_identifier_error(self.facts[i], self.facts[j]):
                        return "identifier-on-another-child"
        if cannot:
            small, large = (b, a) if len(self.members[b]) < len(self.members[a]) else (a, b)
            # Most persons hold no record with a "different" pair: then there is nothing to
            # look for among the other's records, and no set of them to build.
            apart = [cannot[i] for i in self.members[small] if i in cannot]
            if apart:
                large_members = set(self.members[large])
                if any(not others.isdisjoint(large_members) for others in apart):
                    return "cannot-link"
        return None

    def _two_children_of_one_birthday(self, a: int, b: int) -> bool:
        """Do the data show two children born on one day, one in each person? A record of each
        with given names that cannot be one child's (``twins_in_one_source`` reads the pair), and
        evidence that they are two: both in one register (a source free of duplicates), or each
        name carried by another record of its own person. One record under another given name,
        with nothing else to say it is another child, is not that evidence."""
        dobs_a, dobs_b = self.dobs(a), self.dobs(b)
        for dob, left in dobs_a.items():
            right = dobs_b.get(dob)
            if not right:
                continue
            for i in left:
                for j in right:
                    x, y = self.facts[i], self.facts[j]
                    # ``twins_in_one_source`` of x and y as if both were x's source: one date
                    # (this loop's key), so the names decide (``twin_names``).
                    if not twin_names(x, y):
                        continue
                    if x.source == y.source and (self.duplicate_free is None
                                                 or x.source in self.duplicate_free):
                        return True
                    if self._name_carried(a, x, y) and self._name_carried(b, y, x):
                        return True
        return False

    def _two_generations(self, a: int, b: int) -> bool:
        """Do the data show a parent and a child, one in each person: two dates of birth a
        generation apart, and evidence that they are two people. Outside the sources full of
        duplicates the dates alone are that evidence (a register lists each person once); inside
        them each date must be carried by records of its own (two or more in its person). One
        record whose date is a generation off, in a file of many copies per person, is a date
        keyed wrong, not a parent. So is one between two registers that list the same people
        (``covering``), when each date is in one of the two only: a father and a son would each
        be in both, and a register holding both dates holds two people."""
        for dob_a, left in self.dobs(a).items():
            for dob_b, right in self.dobs(b).items():
                if abs(int(dob_a[:4]) - int(dob_b[:4])) < GENERATION_GAP_YEARS:
                    continue
                if not (all(self.facts[k].source in self.heavy for k in (*left, *right))
                        or self._one_list_each(left, right)):
                    return True
                if len(left) >= 2 and len(right) >= 2:
                    return True
        return False

    def _one_list_each(self, left: Sequence[int], right: Sequence[int]) -> bool:
        """Are the records of one date all from one register, those of the other all from
        another, and do those two registers list the same people (``covering``)?"""
        if not self.covering:
            return False
        x = {self.facts[k].source or "" for k in left}
        y = {self.facts[k].source or "" for k in right}
        if len(x) != 1 or len(y) != 1 or x == y:
            return False
        pair = (min(*x, *y), max(*x, *y))
        return pair in self.covering

    def _name_carried(self, root: int, own: RecordFacts, other: RecordFacts) -> bool:
        """Does a second record of this person carry ``own``'s given name (and not ``other``'s)?"""
        carriers = 0
        for k in self.members[root]:
            f = self.facts[k]
            if f.given_name and given_names_compatible(f, own) and not given_names_compatible(
                    f, other):
                carriers += 1
                if carriers >= 2:
                    return True
        return False

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
        known, find = self.years, self.find
        for r in roots:
            for child in self.children.get(r, ()):
                child_years = known[find(child)]
                if child_years and years[1] + PARENT_MIN_AGE_YEARS > child_years[0]:
                    return True
        for r in roots:
            for parent in self.parents.get(r, ()):
                parent_years = known[find(parent)]
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
        if self.upn[b]:
            self.upn[a] = [*self.upn[a], *self.upn[b]]
        if b in self.marked:
            self.marked.setdefault(a, []).extend(self.marked.pop(b))
        ya, yb = self.years[a], self.years[b]
        if ya and yb:
            self.years[a] = (min(ya[0], yb[0]), max(ya[1], yb[1]))
        else:
            self.years[a] = ya or yb
        dobs = self._by_dob.get(a)
        if dobs is None:
            dobs = self._by_dob[a] = {dob: list(idx) for dob, idx in self.dobs(a).items()}
        for dob, idx in self.dobs(b).items():
            dobs.setdefault(dob, []).extend(idx)
        self._by_dob.pop(b, None)
        for links in (self.children, self.parents):
            moved = links.pop(b, None)
            if moved:
                links.setdefault(a, []).extend(moved)
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
    shares = _duplicated_shares(facts, left, right, linkable)
    registers = _free_of_duplicates(shares)
    heavy = _heavy_with_duplicates(shares)
    covering = covering_registers(facts, left, right, linkable, registers)
    crossed = crossed_names(facts, left, right, profile)
    # Pairs the model's own score would not have linked: a link among them says how it was made.
    rescored = crossed & (probability < rules.link_threshold)
    if crossed.any():
        # The crossed name re-scored (``crossed_name_bits``): what the pair's weight says once
        # the model reads the name it missed.
        weight = weight + crossed_name_bits(profile, crossed)
        probability = np.where(crossed, 1.0 / (1.0 + np.exp2(-weight)), probability)
    duplicated = (evidence_in_duplicated_sources(facts, left, right, registers, profile, heavy,
                                                 covering)
                  | crossed)
    if duplicated.any():
        personal_evidence = personal_evidence | duplicated
        linkable = linkable | ((probability >= rules.link_threshold) & duplicated)
    clusters = _Clusters(facts, relatives, registers, heavy, covering)

    pair_probability = PairScores(left, right, np.where(personal_evidence, probability, 0.0),
                                  len(facts))

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
                              _youngest_child_year(facts, relatives), registers, heavy)
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
    # Only the pairs touching such a record, or re-scored, are read (not every scored pair).
    set_aside = np.fromiter({i for found in misplaced for i in found.records}, dtype=np.int64)
    aside = np.isin(left, set_aside) | np.isin(right, set_aside)
    for k in np.flatnonzero(aside | rescored).tolist():
        if outcomes[k] == Outcome.LINKED:
            outcomes[k] = (Outcome.LINKED_NHS_NUMBER_SET_ASIDE if aside[k]
                           else Outcome.LINKED_NAME_IN_OTHER_BOX)

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
    for k in _given_name_only(clusters, left, right, weight, outcomes, profile, registers):
        outcomes[k] = Outcome.REVIEW_GIVEN_NAME_ONLY

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
    # The pairs kept apart found over arrays: a loop over every scored pair in Python cost a
    # 1M-record run a second or two for the few hundred pairs it finds.
    span = len(facts) + 1
    keys = np.minimum(left, right).astype(np.int64) * span + np.maximum(left, right)
    wanted = np.fromiter((i * span + j for i, j in apart), dtype=np.int64, count=len(apart))
    for k in np.flatnonzero(np.isin(keys, wanted)).tolist():
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
        # Read once per record, not once per pair.
        records, of_pair = np.unique(left, return_inverse=True)
        jan1 = np.array([bool(clusters.facts[i].dob and clusters.facts[i].dob[5:] == "01-01")
                         for i in records.tolist()], dtype=bool)
        estimated = jan1[of_pair.reshape(-1)]
        column = gammas[:, dob]
        column[estimated & (column > _DOB_ESTIMATED_JAN1)] = _DOB_ESTIMATED_JAN1
    if held:
        held_records = np.fromiter(held, dtype=left.dtype, count=len(held))
        keep = ~(np.isin(left, held_records) | np.isin(right, held_records))
        left, right, weight, gammas = left[keep], right[keep], weight[keep], gammas[keep]
    threshold = float(np.log2(rules.link_threshold / (1 - rules.link_threshold)))
    found = profile_candidates(model, left, right, weight, gammas, clusters.roots(),
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
    dobs_a, dobs_b = clusters.dobs(a), clusters.dobs(b)
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
    facts, find = clusters.facts, clusters.find
    # What each pass reads of a relationship that no link changes, read once: the relative's
    # name, the role groups it joins, and the records named as children.
    named_relatives = [(rel.record, rel.of_record, name, _ROLE_GROUPS.get(rel.role, ()),
                        rel.role if rel.role in ("mother", "father") else None)
                       for rel in relatives
                       if (name := facts[rel.record].given_name_canonical)]
    children = sorted({rel.of_record for rel in relatives if rel.role in _PARENT_ROLES})
    implied: list[tuple[int, int]] = []
    homes: dict[int, tuple[int, tuple[str, str] | None]] = {}
    for _ in range(3):
        home, children_of = _households_of_children(clusters, relatives, children, homes)
        groups: dict[tuple[int, str], list[int]] = {}
        named: dict[tuple[int, str], set[str]] = {}
        for record, of_record, name, roles, parent_role in named_relatives:
            child = find(of_record)
            for role in roles:
                # The mother of one child is the mother named for the other children of her
                # home: a school's contacts for two pupils who live together.
                key = home.get(child, child) if role in ("mother", "father") else child
                groups.setdefault((key, role), []).append(record)
            if parent_role is not None:
                named.setdefault((home.get(child, child), parent_role), set()).add(name)
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
                        if facts[r].given_name_canonical not in shared]
        changed = False
        # A group of one record has no pair to join: only the others are sorted and read.
        for group in sorted(key for key, records in groups.items() if len(records) >= 2):
            records = groups[group]
            # Only two records of one given name can join, so the pairs are those of each
            # name, taken in the order of every pair of the group's sorted records.
            by_name: dict[str, list[int]] = {}
            for r in sorted(set(records)):
                by_name.setdefault(facts[r].given_name_canonical, []).append(r)  # type: ignore[arg-type]  # every relative here has a name
            pairs = sorted((same[x], same[y]) for same in by_name.values() if len(same) > 1
                           for x in range(len(same)) for y in range(x + 1, len(same)))
            if not pairs:
                continue
            key = group[0]
            own = children_of.get(key, {key})
            # The child's person is neither of the two being joined (checked below), so no
            # join here moves it: its root holds for the whole group.
            child_root = find(key)
            for i, j in pairs:
                a, b = find(i), find(j)
                if a == b or a in own or b in own or child_root in (a, b):
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
    clusters: _Clusters, relatives: Sequence[Relative], children: Sequence[int] | None = None,
    homes: dict[int, tuple[int, tuple[str, str] | None]] | None = None,
) -> tuple[dict[int, int], dict[int, set[int]]]:
    """Children (persons some record names a parent of) recorded at one and the same single
    address under one and the same surname: each child's household key (a member child), and
    each key's children.

    A child recorded at several addresses or surnames keeps a household of its own: a family
    that moved into another's old home, or two families sharing a house, must not make the two
    families' parents one.
    """
    if children is None:
        children = [rel.of_record for rel in relatives if rel.role in _PARENT_ROLES]
    facts, find = clusters.facts, clusters.find
    # ``homes``: each child person's single (address, surname), or None, with the number of
    # records it was read from. A person only grows, and only under a new root, so the same
    # root and count are the same records: a later pass reads again only persons joins changed.
    homes = {} if homes is None else homes
    by_address: dict[tuple[str, str], list[int]] = {}
    for child in sorted({find(record) for record in children}):
        members = clusters.members[child]
        known = homes.get(child)
        if known is None or known[0] != len(members):
            records = [facts[i] for i in members]
            addresses = {f.address_key for f in records if f.address_key is not None}
            surnames = {f.family_name for f in records if f.family_name is not None}
            single = ((next(iter(addresses)), next(iter(surnames)))
                      if len(addresses) == 1 and len(surnames) == 1 else None)
            known = homes[child] = (len(members), single)
        if known[1] is not None:
            by_address.setdefault(known[1], []).append(child)
    home: dict[int, int] = {}
    children_of: dict[int, set[int]] = {}
    for children in by_address.values():
        key = children[0]
        children_of[key] = set(children)
        for child in children:
            home[child] = key
    return home, children_of


def _given_name_only(clusters: _Clusters, left: np.ndarray, right: np.ndarray,
                     weight: np.ndarray, outcomes: Sequence[str],
                     profile: tuple[ProfileModel, np.ndarray] | None,
                     registers: frozenset[str]) -> list[int]:
    """The pairs refused for want of personal evidence that a reviewer should see: the
    strongest such pair between each two persons, agreeing on the date of birth, the surname
    and the postcode but not the given name, the sexes not different, where the data do not
    show two children. They do when a register (which lists each child once) holds both
    persons, or each person carries its given name on two records or more: then the refusal
    stands as the twin it is. Otherwise it is as likely one child under a preferred or a
    middle name (Mohammed at the GP, Idris at school) as a twin whose sibling is missing, and
    refusing it silently hides a child (issue 14)."""
    if profile is None:
        return []
    model, gammas = profile
    try:
        given, dob, family, address = (gammas[:, model.names.index(c)] for c in
                                       ("given_name", "dob", "family_name", "address"))
    except ValueError:
        return []
    alike = ((dob == DobLevel.EXACT) & (family >= FamilyNameLevel.TYPO)
             & (address >= AddressLevel.SAME_POSTCODE) & (given < GivenNameLevel.TYPO))
    refused = np.array([o == Outcome.INSUFFICIENT_PERSONAL_EVIDENCE for o in outcomes],
                       dtype=bool)
    best: dict[tuple[int, int], int] = {}
    facts = clusters.facts
    for k in np.flatnonzero(alike & refused).tolist():
        i, j = int(left[k]), int(right[k])
        a, b = clusters.find(i), clusters.find(j)
        if a == b or (facts[i].sex and facts[j].sex and facts[i].sex != facts[j].sex):
            continue
        key = (a, b) if a < b else (b, a)
        if key not in best or weight[k] > weight[best[key]]:
            best[key] = k
    found = []
    for (a, b), k in best.items():
        sources_a = {facts[n].source for n in clusters.members[a]}
        sources_b = {facts[n].source for n in clusters.members[b]}
        if (sources_a & sources_b) & registers:
            continue
        # ``a`` is the left record's person (``find`` above), ``b`` the right's.
        if clusters.find(int(left[k])) != a:
            a, b = b, a
        own_a = sum(facts[n].given_name == facts[int(left[k])].given_name
                    for n in clusters.members[a])
        own_b = sum(facts[n].given_name == facts[int(right[k])].given_name
                    for n in clusters.members[b])
        if own_a >= 2 and own_b >= 2:
            continue
        found.append(k)
    return sorted(found)


def _ambiguous_records(
    facts: Sequence[RecordFacts],
    left: np.ndarray,
    right: np.ndarray,
    probability: np.ndarray,
    weight: np.ndarray,
    rules: ClusteringRules,
    linkable: np.ndarray,
    youngest_child_year: Mapping[int, int] | None = None,
    registers: frozenset[str] | None = None,
    heavy: frozenset[str] = frozenset(),
) -> set[int]:
    """Records that fit two people who cannot be one (a father and Junior) about equally well.

    Two records of one date under two given names are "two people" here only in a register
    (``registers``; None: every source): in a source full of duplicates they may be one person,
    and a record fitting both is no reason to hold it. Two records a generation apart are not
    two people either when both come from files of many copies (``heavy``), as ``fits_two_people``
    says.

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
        if fits_two_people(facts[record], ranked, rules.ambiguity_margin_bits,
                           registers, heavy) is not None:
            held.add(record)
    return held


def fits_two_people(record: RecordFacts, ranked: Sequence[tuple[float, RecordFacts]],
                    margin_bits: float, registers: frozenset[str] | None = None,
                    heavy: frozenset[str] = frozenset()) -> int | None:
    """The position in ``ranked`` (the record's linkable neighbours, strongest first) of a
    neighbour the record fits about as well as its best one and who cannot be the same person,
    or None. One rule for a link run's records and a real-time query
    (``linkage.realtime.matcher``). Two given names under one date are two people only when the
    best one comes from a register (``registers``; None: every source).

    Nor are two dates a generation apart when both neighbours come from files of many copies
    per person (``heavy``): there one copy in twenty with its year mistyped (1990 for 1970) is
    among the neighbours of every other copy, and read as "parent and child" it held every copy
    of the person apart, each alone (a register of adults written ~10 times each: 24,480 held
    pairs, 99 % of them one person). Whether the two dates are two people there is the merge's
    question (``_Clusters._two_generations``: each date carried by records of its own), asked of
    the whole persons once the record has joined its best one."""
    if len(ranked) < 2:
        return None
    best_weight, best = ranked[0]
    for position, (w, other) in enumerate(ranked[1:], start=1):
        if best_weight - w >= margin_bits:
            break
        if _named_for(record, best, other):
            continue
        reason = pair_conflict(best, other)
        if reason == "twin-or-sibling" and registers is not None and best.source not in registers:
            continue
        if reason == "different-generation" and best.source in heavy and other.source in heavy:
            continue
        if reason is not None:
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
    pair_probability: PairScores,
    rules: ClusteringRules,
) -> bool:
    members_a, members_b = clusters.members[a], clusters.members[b]
    if len(members_a) < 2 or len(members_b) < 2:
        return True
    return pair_probability.mean_between(members_a, members_b) >= rules.group_agreement
