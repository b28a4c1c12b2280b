"""Match one record against the identity index: candidates, scores, grades and the explanation.

A person's score is their best-matching record's: the probability that the query and that record
are one person, under the same model, levels and term frequencies as the link run that built the
index. The explanation lists each comparison's level and its match weight (the waterfall a
reviewer reads), so the number can be checked field by field.

A score is evidence, not a decision: the query is held to the same hard constraints as a link
run's clustering (``linkage.persons.constraints``) against every record of each candidate person,
and graded on the same bands (``linkage.persons.grades``). A twin whose own records are missing
from the index scores high against her sister, but her own NHS number, or her name on the same
agency's record, says she is someone else: such a candidate is only ever "possible", with the
constraint named, and ranks below every candidate no constraint keeps apart. The run's other
rules are read the same way, in its own code where it has one: the query joins its strongest
candidate first and is then that person, so anyone a constraint keeps from that person is kept
from the query (``different-nhs-number`` for the other Billy once Billy is William's); a query
that fits two people who cannot be one (``fits_two_people``, the run's "held: ambiguous") joins
nobody and returns both, each marked with the other and neither better than "possible"; a person
whose record the run itself held is never more than "possible"; a query that would make a
person younger than their own child is kept apart (``parent-younger-than-child``); a person
holding a record with an identity marker (adoption, gender recognition: ``IDENTITY_MARKERS``) is
kept apart (``restricted-record``) from a query sharing no NHS number or UPN with one of the marked
records (``identity_kept_apart``, the run's rule; a query's own marker only ever restricts it
further, never unlocks a marked person: ``_restricted``); and a pair
without personal evidence (surname and address are a household's) is never more than
"possible" and ranks below every candidate agreeing on the child herself.

A link run sees a record beside its person-mates, whose identifiers keep twins apart; a query
comes alone. So without an identifier it shares with the candidate, a query is "certain" only
when it also agrees exactly on what tells children of one house apart: the given name (in one
spelling or by a known nickname) and the date of birth. Name, surname and address alone fit a
father and the son named after him when neither date is known, and Amelie and Amelia, twins a
mistyped day apart; those are "probable" at best.
"""

from __future__ import annotations

import atexit
import gc
import math
from collections.abc import Container
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from linkage.model.comparisons import DobLevel, GivenNameLevel
from linkage.persons.clustering import PARENT_MIN_AGE_YEARS, ClusteringRules, fits_two_people
from linkage.persons.constraints import (
    IDENTITY_MARKERS,
    RESTRICTED_RECORD,
    RecordFacts,
    identity_kept_apart,
    pair_conflict,
    record_facts,
)
from linkage.persons.grades import Grade, grade_for
from linkage.pipeline import KEEP_EDGES_ABOVE
from linkage.realtime.index import MatchIndex
from linkage.realtime.levels import GAMMA_FUNCTIONS, Features, personal_evidence
from linkage.standardise.records import standardise_record
from stores.database import StoreLocation
from stores.memo import BoundedMemo

__all__ = ["IDENTITY_MARKERS", "Candidate", "FieldWeight", "Matcher"]

QUERY_FIELDS = ("nhs_number", "upn", "local_id", "given_name", "middle_names", "family_name",
                "dob", "sex", "postcode", "address")

#: The given-name levels that are one name: identical (or swapped), or by a known nickname.
_SAME_GIVEN_NAME = frozenset({GivenNameLevel.EXACT, GivenNameLevel.NICKNAME})

#: The batch run's margin for "fits two people about equally well" (one constant, not a copy).
AMBIGUITY_MARGIN_BITS = ClusteringRules().ambiguity_margin_bits
#: The batch run's link threshold: a pair below it never joins the query to a person.
LINK_THRESHOLD = ClusteringRules().link_threshold
#: Below the usual floor, a candidate agreeing on the child herself is still shown (as
#: "possible"): a parent's school-contact record without a date of birth, filed at the home she
#: has since left, scores low against her own health record, and is still hers. The link run
#: keeps pairs as evidence from the same probability.
_KEPT_AS_EVIDENCE = KEEP_EDGES_ABOVE
#: The constraint name of a person with an identity marker found without a shared identifier:
#: the link run's own (``identity_kept_apart``).
RESTRICTED = RESTRICTED_RECORD
#: Index records whose constraint facts are kept between queries (a few hundred bytes each).
_FACTS_KEPT = 200_000


@dataclass(frozen=True)
class FieldWeight:
    comparison: str
    level: str
    gamma: int
    match_weight: float


