"""Search the audit trail for an IG officer: by subject, user, client, agency, purpose, outcome and
time, newest first, paged. Functions take a DuckDB connection so the gateway can search through its
own open trail and the CLI through a read-only one."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

import duckdb

__all__ = ["AuditQuery", "search_events"]


@dataclass(frozen=True)
class AuditQuery:
    subject: str | None = None
    user: str | None = None
    client: str | None = None
    agency: str | None = None
    purpose: str | None = None
    outcome: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    limit: int = 100
    offset: int = 0


def search_events(con: duckdb.DuckDBPyConnection, query: AuditQuery) -> list[dict[str, Any]]:
    """Matching events as dicts (the event's own fields plus ``seq``), newest first."""
    where: list[str] = ["TRUE"]
    params: list[object] = []
    for column, value in (("subject_person_id", query.subject), ("user_id", query.user),
                          ("agency", query.agency), ("purpose", query.purpose),
                          ("outcome", query.outcome)):
        if value is not None:
            where.append(f"{column} = ?")
            params.append(value)
    if query.client is not None:
        where.append("json_extract_string(event_json, '$.client_id') = ?")
        params.append(query.client)
    if query.since is not None:
        where.append("recorded_at >= ?")
        params.append(query.since)
    if query.until is not None:
        where.append("recorded_at < ?")
        params.append(query.until)
    rows = con.execute(
        f"SELECT seq, event_json FROM audit_events WHERE {' AND '.join(where)} "
        "ORDER BY seq DESC LIMIT ? OFFSET ?",
        [*params, max(1, min(query.limit, 10_000)), max(0, query.offset)],
    ).fetchall()
    return [{"seq": seq, **json.loads(event)} for seq, event in rows]
