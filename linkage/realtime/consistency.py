"""Real time against batch, measured: does matching one record give the person the link run put
it in, and does it ever answer "certain" where the link run kept the record apart?

Each linked record is matched as a query against the index with that record left out (its
person-mates stay): the top candidate must be its batch person whenever the run linked it certain
or probable, and no candidate of another person may come back certain. Then it is matched again
with its whole batch person left out, as a child nobody has indexed yet: any "certain" answer
then names someone else, which is the disclosure to the wrong family the constraints exist to stop.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from linkage.index.store import connect_index
from linkage.realtime.matcher import QUERY_FIELDS, Matcher

__all__ = ["Consistency", "check_consistency"]

_REFUSED_SQL = """
SELECT unique_id_l, unique_id_r FROM person_edges
WHERE outcome LIKE 'constraint:%' OR outcome = 'held:ambiguous'
"""
_RECORDS_SQL = f"""
SELECT s.unique_id, s.source, s.record_id, {', '.join('s.' + c for c in QUERY_FIELDS)},
       s.attributes->>'restriction' AS restriction, l.person_id, l.match_grade
FROM source_records s JOIN record_links l USING (unique_id) ORDER BY s.unique_id
"""


@dataclass
class Consistency:
    #: Records the run linked certain or probable into a person of several records.
    linked: int = 0
    #: Of those, matched with the record left out: top candidate is the batch person.
    agreed: int = 0
    #: Any record matched with itself left out: a "certain" candidate other than its batch person.
    certain_elsewhere: int = 0
    #: Of those, a person the run refused to link the record to (a constraint, or held as
    #: ambiguous, between the record and one of that person's records in ``person_edges``).
    certain_where_refused: int = 0
    #: Records matched with their whole batch person left out.
    absent: int = 0
    #: Of those, answered "certain" (necessarily for another batch person: a split of the same
    #: child, or someone else).
    absent_certain: int = 0
    #: Of those, with the true persons known: the certain person is not the query's true one
    #: (the acceptance's "false certain for a query whose person is absent"; the rest are
    #: children the run split, or a run's own false link left out with the person).
    absent_false_certain: int = 0
    #: With the true persons known (a synthetic population): "certain" answers, record left out
    #: or person left out, for a person none of whose best records is the query's true person.
    false_certain: int = 0
    #: A few unique IDs of each kind of failure, to look at.
    examples: dict[str, list[str]] = field(default_factory=dict)

    @property
    def agreement(self) -> float:
        return self.agreed / self.linked if self.linked else 1.0

    def note(self, kind: str, unique_id: str) -> None:
        found = self.examples.setdefault(kind, [])
        if len(found) < 10:
            found.append(unique_id)


def check_consistency(matcher: Matcher, db: Any, sample: int | None = None, seed: int = 0,
                      truth: Mapping[str, str] | None = None) -> Consistency:
    """Leave-one-out and leave-person-out matching of the index's own records (all, or a
    ``sample`` of them drawn with ``seed``); ``truth`` (unique ID → true person) adds the count
    of certain answers that are wrong in fact, not only against the batch run."""
    with connect_index(db) as con:
        rows = con.execute(_RECORDS_SQL).fetchall()
        refused: dict[str, set[str]] = {}
        for left, right in con.execute(_REFUSED_SQL).fetchall():
            refused.setdefault(left, set()).add(right)
            refused.setdefault(right, set()).add(left)
    columns = ("unique_id", "source", "record_id", *QUERY_FIELDS, "restriction", "person_id",
               "match_grade")
    records = [dict(zip(columns, row, strict=True)) for row in rows]
    if sample is not None and sample < len(records):
        records = random.Random(seed).sample(records, sample)
    index = matcher.index
    result = Consistency()
    for record in records:
        row = index.row_of(record["unique_id"])
        if row is None:
            continue
        person, grade = record["person_id"], record["match_grade"]
        # With its own marker, as the link run read the record (the marker only restricts).
        query = {k: record[k] for k in ("source", "record_id", *QUERY_FIELDS, "restriction")}
        found = matcher.match(query, top=5, exclude_rows={row})
        if grade in ("certain", "probable"):
            result.linked += 1
            if found and found[0].person_id == person:
                result.agreed += 1
            else:
                result.note("disagreed", record["unique_id"])
        elsewhere = [c for c in found if c.grade == "certain" and c.person_id != person]
        if elsewhere:
            result.certain_elsewhere += 1
            result.note("certain-elsewhere", record["unique_id"])
            kept_from = refused.get(record["unique_id"], set())
            if any(index.unique_ids[r] in kept_from for c in elsewhere
                   for r in index.rows_of_person(index.row_of(c.best_record) or 0).tolist()):
                result.certain_where_refused += 1
                result.note("certain-where-refused", record["unique_id"])
        alone = set(index.rows_of_person(row).tolist())
        result.absent += 1
        without = matcher.match(query, top=5, exclude_rows=alone)
        wanted = truth.get(record["unique_id"]) if truth is not None else None
        if any(c.grade == "certain" for c in without):
            result.absent_certain += 1
            result.note("absent-certain", record["unique_id"])
            if truth is not None and any(c.grade == "certain" and truth.get(c.best_record)
                                         != wanted for c in without):
                result.absent_false_certain += 1
                result.note("absent-false-certain", record["unique_id"])
        if truth is not None and any(c.grade == "certain" and truth.get(c.best_record)
                                     != wanted for c in (*found, *without)):
            result.false_certain += 1
            result.note("false-certain", record["unique_id"])
    return result