@dataclass(frozen=True)
class Candidate:
    person_id: str
    probability: float
    match_weight: float
    grade: Grade
    best_record: str
    explanation: tuple[FieldWeight, ...]
    #: The hard constraint that keeps the query apart from this person (``different-nhs-number``,
    #: ``twin-or-sibling``, ``restricted-record``…), or None.
    constraint: str | None = None
    #: Other candidates the query fits about as well, who cannot be this person (twins).
    ambiguous_with: tuple[str, ...] = ()
    #: Does the best pair agree on something personal to one child (an identifier, the given
    #: name, a close date of birth)? Without it a link run never links the pair: a surname and
    #: an address are a household's, so the candidate may be the query's mother or brother.
    personal_evidence: bool = True


@dataclass
class _Scored:
    """One candidate person while the answer is assembled."""

    person: str
    weight: float
    row: int
    #: Each comparison's level and part, in the model's order (the explanation, unbuilt).
    gammas: tuple[int, ...]
    weights: tuple[float, ...]
    shares_identifier: bool
    constraint: str | None = None
    rivals: tuple[str, ...] = ()
    personal_evidence: bool = True
    #: The query fits two people who cannot be one: the link run would hold it, link it to none.
    held: bool = False
    #: The one person with the query's given name that a household at the query's address is
    #: related to (``MatchIndex.household_candidates``): shown even on a low score, and ranked
    #: above candidates whose score alone would not link them.
    via_household: bool = False

    @property
    def probability(self) -> float:
        return _probability(self.weight)


@dataclass(frozen=True, slots=True)
class _Pair:
    """The query and one index record, scored."""

    row: int
    weight: float
    gammas: tuple[int, ...]    # each comparison's level, in the model's order
    weights: tuple[float, ...]
    personal_evidence: bool
    shares_identifier: bool


def _probability(weight: float) -> float:
    return 2.0**weight / (1.0 + 2.0**weight) if weight < 1000 else 1.0


def _conflict(left: list[RecordFacts], right: list[RecordFacts]) -> str | None:
    """The hard constraint between any record of one group and any of the other, as a link
    run checks two clusters before joining them. A group's records carry one NHS number, save
    one the run found keyed onto this child from a sibling and set aside: where the two groups
    share a number, a record with another is read as the run read it, without it."""
    shared = {f.nhs_number for f in left if f.nhs_number} & {
        f.nhs_number for f in right if f.nhs_number}
    for a in left:
        if shared and a.nhs_number and a.nhs_number not in shared:
            a = replace(a, nhs_number=None)
        for b in right:
            if shared and b.nhs_number and b.nhs_number not in shared:
                b = replace(b, nhs_number=None)
            if (reason := pair_conflict(a, b)) is not None:
                return reason
    return None


def _restricted(query: RecordFacts, records: list[RecordFacts]) -> bool:
    """The link run's identity-marker rule (``identity_kept_apart``) between the query and a
    person, read so that the query's own marker can only restrict: a marked query is kept from
    a person without a marker it shares no verified identifier with (an adopted child's new
    record never finds her pre-adoption person), and a marked person is kept from any query not
    sharing one of her marked records' identifiers, marked or not (a caller cannot claim a
    marker to find her by likeness, as two marked records of a link run may link)."""
    return identity_kept_apart([query], records) or (
        query.identity_marked and identity_kept_apart([replace(query, identity_marked=False)],
                                                      records))


def _rank(candidate: _Scored) -> tuple[bool, bool, int, float, str]:
    """Constrained last, then those without personal evidence, then by weight, save that the
    household's one namesake ranks below every candidate the score alone would link and above
    every one it would not: the family is evidence the score never saw. A restricted record is
    no fact against the pair (only a cap on the grade), so it ranks by its score."""
    kept_apart = candidate.constraint is not None and candidate.constraint != RESTRICTED
    tier = 0 if candidate.probability >= LINK_THRESHOLD else 1 if candidate.via_household else 2
    return (kept_apart, not candidate.personal_evidence, tier, -candidate.weight,
            candidate.person)


def _one_certain_by_identifier(candidates: list[Candidate]) -> list[Candidate]:
    """A child is one person: when exactly one certain candidate shares an identifier with the
    query, another certain only by its score is the run's split of that child or a relative, and
    is shown as probable. (Two certain by score alone stay certain; a client asking for certain
    matches only then gets none, as PDQm asks.)"""
    by_identifier = [c for c in candidates if c.grade == "certain"
                     and any(p.comparison in ("nhs_number", "upn") and p.gamma == 1
                             for p in c.explanation)]
    if len(by_identifier) != 1:
        return candidates
    return [replace(c, grade="probable") if c.grade == "certain" and c is not by_identifier[0]
            else c for c in candidates]


