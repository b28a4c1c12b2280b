"""Reviewer decisions, kept beside the identity index, never inside it.

A decision is a governance record, not a linkage output: it must survive every re-run, retrain and
index swap, and a decision taken while a link run is in progress must not be lost when that run's
new index replaces the old one. So decisions live in ``<index stem>.decisions.duckdb`` (on
PostgreSQL: the ``review_decisions`` table of the index's database, outside every generation), are
only ever appended (a reversal is a new row pointing at the old one; PostgreSQL refuses an update
or a delete outright), and every run reads them afresh. Both stores are versioned by migrations
(component ``decisions``); a file from before the ledger is recognised as version 1.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import duckdb
import pandas as pd

from stores.database import PostgresLocation, StoreLocation, parse_location, postgres_pool
from stores.layout import InstallLayout
from stores.migrations import migrate

__all__ = ["Decision", "DecisionStore", "decisions_path_for"]

COMPONENT = "decisions"

Verdict = Literal["same", "different", "unsure"]
VERDICTS: tuple[str, ...] = ("same", "different", "unsure")

_COLUMNS = ["decision_id", "unique_id_l", "unique_id_r", "decision", "decided_by", "agency",
            "decided_at", "reason", "reverses"]


def decisions_path_for(db: str | Path | StoreLocation) -> Path | PostgresLocation:
    """Where the decisions of the index at ``db`` live: a sibling file, or the same database."""
    where = parse_location(db)
    if isinstance(where, PostgresLocation):
        return where
    return InstallLayout(where.path).decisions


@dataclass(frozen=True)
class Decision:
    decision_id: str
    unique_id_l: str
    unique_id_r: str
    decision: str
    decided_by: str
    agency: str | None
    reason: str


_migrated: set[str] = set()


class DecisionStore:
    def __init__(self, path: str | Path | StoreLocation) -> None:
        where = parse_location(path)
        self.location = where
        self.path: Path | PostgresLocation = (
            where if isinstance(where, PostgresLocation) else where.path)

    @contextlib.contextmanager
    def _connect(self, read_only: bool = False) -> Iterator[Any]:
        """A DuckDB connection, or a pooled psycopg one inside a transaction (``?`` works on
        both: the PostgreSQL statements are rewritten by ``_sql``)."""
        if isinstance(self.location, PostgresLocation):
            with postgres_pool(self.location, purpose="decisions").connection() as con:
                if self.location.url not in _migrated:
                    _migrate_postgres(con)
                    _migrated.add(self.location.url)
                with con.transaction():
                    yield con
            return
        local = duckdb.connect(str(self.path), read_only=read_only)
        try:
            if not read_only:
                migrate(local, COMPONENT, "linkage.review", "duckdb")
            yield local
        finally:
            local.close()

    def _sql(self, statement: str) -> str:
        return statement.replace("?", "%s") if isinstance(self.location, PostgresLocation) \
            else statement

    def record(
        self, left: str, right: str, decision: str, decided_by: str, agency: str | None, reason: str
    ) -> Decision:
        if decision not in VERDICTS:
            raise ValueError(f"decision must be one of {', '.join(VERDICTS)}, not {decision!r}")
        if not reason.strip():
            raise ValueError("a decision needs a reason")
        if left == right:
            raise ValueError("a decision needs two different records")
        left, right = sorted((left, right))
        made = Decision(
            f"D{uuid.uuid4().hex[:12].upper()}",
            left,
            right,
            decision,
            decided_by,
            agency,
            reason.strip(),
        )
        with self._connect() as con:
            con.execute(
                self._sql("INSERT INTO review_decisions VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL)"),
                [
                    made.decision_id,
                    left,
                    right,
                    decision,
                    decided_by,
                    agency,
                    datetime.now(UTC),
                    made.reason,
                ],
            )
        return made

    def reverse(self, decision_id: str, decided_by: str, agency: str | None, reason: str) -> str:
        """Withdraw a decision with a decision of its own (who, when, why); nothing is deleted."""
        with self._connect() as con:
            found = con.execute(
                self._sql("SELECT unique_id_l, unique_id_r FROM review_decisions "
                          "WHERE decision_id = ?"),
                [decision_id],
            ).fetchall()
            if not found:
                raise KeyError(f"no decision {decision_id}")
            new_id = f"D{uuid.uuid4().hex[:12].upper()}"
            con.execute(
                self._sql("INSERT INTO review_decisions VALUES (?, ?, ?, 'reversed', ?, ?, ?, ?, ?)"),
                [
                    new_id,
                    found[0][0],
                    found[0][1],
                    decided_by,
                    agency,
                    datetime.now(UTC),
                    reason,
                    decision_id,
                ],
            )
        return new_id

    def all(self) -> pd.DataFrame:
        if isinstance(self.location, PostgresLocation):
            with self._connect() as con:
                rows = con.execute(
                    "SELECT decision_id, unique_id_l, unique_id_r, decision, decided_by, agency, "
                    "to_char(decided_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || '+00', "
                    "reason, reverses FROM review_decisions ORDER BY decided_at, decision_id"
                ).fetchall()
            return pd.DataFrame(rows, columns=_COLUMNS)
        if not self.location.path.exists():
            return pd.DataFrame(columns=_COLUMNS)
        with self._connect(read_only=True) as con:
            return con.execute(
                "SELECT decision_id, unique_id_l, unique_id_r, decision, decided_by, agency, "
                "CAST(decided_at AS VARCHAR) AS decided_at, reason, reverses "
                "FROM review_decisions ORDER BY decided_at"
            ).df()

    def active(self) -> pd.DataFrame:
        """Decisions in force: not reversed, and the latest per pair from each agency."""
        every = self.all()
        reversed_ids = set(every["reverses"].dropna())
        standing = every[
            (every["decision"] != "reversed") & ~every["decision_id"].isin(reversed_ids)
        ]
        return standing.drop_duplicates(["unique_id_l", "unique_id_r", "agency"], keep="last")

    def conflicts(self) -> pd.DataFrame:
        """Pairs on which standing decisions disagree: surfaced for a person, never auto-resolved."""
        standing = self.active()
        firm = standing[standing["decision"].isin(["same", "different"])]
        counts = firm.groupby(["unique_id_l", "unique_id_r"])["decision"].nunique()
        disputed = counts[counts > 1].index
        keyed = firm.set_index(["unique_id_l", "unique_id_r"])
        return keyed.loc[keyed.index.isin(disputed)].reset_index()


def _migrate_postgres(con: Any) -> None:
    """One process at a time: several gateway workers may open the store together."""
    import hashlib

    key = int.from_bytes(hashlib.sha256(b"kinlink decisions: migrations").digest()[:8], "big",
                         signed=True)
    con.autocommit = True
    try:
        con.execute("SELECT pg_advisory_lock(%s)", [key])
        try:
            migrate(con, COMPONENT, "linkage.review", "postgresql")
        finally:
            con.execute("SELECT pg_advisory_unlock(%s)", [key])
    finally:
        con.autocommit = False
