"""Writing a link run's tables into the index being built.

Every table a run fills goes through one ``IndexWriter`` and its one bulk insert (register a frame →
``INSERT … SELECT`` → unregister), so the order of a frame's columns against the table's, and the
clean-up of the registered view when an insert fails, are decided in one place.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import duckdb
import numpy as np
import pandas as pd

from linkage.persons.outcomes import Outcome
from linkage.standardise.records import is_adoption_marked

__all__ = ["EntityIds", "IndexWriter", "LineageEventLike"]

#: The columns of ``source_records`` after ``unique_id``, in the table's order (the former
#: identifiers, UPRN and expected date of birth came in schema 3, so they follow ``attributes``).
_SOURCE_RECORD_COLUMNS = [
    "source", "record_id", "agency", "row_number", "nhs_number", "upn", "local_id", "given_name",
    "middle_names", "family_name", "dob", "sex", "postcode", "address", "attributes",
    "former_upn", "former_family_name", "uprn", "expected_dob",
]


class LineageEventLike(Protocol):
    """One lineage event as identity assignment makes it (``linkage.identity.carry_over``)."""

    @property
    def entity_id(self) -> str: ...
    @property
    def event(self) -> str: ...
    @property
    def other_id(self) -> str | None: ...
    @property
    def reason(self) -> str: ...
    @property
    def detail(self) -> dict[str, object]: ...


@dataclass(frozen=True)
class EntityIds:
    """What the index needs of one kind's ID assignment: IDs retired this run (→ survivor) and
    the lineage events the assignment made."""

    kind: str  # person | family
    retired: Mapping[str, str | None]
    events: Sequence[LineageEventLike]


class IndexWriter:
    """The tables of one link run, written into the building index ``con``."""

    def __init__(self, con: duckdb.DuckDBPyConnection, has_previous: bool) -> None:
        self.con = con
        self.has_previous = has_previous

    def insert(self, table: str, frame: pd.DataFrame) -> None:
        """Bulk-insert a frame whose columns are in the table's order (executemany is row by
        row, and a registered frame is read by DuckDB in place, without a copy)."""
        self.con.register("_insert_df", frame)
        try:
            self.con.execute(f"INSERT INTO {table} SELECT * FROM _insert_df")
        finally:
            self.con.unregister("_insert_df")

    def source_records(self, canonical: pd.DataFrame, ingest: Any) -> None:
        """The records as read, their attribute categories, relationships and rejected fields."""
        frame = canonical[_SOURCE_RECORD_COLUMNS].copy()
        frame.insert(0, "unique_id", frame["source"] + ":" + frame["record_id"])
        # An adopted child's former UPN and surname are the pre-adoption identity: kept in the
        # index, they would let a query join the two records linkage must keep apart.
        adopted = frame["attributes"].map(is_adoption_marked).astype(bool)
        frame.loc[adopted, ["former_upn", "former_family_name"]] = None
        self.insert("source_records", frame)
        categories = pd.DataFrame(
            [(source, column, category)
             for source, mapping in ingest.attribute_categories.items()
             for column, category in mapping.items()],
            columns=["source", "column_name", "category"],
        )
        if len(categories):
            self.insert("attribute_categories", categories)
        if len(ingest.relationships):
            self.insert("relationships", ingest.relationships[
                ["source", "record_id", "related_record_id", "relationship"]])
        if ingest.rejects:
            self.insert("rejects", pd.DataFrame({
                "file": [str(r.file) for r in ingest.rejects],
                "row_number": [r.row for r in ingest.rejects],
                "field": [r.field for r in ingest.rejects],
                "problem": [r.problem for r in ingest.rejects],
            }))

    def record_features(self, features: pd.DataFrame,
                        create: Callable[[duckdb.DuckDBPyConnection, str], None]) -> None:
        """The standardised features, created from the frame by ``create`` (given the frame's
        registered name), which adds the columns computed over the whole table (blocking's
        small-block flags) in the same statement, so the records are written once; their
        columns follow the standardisers and blocking, not a migration."""
        self.con.register("_features_df", features)
        try:
            create(self.con, "_features_df")
        finally:
            self.con.unregister("_features_df")

    def record_links(self, links: pd.DataFrame) -> None:
        self.insert("record_links", links)

    def carry_lineage(self) -> None:
        """Lineage outlives every run: the previous index's events come first."""
        if self.has_previous:
            self.con.execute("INSERT INTO lineage SELECT * FROM previous.lineage")

    def entities(
        self, ids: EntityIds, ids_of_records: pd.Series, now: datetime, run_id: str
    ) -> None:
        """Active IDs with their record counts, retired IDs still pointing at their survivor,
        and this run's lineage events for the kind."""
        table = "persons" if ids.kind == "person" else "families"
        id_col = "person_id" if ids.kind == "person" else "family_id"
        count_col = "record_count" if ids.kind == "person" else "member_count"
        counts = ids_of_records.value_counts()
        created: dict[str, object] = {}
        carried: pd.DataFrame | None = None
        if self.has_previous:
            carried = self.con.execute(f"SELECT * FROM previous.{table}").df()
            created = dict(zip(carried[id_col], carried["created_at"], strict=True))
        active = pd.DataFrame(
            {
                id_col: counts.index.astype(str),
                "status": "active",
                "created_at": [created.get(i, now) for i in counts.index],
                "retired_at": pd.NaT,
                "survivor_id": None,
                count_col: counts.to_numpy().astype(np.int32),
            }
        )
        self.insert(table, active)
        if carried is not None:
            still_retired = carried[
                (carried["status"] == "retired") & ~carried[id_col].isin(active[id_col])
            ]
            newly = carried[carried[id_col].isin(list(ids.retired))].copy()
            newly["status"] = "retired"
            newly["retired_at"] = now
            newly["survivor_id"] = newly[id_col].map(ids.retired)
            keep = pd.concat([still_retired, newly], ignore_index=True)
            keep = keep[~keep[id_col].isin(active[id_col])]
            if len(keep):
                self.insert(table, keep)
        self._lineage(ids, now, run_id)

    def _lineage(self, ids: EntityIds, now: datetime, run_id: str) -> None:
        events = ids.events
        if not events:
            return
        start = self.con.execute("SELECT coalesce(max(event_id), 0) FROM lineage").fetchall()[0][0]
        self.insert("lineage", pd.DataFrame(
            {
                "event_id": np.arange(start + 1, start + 1 + len(events), dtype=np.int64),
                "occurred_at": now,
                "run_id": run_id,
                "entity_type": ids.kind,
                "entity_id": [e.entity_id for e in events],
                "event": [e.event for e in events],
                "other_id": [e.other_id for e in events],
                "reason": [e.reason for e in events],
                "actor": "kinlink link",
                "detail": [json.dumps(e.detail) if e.detail else None for e in events],
            }
        ))

    def family_members(
        self, links: pd.DataFrame, dob_year: pd.Series, basis: Mapping[str, str], now: datetime
    ) -> None:
        """One row per person in each family: child or adult by the latest year of birth any of
        their records gives (as of this run), and the evidence that put them there."""
        frame = pd.DataFrame({"family_id": links["family_id"], "person_id": links["person_id"],
                              "year": dob_year.astype("Float64")})
        per_person = frame.groupby(["family_id", "person_id"], as_index=False)["year"].max()
        age = (now.year - per_person["year"]).astype("float64")  # NaN where no date of birth
        per_person["role"] = np.where(np.isnan(age), "unknown",
                                      np.where(age < 18, "child", "adult"))
        per_person["basis"] = per_person["person_id"].map(basis).fillna("alone")
        per_person["valid_from"] = now
        per_person["valid_to"] = pd.NaT
        self.insert("family_members", per_person[
            ["family_id", "person_id", "role", "basis", "valid_from", "valid_to"]])

    def edges(self, edges: pd.DataFrame, unique_ids: np.ndarray, review_threshold: float) -> None:
        """Scored (and rule-implied) pairs with their outcome, then the review queue drawn from
        them: uncertain pairs that ended in different persons, ambiguous records held back, and
        strong pairs a constraint blocked, where a reviewer can confirm the constraint was right.
        Pairs agreeing only on what a household shares (siblings) are not worth a reviewer's
        time."""
        self.insert("person_edges", pd.DataFrame(
            {
                "unique_id_l": unique_ids[edges["left_idx"].to_numpy()],
                "unique_id_r": unique_ids[edges["right_idx"].to_numpy()],
                "match_weight": edges["match_weight"].to_numpy(),
                "match_probability": edges["match_probability"].to_numpy(),
                "personal_evidence": edges["personal_evidence"].to_numpy(dtype=bool),
                "outcome": edges["outcome"].to_numpy(),
            }
        ))
        self.con.execute(
            """
            INSERT INTO review_candidates
            SELECT e.unique_id_l, e.unique_id_r, e.match_probability, e.match_weight,
                   CASE WHEN e.outcome = 'below_threshold' THEN 'uncertain' ELSE e.outcome END
            FROM person_edges e
            JOIN record_links a ON a.unique_id = e.unique_id_l
            JOIN record_links b ON b.unique_id = e.unique_id_r
            WHERE a.person_id <> b.person_id
              AND (e.personal_evidence OR e.outcome = ?)
              AND e.match_probability >= ?
              AND e.outcome <> 'constraint:cannot-link'
            """,
            [Outcome.REVIEW_GIVEN_NAME_ONLY.value, review_threshold],
        )

    def review_count(self) -> int:
        return int(self.con.execute("SELECT count(*) FROM review_candidates").fetchall()[0][0])

    def meta(self, key: str, value: str) -> None:
        self.con.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", [key, value])

    def run(self, run_id: str, started: datetime, finished: datetime, sources: str,
            model: str, summary: Mapping[str, Any]) -> None:
        """The run's own row, and the index's pointer to its latest run."""
        self.con.execute("INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?)",
                         [run_id, started, finished, sources, model, json.dumps(summary)])
        self.meta("last_run_id", run_id)