class Matcher:
    def __init__(self, index: MatchIndex) -> None:
        self.index = index
        self._facts: BoundedMemo[int, RecordFacts] = BoundedMemo(_FACTS_KEPT)
        model = index.model
        self._prior = model.log2_prior_odds
        self._comparisons = [(c.name, c.levels, GAMMA_FUNCTIONS[c.name])
                             for c in model.comparisons]
        self._names = tuple(c.name for c in model.comparisons)

    @classmethod
    def load(cls, db_path: Path | str | StoreLocation) -> Matcher:
        """The matcher over a linked index, its objects moved out of the garbage collector's
        sight: the index is millions of long-lived Python objects, and a full collection that
        walks them all (one falls due every few hundred queries) stalls the query that
        triggers it by tens of milliseconds at a million records. They live as long as the
        process serves queries, so nothing is lost by never scanning them. (They are handed
        back at exit, where bindings such as DuckDB's check that what they made was freed.)"""
        matcher = cls(MatchIndex.load(db_path))
        gc.collect()
        gc.freeze()
        atexit.unregister(gc.unfreeze)
        atexit.register(gc.unfreeze)
        return matcher

    def standardise(self, record: dict[str, Any]) -> dict[str, Any]:
        clean = {k: (v.strip() or None) if isinstance(v, str) else v for k, v in record.items()}
        clean.setdefault("source", "query")
        clean.setdefault("record_id", "query")
        clean.setdefault("agency", None)
        for name in QUERY_FIELDS:
            clean.setdefault(name, None)
        return standardise_record(clean)

    def score(self, left: Features, right: Features) -> tuple[float, list[FieldWeight]]:
        """Splink's match weight for one pair of feature records, with each comparison's part."""
        total, gammas, weights = self._weigh(left, right)
        return total, self._parts(gammas, weights)

    def _weigh(self, left: Features, right: Features
               ) -> tuple[float, tuple[int, ...], tuple[float, ...]]:
        """The match weight and each comparison's level and part, as plain numbers: a query
        scores every candidate record, and only the few shown need their explanation."""
        tfs = self.index.term_frequencies
        total = self._prior
        gammas, weights = [], []
        for _, levels, function in self._comparisons:
            gamma = function(left, right)
            level = levels[gamma]
            weight = level.match_weight
            if level.tf_column is not None:
                # Splink: the larger of the two sides' frequencies (either when one is unknown),
                # floored at the level's minimum; no adjustment when neither value is known.
                table = tfs[level.tf_column]
                known = [tf for tf in (table.get(left.get(level.tf_column)),
                                       table.get(right.get(level.tf_column))) if tf is not None]
                if known:
                    weight += level.tf_weight * (level.log2_u_exact
                                                 - math.log2(max(*known, level.tf_minimum_u)))
            total += weight
            gammas.append(gamma)
            weights.append(weight)
        return total, tuple(gammas), tuple(weights)

    def _parts(self, gammas: tuple[int, ...], weights: tuple[float, ...]) -> list[FieldWeight]:
        return [FieldWeight(name, levels[gamma].label, gamma, weight)
                for (name, levels, _), gamma, weight in zip(self._comparisons, gammas, weights,
                                                             strict=True)]

    def scored_candidates(self, query: dict[str, Any]
                          ) -> list[tuple[int, float, list[FieldWeight]]]:
        """Every index record a link run would have compared the (standardised) query with, and
        its match weight: exactly the pairs and weights Splink's ``predict_between`` gives."""
        index = self.index
        return [(row, *self.score(query, index.features(row)))
                for row in index.candidates(query).tolist()]

    def match(self, record: dict[str, Any], top: int = 5, min_probability: float = 0.5,
              exclude_rows: Container[int] = ()) -> list[Candidate]:
        """The best ``top`` candidate persons for ``record``, constraints and ambiguity applied.

        ``exclude_rows`` leaves index records out of the candidates, as if they were not indexed
        (the consistency check matches a record against the index without it). A ``restriction``
        in the record (an agency's own marker on the record it matches) only ever keeps it
        apart from others (``_restricted``)."""
        query = self.standardise(record)
        facts = record_facts(query, record.get("restriction"))
        related = self.index.household_candidates(query)
        household = self._household_person(related, exclude_rows)
        pairs = self._scored_pairs(query, exclude_rows, related)
        scored = self._best_per_person(pairs)
        for candidate in scored:
            candidate.via_household = candidate.person == household
        shortlist = [c for c in scored if c.probability >= min_probability or c.shares_identifier
                     or c.via_household
                     or (c.personal_evidence and c.probability >= _KEPT_AS_EVIDENCE)]
        for candidate in shortlist:
            candidate.constraint = self.constraint(facts, candidate)
        # A query the run would hold is linked to nobody, so it joins no one either: which of
        # a mother and her namesake daughter it joined would be a coin toss, and the other
        # would then be kept apart by a generation the query never gave.
        if not self._mark_ambiguous(facts, pairs, shortlist):
            self._join_strongest_first(facts, shortlist)
        self._mark_held_by_run(shortlist)
        # A candidate a hard fact keeps apart ranks below every one no fact does, and one
        # sharing only what a household shares below every one agreeing on the child herself.
        shortlist.sort(key=_rank)
        chosen = shortlist[:top]
        named = {c.person for c in chosen}
        # Both of two people the query fits are returned, whatever ``top`` says.
        chosen += [c for c in shortlist[top:]
                   if c.person not in named and any(r in named for r in c.rivals)]
        return _one_certain_by_identifier([self._candidate(c) for c in chosen])

    def _scored_pairs(self, query: dict[str, Any], exclude_rows: Container[int],
                      related: np.ndarray | None = None) -> list[_Pair]:
        """Every index record a link run would compare the query with (``scored_candidates``),
        and those the household routes reach (``MatchIndex.match_candidates``; ``related``,
        the household route's rows when already found): its weight, levels and whether the
        pair is evidence about one child (``personal_evidence``)."""
        found = []
        names = self._names
        for row in self.index.match_candidates(query, related).tolist():
            if row in exclude_rows:
                continue
            features = self.index.features(row)
            weight, levels, weights = self._weigh(query, features)
            gammas = dict(zip(names, levels, strict=True))
            found.append(_Pair(row, weight, levels, weights,
                               personal_evidence(gammas, query, features),
                               gammas.get("nhs_number") == 1 or gammas.get("upn") == 1))
        return found

    def _household_person(self, related: np.ndarray, exclude_rows: Container[int]
                          ) -> str | None:
        """The one person a household at the query's address is related to who carries the
        query's given name, or None when there is none or more than one (a mother and a
        grandmother both called Sam): the link run's household-parent rule, read from the
        query's side."""
        persons = {self.index.person_ids[r]
                   for r in related.tolist() if r not in exclude_rows}
        return persons.pop() if len(persons) == 1 else None

    def _best_per_person(self, pairs: list[_Pair]) -> list[_Scored]:
        """Each candidate person by their best record: the best with personal evidence when
        one has it (the link run links through no other pair)."""
        best: dict[str, _Pair] = {}
        for pair in pairs:
            person = self.index.person_ids[pair.row]
            held = best.get(person)
            if held is None or (pair.personal_evidence, pair.weight) > (
                    held.personal_evidence, held.weight):
                best[person] = pair
        scored = [_Scored(person, p.weight, p.row, p.gammas, p.weights, p.shares_identifier,
                          personal_evidence=p.personal_evidence)
                  for person, p in best.items()]
        return sorted(scored, key=lambda c: (-c.weight, c.person))

    def record_facts(self, row: int) -> RecordFacts:
        """One index record's constraint facts, kept once read: a person's records are read for
        every query that finds them (a common name at a large school, a family's twins)."""
        facts = self._facts.get(row)
        if facts is None:
            facts = self._facts.keep(row, record_facts(self.index.features(row),
                                                       self.index.restrictions[row]))
        return facts

    def person_facts(self, row: int) -> list[RecordFacts]:
        return [self.record_facts(r) for r in self.index.rows_of_person(row).tolist()]

    def constraint(self, query: RecordFacts, candidate: _Scored) -> str | None:
        """The hard constraint between the query and any of the candidate person's records.

        A person's records carry one NHS number, save one a link run found keyed onto this child
        from a sibling and set aside: when the query's number is the person's, a record with
        another number is read as the run read it, without it."""
        rows = self.index.rows_of_person(candidate.row).tolist()
        records = self.person_facts(candidate.row)
        if (reason := _conflict([query], records)) is not None:
            return reason
        if self._younger_than_own_child(query, rows, records):
            return "parent-younger-than-child"
        if _restricted(query, records):
            return RESTRICTED
        return None

    def _younger_than_own_child(self, query: RecordFacts, rows: list[int],
                                records: list[RecordFacts]) -> bool:
        """The link run's ``parent-younger-than-child`` rule: would the query make this person
        younger than a child their agency names them parent of (by ``PARENT_MIN_AGE_YEARS``),
        or older than a named parent? Only a violation the query creates counts, as in the
        run: a person already recorded beside an implausibly young "father" is not barred."""
        if not query.dob:
            return False
        index = self.index
        eldest = [index.eldest_child_year[r] for r in rows if r in index.eldest_child_year]
        youngest = [index.youngest_parent_year[r] for r in rows if r in index.youngest_parent_year]
        if not eldest and not youngest:
            return False

        def too_young(years: tuple[int, int] | None) -> bool:
            if years is None:
                return False
            return bool((eldest and years[1] + PARENT_MIN_AGE_YEARS > min(eldest))
                        or (youngest and max(youngest) + PARENT_MIN_AGE_YEARS > years[0]))

        known = [int(f.dob[:4]) for f in records if f.dob]
        own = (min(known), max(known)) if known else None
        year = int(query.dob[:4])
        merged = (min(own[0], year), max(own[1], year)) if own else (year, year)
        return too_young(merged) and not too_young(own)

    def _mark_held_by_run(self, shortlist: list[_Scored]) -> None:
        """A person holding a record the link run held as ambiguous (it fits two people who
        cannot be one, so the run linked it to neither) is never more than "possible" here,
        marked with the persons the run held it between: a query scoring certain against that
        record may be either child."""
        held = self.index.held
        if not held:
            return
        for candidate in shortlist:
            between = {p for r in self.index.rows_of_person(candidate.row).tolist()
                       for p in held.get(r, ())}
            if between:
                candidate.held = True
                candidate.rivals += tuple(sorted(between - {candidate.person}))

    def _join_strongest_first(self, query: RecordFacts, shortlist: list[_Scored]) -> None:
        """The link run's clustering, for one query: pairs are taken strongest first, the query
        joins the first person it may, and from then on it is that person, so a later
        candidate a hard constraint keeps apart from the joined records is kept apart from the
        query too (Billy, linked to William's person through a shared surname and address, is
        not also certain for the other Billy, whose NHS number differs from William's)."""
        joined: list[RecordFacts] | None = None
        for candidate in sorted(shortlist, key=lambda c: (-c.weight, c.person)):
            if candidate.constraint is not None:
                continue
            records = self.person_facts(candidate.row)
            if joined is not None and (reason := _conflict(joined, records) or (
                    RESTRICTED if identity_kept_apart(joined, records) else None)) is not None:
                candidate.constraint = reason
                continue
            if candidate.probability >= LINK_THRESHOLD and candidate.personal_evidence:
                joined = [query, *records] if joined is None else [*joined, *records]

    def _mark_ambiguous(self, query: RecordFacts, pairs: list[_Pair],
                        shortlist: list[_Scored]) -> bool:
        """The link run's ambiguity rule (``fits_two_people``), on the query's linkable pairs as
        the run reads a record's: its best pair and another within the margin whose records
        cannot be one person, unless the query names the best exactly. Such a query is held
        by the run, linked to nobody; here every candidate is at best "possible", and the two
        it fits are each marked with the other. True when the query is held."""
        linkable = sorted((p for p in pairs
                           if p.personal_evidence and _probability(p.weight) >= LINK_THRESHOLD),
                          key=lambda p: (-p.weight, p.row))
        ranked = [(p.weight, self.record_facts(p.row)) for p in linkable]
        position = fits_two_people(query, ranked, AMBIGUITY_MARGIN_BITS)
        if position is None:
            return False
        best = self.index.person_ids[linkable[0].row]
        rival = self.index.person_ids[linkable[position].row]
        for candidate in shortlist:
            candidate.held = True
            if candidate.person == rival:
                candidate.rivals += (best,)
            elif candidate.person == best or candidate.constraint is None:
                candidate.rivals += (rival,)
        return True

    def _candidate(self, scored: _Scored) -> Candidate:
        parts = self._parts(scored.gammas, scored.weights)
        gammas = dict(zip(self._names, scored.gammas, strict=True))
        # An identifier lookup always answers, but a given name that flatly disagrees with the
        # number's owner (a mistyped or a sibling's number) is shown, never graded certain.
        certain_by_id = (scored.shares_identifier
                         and gammas.get("given_name") != GivenNameLevel.DIFFERENT)
        grade: Grade = grade_for(scored.probability, certain_by_id)
        if grade == "certain" and not certain_by_id and not (
                gammas.get("given_name") in _SAME_GIVEN_NAME and gammas.get("dob") == DobLevel.EXACT):
            grade = "probable"
        if (scored.constraint is not None or scored.rivals or scored.held
                or not scored.personal_evidence):
            grade = "possible"
        return Candidate(scored.person, scored.probability, scored.weight, grade,
                         self.index.unique_ids[scored.row], tuple(parts),
                         scored.constraint, scored.rivals, scored.personal_evidence)
