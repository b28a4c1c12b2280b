"""Read access to the identity index for the gateway and the pages: the small typed interface
they use instead of reaching into linkage internals.

The index file is replaced whole by each link run; the reader notices a new file (by inode and
modification time) and reopens, so a long-running gateway always serves the latest run.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from linkage.index.store import IndexNotFound

__all__ = ["IdentityIndex", "PersonRecord"]


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


class IdentityIndex:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._con: duckdb.DuckDBPyConnection | None = None
        self._stamp: tuple[int, int] | None = None

    def _connection(self) -> duckdb.DuckDBPyConnection:
        try:
            stat = os.stat(self.path)
        except FileNotFoundError as exc:
            raise IndexNotFound(f"no identity index at {self.path}") from exc
        stamp = (stat.st_ino, stat.st_mtime_ns)
        with self._lock:
            if self._con is None or stamp != self._stamp:
                if self._con is not None:
                    self._con.close()
                self._con = duckdb.connect(str(self.path), read_only=True)
                self._stamp = stamp
            return self._con.cursor()

    def resolve(self, person_id: str) -> str | None:
        """The active person an ID means now: itself, or the survivor it was merged into."""
        con = self._connection()
        seen: set[str] = set()
        current = person_id
        while current not in seen:
            seen.add(current)
            rows = con.execute(
                "SELECT status, survivor_id FROM persons WHERE person_id = ?", [current]
            ).fetchall()
            if not rows:
                return None
            status, survivor = rows[0]
            if status == "active":
                return current
            if survivor is None:
                return None
            current = survivor
        return None

    def records(self, person_id: str) -> list[PersonRecord]:
        con = self._connection()
        rows = con.execute(
            """SELECT l.source, l.record_id, s.agency, l.match_grade, l.match_probability,
                      s.nhs_number, s.upn, s.local_id, s.given_name, s.middle_names,
                      s.family_name, s.dob, s.sex, s.postcode, s.address, s.attributes
               FROM record_links l JOIN source_records s USING (unique_id)
               WHERE l.person_id = ? ORDER BY l.source, l.record_id""",
            [person_id],
        ).fetchall()
        categories: dict[str, dict[str, str]] = {}
        for source, column, category in con.execute(
            "SELECT source, column_name, category FROM attribute_categories"
        ).fetchall():
            categories.setdefault(source, {})[column] = category
        out = []
        for r in rows:
            out.append(PersonRecord(
                source=r[0], record_id=r[1], agency=r[2], match_grade=r[3], match_probability=r[4],
                identity={"nhs_number": r[5], "upn": r[6], "local_id": r[7], "given_name": r[8],
                          "middle_names": r[9], "family_name": r[10], "dob": r[11], "sex": r[12]},
                address={"postcode": r[13], "address": r[14]},
                attributes=json.loads(r[15]) if r[15] else {},
                attribute_categories=categories.get(r[0], {}),
            ))
        return out

    def family_of(self, person_id: str) -> list[dict[str, Any]]:
        con = self._connection()
        rows = con.execute(
            """SELECT m.family_id, m.person_id, m.role, m.basis FROM family_members m
               WHERE m.family_id IN (SELECT family_id FROM family_members WHERE person_id = ?)
               ORDER BY m.role, m.person_id""",
            [person_id],
        ).fetchall()
        return [{"family_id": r[0], "person_id": r[1], "role": r[2], "basis": r[3]} for r in rows]
