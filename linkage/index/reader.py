"""Read access to the identity index for the gateway and the pages: the small typed interface
they use instead of reaching into linkage internals.

A person view must answer in about a millisecond, and DuckDB spends several on each small join,
so the reader loads what a view needs into memory once per link run: the persons table as a
dict, and every linked record as one Arrow table sorted by person with each person's row range.
For a million records that is a few hundred megabytes, columnar, not a million Python objects.

The index is replaced whole by each link run; the reader notices a new one (a DuckDB file by
inode and modification time, a PostgreSQL index by its generation number, checked at most every
``recheck_seconds``) and loads it before the next read. On PostgreSQL, the rarer queries run on an
in-memory DuckDB replica of the generation, so they are the same SQL on either engine.
"""

from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa

from linkage.index.store import IndexNotFound
from stores.database import PostgresLocation, StoreLocation, parse_location
from stores.memo import BoundedMemo

__all__ = ["OPEN_CASE_STATUSES", "IdentityIndex", "PersonRecord"]

#: How many persons' built records a snapshot keeps (``IdentityIndex.records``): about 4 KB
#: each for the bench's population (two records a person), so some 80 MB at most.
BUILT_PERSONS = 20_000

#: Case-status values that mean a case is open (compared case-insensitively).
OPEN_CASE_STATUSES = frozenset({"open", "active", "allocated", "referral"})

_RECORDS_SQL = """
SELECT l.person_id, l.source, l.record_id, s.agency, l.match_grade, l.match_probability,
       s.nhs_number, s.upn, s.local_id, s.given_name, s.middle_names, s.family_name, s.dob,
       s.sex, s.postcode, s.address, s.attributes, {schema_3}
FROM record_links l JOIN source_records s USING (unique_id)
ORDER BY l.person_id, l.source, l.record_id
"""
#: The ``source_records`` columns index schema 3 added (issue 16). An index written before it
#: (a live file or generation no run has replaced yet) is read with them null, not refused: the
#: gateway keeps serving through the upgrade.
_SCHEMA_3 = ("former_upn", "former_family_name", "uprn", "expected_dob")
_IDENTITY = ("nhs_number", "upn", "local_id", "given_name", "middle_names", "family_name", "dob",
             "sex", "former_upn", "former_family_name", "expected_dob")
_ADDRESS = ("postcode", "address", "uprn")


@dataclass(frozen=True)
class PersonRecord:
    source: str
    record_id: str
    agency: str
    match_grade: str
    match_probability: float | None
    identity: dict[str, Any]
    address: dict[str, Any]
    attributes: dict[str, Any]
    attribute_categories: dict[str, str] = field(default_factory=dict)

    @property
    def restriction(self) -> str | None:
        value = self.attributes.get("restriction")
        return value or None


@dataclass(frozen=True)
class _Snapshot:
    """One link run's index, as loaded: immutable, so readers never need a lock."""

    stamp: tuple[int, int] | int
    persons: dict[str, tuple[str, str | None]]      # person_id → (status, survivor_id)
    records: pa.Table
    ranges: dict[str, tuple[int, int]]              # person_id → (first row, row count)
    categories: dict[str, dict[str, str]]           # source → column → category
    con: duckdb.DuckDBPyConnection                  # for the rarer queries (families)
    #: person_id → their records as built once from ``records`` (see ``IdentityIndex.records``)
    built: BoundedMemo[str, tuple[PersonRecord, ...]] = field(
        default_factory=lambda: BoundedMemo(BUILT_PERSONS))


def _load(con: duckdb.DuckDBPyConnection, stamp: tuple[int, int] | int) -> _Snapshot:
    persons = {r[0]: (r[1], r[2]) for r in con.execute(
        "SELECT person_id, status, survivor_id FROM persons").fetchall()}
    present = {r[0] for r in con.execute(
        "SELECT column_name FROM duckdb_columns() WHERE database_name = current_database() "
        "AND schema_name = 'main' AND table_name = 'source_records'").fetchall()}
    schema_3 = ", ".join(f"s.{c}" if c in present else f"NULL::VARCHAR AS {c}"
                         for c in _SCHEMA_3)
    table = con.sql(_RECORDS_SQL.format(schema_3=schema_3)).to_arrow_table()
    ranges: dict[str, tuple[int, int]] = {}
    if table.num_rows:
        ids = np.asarray(table.column("person_id").to_pylist(), dtype=object)
        starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])
        counts = np.diff(np.r_[starts, len(ids)])
        ranges = {ids[s]: (int(s), int(n)) for s, n in zip(starts, counts, strict=True)}
    categories: dict[str, dict[str, str]] = {}
    for source, column, category in con.execute(
        "SELECT source, column_name, category FROM attribute_categories"
    ).fetchall():
        categories.setdefault(source, {})[column] = category
    return _Snapshot(stamp, persons, table, ranges, categories, con)


