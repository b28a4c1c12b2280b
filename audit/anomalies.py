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
from pathlib import Path
from typing import Any

import duckdb
import yaml

__all__ = [
    "NOT_YET_CHECKED",
    "AnomalyContext",
    "Finding",
    "WorkingHours",
    "load_working_hours",
    "not_checked",
    "run_anomaly_rules",
]

#: Rules that cannot run without an ``AnomalyContext`` (reported as not checked without one).
NOT_YET_CHECKED = {
    "self-family-colleague-lookups": "needs the staff register (kinlink audit staff add)",
    "explained-by-open-case": "needs the identity index's open cases",
}

#: Break-glass use must be reviewed by IG within this many days (the agreement's break_glass).
BREAK_GLASS_REVIEW_DAYS = 2


@dataclass(frozen=True)
class WorkingHours:
    """A team's normal hours, local time: ``start`` ≤ hour < ``end``; ``weekends`` if it works
    them. An emergency duty team or the police MASH desk is ``WorkingHours(0, 24, True)``."""

    start: int = 7
    end: int = 19
    weekends: bool = False

    def __post_init__(self) -> None:
        if not 0 <= self.start < self.end <= 24:
            raise ValueError(f"working hours {self.start}–{self.end} are not 0 ≤ start < end ≤ 24")


def load_working_hours(path: Path) -> dict[str, WorkingHours]:
    """Team hours from a YAML file an IG officer keeps: ``team: {start: 8, end: 18, weekends:
    false}``, a team being a role or an agency code. Errors name the file and the field."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ValueError(f"{path}: not readable YAML ({type(exc).__name__})") from exc
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping of team → hours")
    hours = {}
    for team, spec in data.items():
        if not isinstance(spec, dict) or set(spec) - {"start", "end", "weekends"}:
            raise ValueError(f"{path}: {team}: expected start, end and optionally weekends")
        for key, kind in (("start", int), ("end", int), ("weekends", bool)):
            if key in spec and type(spec[key]) is not kind:
                raise ValueError(f"{path}: {team}.{key}: expected {kind.__name__}")
        try:
            hours[str(team)] = WorkingHours(spec.get("start", 7), spec.get("end", 19),
                                            spec.get("weekends", False))
        except ValueError as exc:
            raise ValueError(f"{path}: {team}: {exc}") from exc
    return hours


@dataclass(frozen=True)
class AnomalyContext:
    """Facts from outside the trail. ``open_cases``: person IDs with an open case or referral;
    ``staff``: user ID → that member of staff's own person ID; ``families``: person → the persons
    in their families; ``working_hours``: a team (a role, or else an agency code) → its hours,
    others keep ``default_hours``; ``timezone``: where those hours are kept (events are UTC, but a
    07:30 start in British Summer Time is 06:30 UTC)."""

    open_cases: frozenset[str] = frozenset()
    staff: dict[str, str] | None = None
    families: dict[str, frozenset[str]] | None = None
    working_hours: dict[str, WorkingHours] | None = None
    default_hours: WorkingHours = WorkingHours()
    timezone: str = "Europe/London"


@dataclass(frozen=True)
class Finding:
    rule: str
    who: str | None
    detail: str
    count: int
    first_seq: int | None = None


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
    return con.execute(sql, params).fetchall()


def _out_of_hours(con: duckdb.DuckDBPyConnection, since: dt.datetime, explained: list[str],
                  context: AnomalyContext) -> list[Finding]:
    """Reads outside the reader's team hours (its role's, else its agency's, else the default),
    judged on the local clock."""
    # VALUES needs at least one row: the first is one no role or agency can match.
    teams = [("\x00", -1, -1, False)] + [(team, h.start, h.end, h.weekends)
                                         for team, h in (context.working_hours or {}).items()]
    default = context.default_hours
    rows = _rows(con, f"""
        WITH hours(team, start_h, end_h, weekends) AS (
                 VALUES {", ".join(["(?, ?, ?, ?)"] * len(teams))}),
             reads AS (
                 SELECT seq, coalesce(user_id, json_extract_string(event_json, '$.client_id'))
                            AS who,
                        json_extract_string(event_json, '$.role') AS role, agency,
                        timezone(?, recorded_at) AS local_time
                 FROM audit_events
                 WHERE recorded_at >= ? AND event_type IN ('PatientRead', 'PatientQuery')
                   AND NOT list_contains(?, coalesce(subject_person_id, ''))),
             judged AS (
                 SELECT reads.*, coalesce(r.start_h, a.start_h, ?) AS start_h,
                        coalesce(r.end_h, a.end_h, ?) AS end_h,
                        coalesce(r.weekends, a.weekends, ?) AS weekends
                 FROM reads LEFT JOIN hours r ON r.team = reads.role
                            LEFT JOIN hours a ON a.team = reads.agency)
        SELECT who, count(*), min(seq) FROM judged
        WHERE hour(local_time) < start_h OR hour(local_time) >= end_h
           OR (NOT weekends AND dayofweek(local_time) IN (0, 6))
        GROUP BY 1 ORDER BY 2 DESC""",
                 [v for team in teams for v in team]
                 + [context.timezone, since, explained, default.start, default.end,
                    default.weekends])
    return [Finding("out-of-hours", w, f"{n} reads outside their team's hours "
                                       f"({context.timezone})", n, s) for w, n, s in rows]


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


def _break_glass(con: duckdb.DuckDBPyConnection, since: dt.datetime,
                 now: dt.datetime) -> list[Finding]:
    """Every break-glass use not yet reviewed; overdue when older than the review window.

    ``now`` is passed in, never read from the clock here, so that a report on an old copy of the
    trail (and every test) judges "overdue" against the moment it is asked about."""
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
        SELECT who, recorded_at < CAST(? AS TIMESTAMPTZ) - to_days(?) AS overdue, count(*),
               min(seq)
        FROM used WHERE seq NOT IN (SELECT seq FROM reviewed WHERE seq IS NOT NULL)
        GROUP BY 1, 2 ORDER BY 2 DESC, 3 DESC""", [since, now, BREAK_GLASS_REVIEW_DAYS])
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
                      context: AnomalyContext | None = None,
                      now: dt.datetime | None = None) -> list[Finding]:
    """Every rule over events recorded since ``since`` (default: the 30 days before ``now``).

    ``now`` is the moment the report is about; only the outermost caller (a route, the CLI) may
    leave it to the wall clock."""
    now = now or dt.datetime.now(dt.UTC)
    since = since or (now - dt.timedelta(days=30))
    explained = sorted(context.open_cases) if context else []
    findings = []
    for name, rule in RULES.items():
        if name == "out-of-hours":
            findings += rule(con, since, explained, context or AnomalyContext())
        elif name == "volume-spike":
            findings += rule(con, since, explained)
        elif name == "break-glass":
            findings += rule(con, since, now)
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
