"""What an ID held, and when: time-bounded record links and family memberships, kept across runs.

Each run replaces the current tables (``record_links``, ``family_members``) but carries the
history forward: a row stays open while the record stays with the same person and family, is
closed (``valid_to``) by the run that moves or withdraws it, and closed rows are never rewritten.
With the lineage table and the persons/families tables (created, retired, survivor) this answers
"what did this ID contain on date D?".
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any

import duckdb

__all__ = ["Contents", "carry_history", "contents_at", "parse_moment"]


_RECORD_COLUMNS = "unique_id, source, record_id, person_id, family_id"
_RECORD_KEY = (
    "l.unique_id = h.unique_id AND l.person_id = h.person_id "
    "AND l.family_id IS NOT DISTINCT FROM h.family_id"
)
_MEMBER_KEY = "l.family_id = h.family_id AND l.person_id = h.person_id"


def carry_history(
    con: duckdb.DuckDBPyConnection, has_previous: bool, now: datetime, run_id: str
) -> None:
    """Write this run's history tables from the previous index's and this run's current links.

    An index written before the history tables existed seeds them from its current links, dated
    from when that run linked them: the earliest moment the index itself can vouch for.
    """
    _carry(
        con,
        table="record_link_history",
        current="record_links",
        columns=_RECORD_COLUMNS,
        key=_RECORD_KEY,
        seed=(
            f"SELECT {_RECORD_COLUMNS}, linked_at AS valid_from, NULL AS valid_to, "
            "NULL AS opened_by_run, NULL AS closed_by_run FROM previous.record_links"
        ),
        has_previous=has_previous,
        now=now,
        run_id=run_id,
    )
    member_columns = "family_id, person_id, role, basis"
    _carry(
        con,
        table="family_member_history",
        current="family_members",
        columns=member_columns,
        key=_MEMBER_KEY,
        seed=(
            f"SELECT {member_columns}, valid_from, NULL AS valid_to, NULL AS opened_by_run, "
            "NULL AS closed_by_run FROM previous.family_members"
        ),
        has_previous=has_previous,
        now=now,
        run_id=run_id,
    )
    # A membership that continues keeps the date it began, not the date of this run.
    con.execute(
        """
        UPDATE family_members AS m SET valid_from = h.valid_from
        FROM family_member_history AS h
        WHERE h.valid_to IS NULL AND h.family_id = m.family_id AND h.person_id = m.person_id
        """
    )


def _carry(
    con: duckdb.DuckDBPyConnection,
    *,
    table: str,
    current: str,
    columns: str,
    key: str,
    seed: str,
    has_previous: bool,
    now: datetime,
    run_id: str,
) -> None:
    opened = "incremental_history_open"
    if has_previous and _previous_has(con, table):
        con.execute(f"INSERT INTO {table} SELECT * FROM previous.{table} WHERE valid_to IS NOT NULL")
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {opened} AS "
            f"SELECT * FROM previous.{table} WHERE valid_to IS NULL"
        )
    elif has_previous:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {opened} AS {seed}")
    else:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {opened} AS SELECT * FROM {table} WHERE false")
    holds = f"EXISTS (SELECT 1 FROM {current} l WHERE {key})"
    con.execute(f"INSERT INTO {table} SELECT * FROM {opened} h WHERE {holds}")
    con.execute(
        f"""INSERT INTO {table}
            SELECT * REPLACE (CAST(? AS TIMESTAMPTZ) AS valid_to, ? AS closed_by_run)
            FROM {opened} h WHERE NOT {holds}""",
        [now, run_id],
    )
    con.execute(
        f"""INSERT INTO {table}
            SELECT {", ".join("l." + c.strip() for c in columns.split(","))},
                   CAST(? AS TIMESTAMPTZ), NULL, ?, NULL
            FROM {current} l
            WHERE NOT EXISTS (SELECT 1 FROM {opened} h WHERE {key})""",
        [now, run_id],
    )
    con.execute(f"DROP TABLE {opened}")


def _previous_has(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    row = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE database_name = 'previous' AND table_name = ?",
        [table],
    ).fetchall()
    return bool(row[0][0])


@dataclass
class Contents:
    """An ID at one moment: its standing then, what it held, and the lineage up to then."""

    entity_id: str
    kind: str  # person | family
    at: datetime
    status: str  # active | retired | not yet issued
    survivor_id: str | None
    #: person: the records it held (source, record_id, family_id, valid_from, valid_to);
    #: family: the persons it held (person_id, role, basis, valid_from, valid_to)
    held: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        return _jsonable(out)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    return value


def parse_moment(text: str) -> datetime:
    """``2026-03-01`` means the end of that day (UTC): "on date D" includes D's runs.

    A full ISO date-time is taken as given (UTC when it names no zone).
    """
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            return datetime.combine(day, time.max, tzinfo=UTC)
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise ValueError(
            f"--at {text!r}: expected a date (YYYY-MM-DD) or an ISO date-time"
        ) from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def contents_at(con: duckdb.DuckDBPyConnection, entity_id: str, at: datetime) -> Contents:
    """What ``entity_id`` (a person or family ID) contained at ``at``."""
    kind = "family" if entity_id.startswith("F") else "person"
    table, id_col = ("families", "family_id") if kind == "family" else ("persons", "person_id")
    row = con.execute(
        f"SELECT created_at, retired_at, survivor_id FROM {table} WHERE {id_col} = ?",
        [entity_id],
    ).fetchall()
    if not row:
        raise LookupError(f"no {kind} with ID {entity_id} in this index")
    created_at, retired_at, survivor_id = row[0]
    if at < created_at:
        status, survivor = "not yet issued", None
    elif retired_at is not None and retired_at <= at:
        status, survivor = "retired", survivor_id
    else:
        status, survivor = "active", None

    during = "valid_from <= ? AND (valid_to IS NULL OR valid_to > ?)"
    if kind == "person":
        held = con.execute(
            f"""SELECT source, record_id, family_id, valid_from, valid_to
                FROM record_link_history WHERE person_id = ? AND {during}
                ORDER BY source, record_id""",
            [entity_id, at, at],
        )
    else:
        held = con.execute(
            f"""SELECT person_id, role, basis, valid_from, valid_to
                FROM family_member_history WHERE family_id = ? AND {during}
                ORDER BY person_id""",
            [entity_id, at, at],
        )
    held_rows = _records(held)
    events = con.execute(
        """SELECT occurred_at, event, entity_id, other_id, reason, actor, run_id
           FROM lineage WHERE (entity_id = ? OR other_id = ?) AND occurred_at <= ?
           ORDER BY occurred_at, event_id""",
        [entity_id, entity_id, at],
    )
    return Contents(
        entity_id=entity_id,
        kind=kind,
        at=at,
        status=status,
        survivor_id=survivor,
        held=held_rows,
        events=_records(events),
    )


def _records(cursor: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    names = [d[0] for d in cursor.description or []]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