class IdentityIndex:
    def __init__(self, path: str | Path | StoreLocation, recheck_seconds: float = 1.0) -> None:
        self.location = parse_location(path)
        #: the DuckDB file, or the PostgreSQL location (its ``str`` has no password)
        self.path: Path | PostgresLocation = (
            self.location if isinstance(self.location, PostgresLocation) else self.location.path)
        self.recheck_seconds = recheck_seconds
        self._lock = threading.Lock()
        self._snapshot: _Snapshot | None = None
        self._checked = 0.0

    def _current(self) -> _Snapshot:
        snapshot = self._snapshot
        now = time.monotonic()
        if snapshot is not None and now - self._checked < self.recheck_seconds:
            return snapshot
        with self._lock:
            if isinstance(self.location, PostgresLocation):
                self._refresh_postgres(self.location)
            else:
                self._refresh_file(self.location.path)
            self._checked = now
            assert self._snapshot is not None
            return self._snapshot

    def _refresh_file(self, path: Path) -> None:
        try:
            stat = os.stat(path)
        except FileNotFoundError as exc:
            raise IndexNotFound(f"no identity index at {path}") from exc
        stamp = (stat.st_ino, stat.st_mtime_ns)
        if self._snapshot is None or self._snapshot.stamp != stamp:
            self._replace(_load(duckdb.connect(str(path), read_only=True), stamp))

    def _refresh_postgres(self, location: PostgresLocation) -> None:
        from linkage.index.replica import current_number, replicate

        number = current_number(location)
        if number is None:
            raise IndexNotFound(f"no identity index at {location.redacted}")
        if self._snapshot is None or self._snapshot.stamp != number:
            replica = replicate(location)
            loaded = int(replica.execute(
                "SELECT value FROM meta WHERE key = 'generation'").fetchall()[0][0])
            self._replace(_load(replica, loaded))

    def _replace(self, snapshot: _Snapshot) -> None:
        previous = self._snapshot
        self._snapshot = snapshot
        if previous is not None:
            previous.con.close()

    def resolve(self, person_id: str) -> str | None:
        """The active person an ID means now: itself, or the survivor it was merged into."""
        persons = self._current().persons
        seen: set[str] = set()
        current: str | None = person_id
        while current is not None and current not in seen:
            seen.add(current)
            entry = persons.get(current)
            if entry is None:
                return None
            status, survivor = entry
            if status == "active":
                return current
            current = survivor
        return None

    def former_ids(self, person_id: str) -> list[str]:
        """Every retired ID that now resolves to ``person_id`` (merged into it, directly or via
        another retired ID): the child's whole lineage, for reports about everything recorded
        under any ID the child has had."""
        persons = self._current().persons
        return sorted(other for other, (status, _) in persons.items()
                      if status != "active" and other != person_id
                      and self.resolve(other) == person_id)

    def records(self, person_id: str) -> list[PersonRecord]:
        """The person's linked records (a new list each call; the records are shared, read-only).

        Built from the Arrow table once per person per snapshot and kept with the snapshot:
        building them (a row slice to Python, the attributes' JSON parsed) was a tenth of a
        person view's Python time, paid again for every view and every family member decided.
        The snapshot never changes, so neither can what was built from it; a link run brings a
        new snapshot with an empty store. The store is bounded (``BUILT_PERSONS``): past that it
        is emptied and fills again with the persons asked about next."""
        snapshot = self._current()
        built = snapshot.built.get(person_id)
        if built is None:
            built = self._build(snapshot, person_id)
            if not built:
                # An ID the index does not hold is not worth remembering: a prober's stream of
                # made-up IDs would empty the memory of the persons actually asked about.
                return []
            snapshot.built.keep(person_id, built)
        return list(built)

    @staticmethod
    def _build(snapshot: _Snapshot, person_id: str) -> tuple[PersonRecord, ...]:
        span = snapshot.ranges.get(person_id)
        if span is None:
            return ()
        rows = snapshot.records.slice(span[0], span[1]).to_pylist()
        return tuple(
            PersonRecord(
                source=r["source"], record_id=r["record_id"], agency=r["agency"],
                match_grade=r["match_grade"], match_probability=r["match_probability"],
                identity={k: r[k] for k in _IDENTITY},
                address={k: r[k] for k in _ADDRESS},
                attributes=json.loads(r["attributes"]) if r["attributes"] else {},
                attribute_categories=snapshot.categories.get(r["source"], {}),
            )
            for r in rows
        )

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A read-only cursor on the current index, for queries the in-memory view does not hold."""
        return self._current().con.cursor()

    def agencies_of(self, unique_ids: list[str]) -> dict[str, tuple[str, str]]:
        """unique_id → (agency, person_id) for the records named."""
        rows = self.cursor().execute(
            "SELECT s.unique_id, s.agency, l.person_id FROM source_records s "
            "JOIN record_links l USING (unique_id) WHERE s.unique_id IN (SELECT unnest(?))",
            [unique_ids],
        ).fetchall()
        return {r[0]: (r[1], r[2]) for r in rows}

    def case_open(self, person_id: str,
                  open_values: frozenset[str] = OPEN_CASE_STATUSES) -> bool | None:
        """Whether this person's case is open, from their records' case-status fields; None
        when no record of theirs carries one (then nobody here knows, and a subject-access
        entry deferred "while the case is open" stays deferred)."""
        known = False
        for record in self.records(person_id):
            for column, category in record.attribute_categories.items():
                if category != "case-status" or column not in record.attributes:
                    continue
                known = True
                if str(record.attributes[column]).strip().lower() in open_values:
                    return True
        return False if known else None

    def open_case_persons(self,
                          open_values: frozenset[str] = OPEN_CASE_STATUSES) -> frozenset[str]:
        """Persons with a record whose case-status category says the case is open: accesses to
        them are explained by the case (the IG anomaly rules filter those out first)."""
        snapshot = self._current()
        status_columns = {(source, column) for source, columns in snapshot.categories.items()
                          for column, category in columns.items() if category == "case-status"}
        if not status_columns:
            return frozenset()
        rows = self.cursor().execute(
            "SELECT l.person_id, s.source, s.attributes FROM record_links l "
            "JOIN source_records s USING (unique_id) WHERE s.source IN (SELECT unnest(?))",
            [sorted({source for source, _ in status_columns})]).fetchall()
        found = set()
        for person, source, attributes in rows:
            values = json.loads(attributes) if attributes else {}
            if any(str(values.get(column, "")).strip().lower() in open_values
                   for src, column in status_columns if src == source):
                found.add(person)
        return frozenset(found)

    def families(self) -> dict[str, frozenset[str]]:
        """Each person → everyone sharing a family with them (for family look-up checks)."""
        rows = self.cursor().execute("SELECT family_id, person_id FROM family_members").fetchall()
        members: dict[str, set[str]] = {}
        for family, person in rows:
            members.setdefault(family, set()).add(person)
        out: dict[str, set[str]] = {}
        for group in members.values():
            for person in group:
                out.setdefault(person, set()).update(group - {person})
        return {person: frozenset(others) for person, others in out.items()}

    def review_queue_length(self) -> int:
        row = self.cursor().execute("SELECT count(*) FROM review_candidates").fetchone()
        return int(row[0]) if row else 0

    def family_of(self, person_id: str) -> list[dict[str, Any]]:
        cur = self._current().con.cursor()
        rows = cur.execute(
            """SELECT m.family_id, m.person_id, m.role, m.basis,
                      strftime(m.valid_from, '%Y-%m-%d'), strftime(m.valid_to, '%Y-%m-%d')
               FROM family_members m
               WHERE m.family_id IN (SELECT family_id FROM family_members WHERE person_id = ?)
               ORDER BY m.role, m.person_id""",
            [person_id],
        ).fetchall()
        return [{"family_id": r[0], "person_id": r[1], "role": r[2], "basis": r[3],
                 "member_since": r[4], "member_until": r[5]} for r in rows]
