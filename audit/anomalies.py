"""IG anomaly rules from information-governance.md, each a query over the trail.

Each rule returns rows an IG officer should look at, with the rule's name and why. Three rules need
facts from outside the trail, passed in an ``AnomalyContext``: which children have an open case
(their accesses are explained, so they are filtered out of the volume and hours rules first), which
staff are themselves people in the index (self, family and colleague look-ups), and the family of
each person. Without the context those rules say they were not checked rather than pretending.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import duckdb

__all__ = ["NOT_YET_CHECKED", "AnomalyContext", "Finding", "not_checked", "run_anomaly_rules"]

#: Rules that cannot run without an ``AnomalyContext`` (reported as not checked without one).
NOT_YET_CHECKED = {
    "self-family-colleague-lookups": "needs the staff register (kinlink audit staff add)",
    "explained-by-open-case": "needs the identity index's open cases",
}

#: Break-glass use must be reviewed by IG within this many days (the agreement's break_glass).
BREAK_GLASS_REVIEW_DAYS = 2


@dataclass(frozen=True)
class AnomalyContext:
    """Facts from outside the trail. ``open_cases``: person IDs with an open case or referral;
    ``staff``: user ID → that member of staff's own person ID; ``families``: person → the persons
    in their families."""

    open_cases: frozenset[str] = frozenset()
    staff: dict[str, str] | None = None
    families: dict[str, frozenset[str]] | None = None


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
                  explained: list[str], start: int = 7, end: int = 19) -> list[Finding]:
    rows = _rows(con, """
        SELECT coalesce(user_id, json_extract_string(event_json, '$.client_id')) AS who,
               count(*), min(seq)
        FROM audit_events
        WHERE recorded_at >= ? AND event_type IN ('PatientRead', 'PatientQuery')
          AND NOT list_contains(?, coalesce(subject_person_id, ''))
          AND (hour(recorded_at) < ? OR hour(recorded_at) >= ? OR dayofweek(recorded_at) IN (0, 6))
        GROUP BY 1 ORDER BY 2 DESC""", [since, explained, start, end])
    return [Finding("out-of-hours", w, f"{n} reads outside {start}:00–{end}:00 or at weekends",
                    n, s) for w, n, s in rows]


def _volume_spike(con: duckdb.DuckDBPyConnection, since: dt.datetime, explained: list[str],
                  factor: float = 3.0, minimum: int = 20) -> list[Finding]:
    rows = _rows(con, """
        WITH daily AS (
            SELECT coalesce(user_id, json_extract_string(event_json, '$.client_id')) AS who,
                   CAST(recorded_at AS DATE) AS day, count(*) AS n
            FROM audit_events WHERE event_type IN ('PatientRead', 'PatientQuery')
              AND NOT list_contains(?, coalesce(subject_person_id, ''))
            GROUP BY 1, 2),
        own AS (SELECT who, day, n, avg(n) OVER (PARTITION BY who ORDER BY day
                   ROWS BETWEEN 30 PRECEDING AND 1 PRECEDING) AS own_mean FROM daily),
        peers AS (SELECT day, median(n) AS peer_median FROM daily GROUP BY day)
        SELECT own.who, own.day, own.n, own.own_mean, peers.peer_median
        FROM own JOIN peers USING (day)
        WHERE own.day >= CAST(? AS DATE) AND own.n >= ?
          AND own.n > ? * coalesce(own.own_mean, 0) AND own.n > ? * peers.peer_median
        ORDER BY own.n DESC""", [explained, since, minimum, factor, factor])
    return [Finding("volume-spike", w, f"{n} reads on {d}: own mean {m or 0:.0f}, "
                                       f"peers' median {p:.0f}", n) for w, d, n, m, p in rows]


def _break_glass(con: duckdb.DuckDBPyConnection, since: dt.datetime) -> list[Finding]:
    """Every break-glass use not yet reviewed; overdue when older than the review window."""
    rows = _rows(con, """
        WITH used AS (
            SELECT seq, recorded_at,
                   coalesce(user_id, json_extract_string(event_json, '$.client_id')) AS who
            FROM audit_events WHERE recorded_at >= ? AND event_type <> 'BreakGlass'
              AND json_extract(event_json, '$.break_glass')::BOOLEAN),
        reviewed AS (
            SELECT CAST(json_extract_string(event_json, '$.reference') AS BIGINT) AS seq
            FROM audit_events WHERE event_type = 'BreakGlass'
              AND json_extract_string(event_json, '$.detail') = 'break-glass reviewed')
        SELECT who, recorded_at < now() - to_days(?) AS overdue, count(*), min(seq)
        FROM used WHERE seq NOT IN (SELECT seq FROM reviewed WHERE seq IS NOT NULL)
        GROUP BY 1, 2 ORDER BY 2 DESC, 3 DESC""", [since, BREAK_GLASS_REVIEW_DAYS])
    return [Finding("overdue-break-glass-review" if overdue else "break-glass", w,
                    f"{n} break-glass accesses " + (
                        f"not reviewed within {BREAK_GLASS_REVIEW_DAYS} days" if overdue
                        else "awaiting IG review"), n, s)
            for w, overdue, n, s in rows]


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


def _self_family_colleague(con: duckdb.DuckDBPyConnection, since: dt.datetime,
                           context: AnomalyContext) -> list[Finding]:
    staff = context.staff or {}
    colleagues = set(staff.values())
    rows = _rows(con, """
        SELECT seq, user_id, subject_person_id FROM audit_events
        WHERE recorded_at >= ? AND user_id IS NOT NULL AND subject_person_id IS NOT NULL
          AND event_type IN ('PatientRead', 'PatientQuery')""", [since])
    counts: dict[tuple[str, str], list[int]] = {}
    for seq, user, subject in rows:
        own = staff.get(user)
        if own is not None and subject == own:
            kind = "own record"
        elif own is not None and subject in (context.families or {}).get(own, frozenset()):
            kind = "a family member's record"
        elif subject in colleagues:
            kind = "a colleague's record"
        else:
            continue
        counts.setdefault((user, kind), []).append(seq)
    return [Finding("self-family-colleague-lookups", user, f"{len(seqs)} reads of {kind}",
                    len(seqs), min(seqs)) for (user, kind), seqs in sorted(counts.items())]


RULES: dict[str, Callable[..., list[Finding]]] = {
    "out-of-hours": _out_of_hours,
    "volume-spike": _volume_spike,
    "break-glass": _break_glass,
    "consent-override-frequency": _consent_overrides,
    "purpose-mismatch": _purpose_mismatch,
    "searches-without-follow-on": _searches_without_follow_on,
    "id-probing": _id_probing,
    "restricted-marker-attempts": _restricted_attempts,
}


def run_anomaly_rules(con: duckdb.DuckDBPyConnection, since: dt.datetime | None = None,
                      context: AnomalyContext | None = None) -> list[Finding]:
    since = since or (dt.datetime.now(dt.UTC) - dt.timedelta(days=30))
    explained = sorted(context.open_cases) if context else []
    findings = []
    for name, rule in RULES.items():
        if name in ("out-of-hours", "volume-spike"):
            findings += rule(con, since, explained)
        else:
            findings += rule(con, since)
    if context is not None and context.staff is not None:
        findings += _self_family_colleague(con, since, context)
    return findings


def not_checked(context: AnomalyContext | None) -> dict[str, str]:
    """The rules this run could not apply, and what each would need."""
    missing = dict(NOT_YET_CHECKED)
    if context is not None and context.staff is not None:
        missing.pop("self-family-colleague-lookups")
    if context is not None and context.open_cases is not None and context.families is not None:
        missing.pop("explained-by-open-case")
    return missing
