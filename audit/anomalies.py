"""IG anomaly rules from information-governance.md, each a query over the trail.

Each rule returns rows an IG officer should look at, with the rule's name and why. Rules that need
facts the trail does not hold (team rotas, staff-to-person relationships, open cases) say so in
``NOT_YET_CHECKED`` rather than pretending.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import duckdb

__all__ = ["NOT_YET_CHECKED", "Finding", "run_anomaly_rules"]

#: Rules listed in information-governance.md that need data outside the audit trail.
NOT_YET_CHECKED = {
    "self-family-colleague-lookups": "needs staff identities linked to persons in the index",
    "explained-by-open-case": "needs open cases and referrals from children's social care",
    "overdue-break-glass-review": "needs the break-glass review queue (IG pages)",
}


@dataclass(frozen=True)
class Finding:
    rule: str
    who: str | None
    detail: str
    count: int
    first_seq: int | None = None


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
    return con.execute(sql, params).fetchall()


def _out_of_hours(con: duckdb.DuckDBPyConnection, since: dt.datetime,
                  start: int = 7, end: int = 19) -> list[Finding]:
    rows = _rows(con, """
        SELECT coalesce(user_id, json_extract_string(event_json, '$.client_id')) AS who,
               count(*), min(seq)
        FROM audit_events
        WHERE recorded_at >= ? AND event_type IN ('PatientRead', 'PatientQuery')
          AND (hour(recorded_at) < ? OR hour(recorded_at) >= ? OR dayofweek(recorded_at) IN (0, 6))
        GROUP BY 1 ORDER BY 2 DESC""", [since, start, end])
    return [Finding("out-of-hours", w, f"{n} reads outside {start}:00–{end}:00 or at weekends",
                    n, s) for w, n, s in rows]


def _volume_spike(con: duckdb.DuckDBPyConnection, since: dt.datetime,
                  factor: float = 3.0, minimum: int = 20) -> list[Finding]:
    rows = _rows(con, """
        WITH daily AS (
            SELECT coalesce(user_id, json_extract_string(event_json, '$.client_id')) AS who,
                   CAST(recorded_at AS DATE) AS day, count(*) AS n
            FROM audit_events WHERE event_type IN ('PatientRead', 'PatientQuery') GROUP BY 1, 2),
        own AS (SELECT who, day, n, avg(n) OVER (PARTITION BY who ORDER BY day
                   ROWS BETWEEN 30 PRECEDING AND 1 PRECEDING) AS own_mean FROM daily),
        peers AS (SELECT day, median(n) AS peer_median FROM daily GROUP BY day)
        SELECT own.who, own.day, own.n, own.own_mean, peers.peer_median
        FROM own JOIN peers USING (day)
        WHERE own.day >= CAST(? AS DATE) AND own.n >= ?
          AND own.n > ? * coalesce(own.own_mean, 0) AND own.n > ? * peers.peer_median
        ORDER BY own.n DESC""", [since, minimum, factor, factor])
    return [Finding("volume-spike", w, f"{n} reads on {d}: own mean {m or 0:.0f}, "
                                       f"peers' median {p:.0f}", n) for w, d, n, m, p in rows]


def _break_glass(con: duckdb.DuckDBPyConnection, since: dt.datetime) -> list[Finding]:
    rows = _rows(con, """
        SELECT coalesce(user_id, json_extract_string(event_json, '$.client_id')), count(*), min(seq)
        FROM audit_events WHERE recorded_at >= ?
          AND json_extract(event_json, '$.break_glass')::BOOLEAN GROUP BY 1 ORDER BY 2 DESC""",
                 [since])
    return [Finding("break-glass", w, f"{n} break-glass accesses to review", n, s)
            for w, n, s in rows]


def _consent_overrides(con: duckdb.DuckDBPyConnection, since: dt.datetime,
                       threshold: int = 5) -> list[Finding]:
    rows = _rows(con, """
        SELECT coalesce(user_id, json_extract_string(event_json, '$.client_id')), count(*), min(seq)
        FROM audit_events WHERE recorded_at >= ?
          AND json_extract_string(event_json, '$.consent_override_reason') IS NOT NULL
        GROUP BY 1 HAVING count(*) >= ? ORDER BY 2 DESC""", [since, threshold])
    return [Finding("consent-override-frequency", w, f"{n} consent overrides", n, s)
            for w, n, s in rows]


def _purpose_mismatch(con: duckdb.DuckDBPyConnection, since: dt.datetime) -> list[Finding]:
    rows = _rows(con, """
        SELECT json_extract_string(event_json, '$.client_id'), purpose, count(*), min(seq)
        FROM audit_events WHERE recorded_at >= ? AND outcome = 'deny'
          AND json_extract_string(event_json, '$.detail') IN
              ('purpose not granted to client', 'unknown purpose')
        GROUP BY 1, 2 ORDER BY 3 DESC""", [since])
    return [Finding("purpose-mismatch", w, f"{n} requests naming purpose {p!r} it may not use",
                    n, s) for w, p, n, s in rows]


def _searches_without_follow_on(con: duckdb.DuckDBPyConnection, since: dt.datetime,
                                threshold: int = 10) -> list[Finding]:
    rows = _rows(con, """
        WITH q AS (SELECT seq, coalesce(user_id, json_extract_string(event_json, '$.client_id'))
                          AS who, subject_person_id AS subject, recorded_at
                   FROM audit_events WHERE recorded_at >= ? AND event_type = 'PatientQuery'
                     AND subject_person_id IS NOT NULL),
             r AS (SELECT coalesce(user_id, json_extract_string(event_json, '$.client_id'))
                          AS who, subject_person_id AS subject, recorded_at
                   FROM audit_events WHERE event_type = 'PatientRead')
        SELECT q.who, count(*), min(q.seq) FROM q
        WHERE NOT EXISTS (SELECT 1 FROM r WHERE r.who = q.who AND r.subject = q.subject
                          AND r.recorded_at BETWEEN q.recorded_at
                                                AND q.recorded_at + INTERVAL 1 DAY)
        GROUP BY 1 HAVING count(*) >= ? ORDER BY 2 DESC""", [since, threshold])
    return [Finding("searches-without-follow-on", w,
                    f"{n} search results never opened within a day", n, s) for w, n, s in rows]


def _id_probing(con: duckdb.DuckDBPyConnection, since: dt.datetime,
                threshold: int = 5) -> list[Finding]:
    rows = _rows(con, """
        SELECT coalesce(user_id, json_extract_string(event_json, '$.client_id')),
               date_trunc('hour', recorded_at) AS hour, count(*), min(seq)
        FROM audit_events WHERE recorded_at >= ? AND http_status_is_404
        GROUP BY 1, 2 HAVING count(*) >= ? ORDER BY 3 DESC""".replace(
        "http_status_is_404", "json_extract(event_json, '$.http_status')::INTEGER = 404"),
                 [since, threshold])
    return [Finding("id-probing", w, f"{n} look-ups of IDs that do not exist in the hour from "
                                     f"{h}", n, s) for w, h, n, s in rows]


def _restricted_attempts(con: duckdb.DuckDBPyConnection, since: dt.datetime) -> list[Finding]:
    rows = _rows(con, """
        SELECT coalesce(user_id, json_extract_string(event_json, '$.client_id')), count(*), min(seq)
        FROM audit_events WHERE recorded_at >= ? AND outcome = 'deny'
          AND json_extract_string(event_json, '$.reasons') LIKE '%restricted-marker%'
        GROUP BY 1 ORDER BY 2 DESC""", [since])
    return [Finding("restricted-marker-attempts", w, f"{n} refused reads of restricted records",
                    n, s) for w, n, s in rows]


RULES: dict[str, Callable[[duckdb.DuckDBPyConnection, dt.datetime], list[Finding]]] = {
    "out-of-hours": _out_of_hours,
    "volume-spike": _volume_spike,
    "break-glass": _break_glass,
    "consent-override-frequency": _consent_overrides,
    "purpose-mismatch": _purpose_mismatch,
    "searches-without-follow-on": _searches_without_follow_on,
    "id-probing": _id_probing,
    "restricted-marker-attempts": _restricted_attempts,
}


def run_anomaly_rules(con: duckdb.DuckDBPyConnection,
                      since: dt.datetime | None = None) -> list[Finding]:
    since = since or (dt.datetime.now(dt.UTC) - dt.timedelta(days=30))
    return [finding for rule in RULES.values() for finding in rule(con, since)]
