"""Reviewer decisions, kept in their own file beside the identity index.

A decision is a governance record, not a linkage output: it must survive every re-run, retrain and
index swap, and a decision taken while a link run is in progress must not be lost when that run's
new index replaces the old one. So decisions live in ``<index stem>.decisions.duckdb``, are only
ever appended (a reversal is a new row pointing at the old one), and every run reads them afresh.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import duckdb
import pandas as pd

__all__ = ["Decision", "DecisionStore", "decisions_path_for"]

Verdict = Literal["same", "different", "unsure"]
VERDICTS: tuple[str, ...] = ("same", "different", "unsure")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS review_decisions (
    decision_id VARCHAR PRIMARY KEY,
    unique_id_l VARCHAR NOT NULL,
    unique_id_r VARCHAR NOT NULL,
    decision VARCHAR NOT NULL,
    decided_by VARCHAR NOT NULL,
    agency VARCHAR,
    decided_at TIMESTAMPTZ NOT NULL,
    reason VARCHAR NOT NULL,
    reverses VARCHAR
);
"""


def decisions_path_for(db_path: Path) -> Path:
    return db_path.with_name(f"{db_path.stem}.decisions.duckdb")


@dataclass(frozen=True)
class Decision:
    decision_id: str
    unique_id_l: str
    unique_id_r: str
    decision: str
    decided_by: str
    agency: str | None
    reason: str


class DecisionStore:
    def __init__(self, path: Path) -> None:
        self.path = path

    @contextlib.contextmanager
    def _connect(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        con = duckdb.connect(str(self.path), read_only=read_only)
        try:
            if not read_only:
                con.execute(_SCHEMA)
            yield con
        finally:
            con.close()

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
                "INSERT INTO review_decisions VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL)",
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
                "SELECT unique_id_l, unique_id_r FROM review_decisions WHERE decision_id = ?",
                [decision_id],
            ).fetchall()
            if not found:
                raise KeyError(f"no decision {decision_id}")
            new_id = f"D{uuid.uuid4().hex[:12].upper()}"
            con.execute(
                "INSERT INTO review_decisions VALUES (?, ?, ?, 'reversed', ?, ?, ?, ?, ?)",
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
        if not self.path.exists():
            return pd.DataFrame(
                columns=[
                    "decision_id",
                    "unique_id_l",
                    "unique_id_r",
                    "decision",
                    "decided_by",
                    "agency",
                    "decided_at",
                    "reason",
                    "reverses",
                ]
            )
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
