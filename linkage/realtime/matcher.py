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
constraint named, and ranks below every candidate no constraint keeps apart. A query that fits
two people who cannot be one (the batch run's "held: ambiguous") returns both, each marked with
the other and neither better than "possible".

A link run sees a record beside its person-mates, whose identifiers keep twins apart; a query
comes alone. So without an identifier it shares with the candidate, a query is "certain" only
when it also agrees exactly on what tells children of one house apart: the given name (in one
spelling or by a known nickname) and the date of birth. Name, surname and address alone fit a
father and the son named after him when neither date is known, and Amelie and Amelia, twins a
mistyped day apart; those are "probable" at best.
"""

from __future__ import annotations

import math
from collections.abc import Container
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from linkage.model.comparisons import DobLevel, GivenNameLevel
from linkage.persons.clustering import ClusteringRules, _named_for
from linkage.persons.constraints import RecordFacts, pair_conflict, record_facts
from linkage.persons.grades import Grade, grade_for
from linkage.realtime.index import MatchIndex
from linkage.realtime.levels import GAMMA_FUNCTIONS
from linkage.standardise.records import standardise_record
from stores.database import StoreLocation

__all__ = ["IDENTITY_MARKERS", "Candidate", "FieldWeight", "Matcher"]

QUERY_FIELDS = ("nhs_number", "upn", "local_id", "given_name", "middle_names", "family_name",
                "dob", "sex", "postcode", "address")

#: Restricted markers that concern who a child *is*: a pre- and a post-adoption identity must
#: never be linked, nor a gender-recognition record to the earlier one. A person carrying one is
#: found with certainty only through an identifier the query shares, never by demographics alone.
IDENTITY_MARKERS = frozenset({"adoption", "gender-recognition"})

#: The given-name levels that are one name: identical (or swapped), or by a known nickname.
_SAME_GIVEN_NAME = frozenset({GivenNameLevel.EXACT, GivenNameLevel.NICKNAME})

#: The batch run's margin for "fits two people about equally well" (one constant, not a copy).
AMBIGUITY_MARGIN_BITS = ClusteringRules().ambiguity_margin_bits


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


@dataclass
class _Scored:
    """One candidate person while the answer is assembled."""

    person: str
    weight: float
    row: int
    parts: list[FieldWeight]
    shares_identifier: bool
    constraint: str | None = None
    rivals: tuple[str, ...] = ()

    @property
    def probability(self) -> float:
        return 2.0**self.weight / (1.0 + 2.0**self.weight) if self.weight < 1000 else 1.0


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

    @classmethod
    def load(cls, db_path: Path | str | StoreLocation) -> Matcher:
        return cls(MatchIndex.load(db_path))

    def standardise(self, record: dict[str, Any]) -> dict[str, Any]:
        clean = {k: (v.strip() or None) if isinstance(v, str) else v for k, v in record.items()}
        clean.setdefault("source", "query")
        clean.setdefault("record_id", "query")
        clean.setdefault("agency", None)
        for name in QUERY_FIELDS:
            clean.setdefault(name, None)
        return standardise_record(clean)

    def score(self, left: dict[str, Any], right: dict[str, Any]) -> tuple[float, list[FieldWeight]]:
        """Splink's match weight for one pair of feature records, with each comparison's part."""
        model, tfs = self.index.model, self.index.term_frequencies
        total = model.log2_prior_odds
        parts = []
        for comparison in model.comparisons:
            gamma = GAMMA_FUNCTIONS[comparison.name](left, right)
            level = comparison.levels[gamma]
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
            parts.append(FieldWeight(comparison.name, level.label, gamma, weight))
        return total, parts

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
        (the consistency check matches a record against the index without it)."""
        query = self.standardise(record)
        facts = record_facts(query)
        scored = self._best_per_person(query, exclude_rows)
        shortlist = [c for c in scored if c.probability >= min_probability or c.shares_identifier]
        for candidate in shortlist:
            candidate.constraint = self.constraint(facts, candidate)
        self._mark_ambiguous(facts, shortlist)
        # A candidate a hard fact keeps apart ranks below every one no fact does.
        shortlist.sort(key=lambda c: (c.constraint is not None, -c.weight, c.person))
        chosen = shortlist[:top]
        named = {c.person for c in chosen}
        # Both of two people the query fits are returned, whatever ``top`` says.
        chosen += [c for c in shortlist[top:]
                   if c.person not in named and any(r in named for r in c.rivals)]
        return _one_certain_by_identifier([self._candidate(c) for c in chosen])

    def _best_per_person(self, query: dict[str, Any], exclude_rows: Container[int]
                         ) -> list[_Scored]:
        best: dict[str, _Scored] = {}
        for row, weight, parts in self.scored_candidates(query):
            if row in exclude_rows:
                continue
            person = self.index.person_ids[row]
            if person not in best or weight > best[person].weight:
                gammas = {p.comparison: p.gamma for p in parts}
                shares = gammas.get("nhs_number") == 1 or gammas.get("upn") == 1
                best[person] = _Scored(person, weight, row, parts, shares)
        return sorted(best.values(), key=lambda c: (-c.weight, c.person))

    def record_facts(self, row: int) -> RecordFacts:
        return record_facts(self.index.features(row))

    def constraint(self, query: RecordFacts, candidate: _Scored) -> str | None:
        """The hard constraint between the query and any of the candidate person's records.

        A person's records carry one NHS number, save one a link run found keyed onto this child
        from a sibling and set aside: when the query's number is the person's, a record with
        another number is read as the run read it, without it."""
        rows = self.index.rows_of_person(candidate.row).tolist()
        records = [self.record_facts(r) for r in rows]
        numbers = {f.nhs_number for f in records if f.nhs_number}
        for facts in records:
            if query.nhs_number in numbers and facts.nhs_number != query.nhs_number:
                facts = replace(facts, nhs_number=None)
            if (reason := pair_conflict(query, facts)) is not None:
                return reason
        markers = {self.index.restrictions[r] for r in rows} & IDENTITY_MARKERS
        if markers and not candidate.shares_identifier:
            return "restricted-record"
        return None

    def _mark_ambiguous(self, query: RecordFacts, shortlist: list[_Scored]) -> None:
        """The batch run's ambiguity rule, for a query: its best candidate and another within the
        margin who cannot be one person (a hard constraint between any of their records: the
        father's school-contact record has no date of birth, his police record has), unless the
        query names the best one exactly (Harry, not Harvey, of twins Harry and Harvey)."""
        free = [c for c in shortlist if c.constraint is None]
        if len(free) < 2:
            return
        best = free[0]
        best_facts = self.record_facts(best.row)
        best_records = [self.record_facts(r) for r in self.index.rows_of_person(best.row).tolist()]
        for other in free[1:]:
            if best.weight - other.weight >= AMBIGUITY_MARGIN_BITS:
                break
            if _named_for(query, best_facts, self.record_facts(other.row)):
                continue
            others = [self.record_facts(r) for r in self.index.rows_of_person(other.row).tolist()]
            if any(pair_conflict(a, b) is not None for a in best_records for b in others):
                best.rivals += (other.person,)
                other.rivals += (best.person,)

    def _candidate(self, scored: _Scored) -> Candidate:
        gammas = {p.comparison: p.gamma for p in scored.parts}
        # An identifier lookup always answers, but a given name that flatly disagrees with the
        # number's owner (a mistyped or a sibling's number) is shown, never graded certain.
        certain_by_id = (scored.shares_identifier
                         and gammas.get("given_name") != GivenNameLevel.DIFFERENT)
        grade: Grade = grade_for(scored.probability, certain_by_id)
        if grade == "certain" and not certain_by_id and not (
                gammas.get("given_name") in _SAME_GIVEN_NAME and gammas.get("dob") == DobLevel.EXACT):
            grade = "probable"
        if scored.constraint is not None or scored.rivals:
            grade = "possible"
        return Candidate(scored.person, scored.probability, scored.weight, grade,
                         self.index.unique_ids[scored.row], tuple(scored.parts),
                         scored.constraint, scored.rivals)
