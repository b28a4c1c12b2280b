"""Match one record against the identity index: candidates, scores, grades and the explanation.

A person's score is their best-matching record's: the probability that the query and that record
are one person, under the same model, levels and term frequencies as the link run that built the
index. The explanation lists each comparison's level and its match weight (the waterfall a
reviewer reads), so the number can be checked field by field.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kinlink.database import StoreLocation
from linkage.realtime.index import MatchIndex
from linkage.realtime.levels import GAMMA_FUNCTIONS
from linkage.standardise.records import standardise_record

__all__ = ["Candidate", "FieldWeight", "Matcher", "grade_for"]

QUERY_FIELDS = ("nhs_number", "upn", "local_id", "given_name", "middle_names", "family_name",
                "dob", "sex", "postcode", "address")


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
    grade: str
    best_record: str
    explanation: tuple[FieldWeight, ...]


def grade_for(probability: float, shares_identifier: bool) -> str:
    """The same bands as a link run's grades (``linkage.pipeline``): a shared valid NHS number or
    UPN is certain (unless the given name contradicts it: the caller passes False then)."""
    if shares_identifier or probability >= 0.9999:
        return "certain"
    if probability >= 0.99:
        return "probable"
    return "possible"


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

    def match(self, record: dict[str, Any], top: int = 5,
              min_probability: float = 0.5) -> list[Candidate]:
        best: dict[str, tuple[float, int, list[FieldWeight]]] = {}
        for row, weight, parts in self.scored_candidates(self.standardise(record)):
            person = self.index.person_ids[row]
            if person not in best or weight > best[person][0]:
                best[person] = (weight, row, parts)
        ranked = sorted(best.items(), key=lambda item: (-item[1][0], item[0]))[:top]
        out = []
        for person, (weight, row, parts) in ranked:
            probability = 2.0**weight / (1.0 + 2.0**weight) if weight < 1000 else 1.0
            gammas = {p.comparison: p.gamma for p in parts}
            shares = gammas.get("nhs_number") == 1 or gammas.get("upn") == 1
            # An identifier lookup always answers, but a given name that flatly disagrees with the
            # number's owner (a mistyped or a sibling's number) is shown, never graded certain.
            if probability < min_probability and not shares:
                continue
            certain_by_id = shares and gammas.get("given_name") != 0
            out.append(Candidate(person, probability, weight,
                                 grade_for(probability, certain_by_id),
                                 self.index.unique_ids[row], tuple(parts)))
        return out
