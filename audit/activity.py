"""The shape of access over a period, for IG's charts: counts, never events.

"Who looked at children's records, how much, under which purpose" is a pattern before it is a
list: a spike of police reads on a Sunday, one user's break-glass every week, consent overridden
mostly for one reason. These queries count accesses to a subject (reads and searches that named a
child) per day by the accessing agency and by purpose, and break-glass and consent overrides by
user. The period is passed in, never read from the clock, so a report on an old copy of the trail
(and every test) counts the same days.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import duckdb

__all__ = ["Activity", "access_activity"]

#: Events that are an access to a child's records (not IG's own reads, not reviews).
ACCESS_TYPES = ("PatientRead", "PatientQuery", "PrivacyDisclosure")


@dataclass(frozen=True)
class Activity:
    days: tuple[str, ...]
    #: agency → one count per day, in ``days`` order
    by_agency: dict[str, tuple[int, ...]]
    #: purpose → one count per day
    by_purpose: dict[str, tuple[int, ...]]
    break_glass_by_user: tuple[tuple[str, int], ...]
    #: "user: reason" → count of accesses where consent was overridden
    consent_overrides: tuple[tuple[str, int], ...]


def _per_day(con: duckdb.DuckDBPyConnection, column: str, since: dt.datetime,
             until: dt.datetime, days: tuple[str, ...]) -> dict[str, tuple[int, ...]]:
    rows = con.execute(
        f"""SELECT coalesce({column}, '(none)'), strftime(recorded_at AT TIME ZONE 'UTC',
                   '%Y-%m-%d'), count(*)
            FROM audit_events
            WHERE recorded_at >= ? AND recorded_at < ? AND subject_person_id IS NOT NULL
              AND event_type IN {ACCESS_TYPES} AND outcome = 'permit'
            GROUP BY ALL""", [since, until]).fetchall()
    counts: dict[str, dict[str, int]] = {}
    for key, day, n in rows:
        counts.setdefault(key, {})[day] = n
    return {key: tuple(by_day.get(d, 0) for d in days) for key, by_day in sorted(counts.items())}


def access_activity(con: duckdb.DuckDBPyConnection, since: dt.date, until: dt.date) -> Activity:
    """Counts for the days from ``since`` up to and including ``until`` (UTC)."""
    if until < since:
        raise ValueError(f"the period ends ({until}) before it starts ({since})")
    start = dt.datetime.combine(since, dt.time(), dt.UTC)
    end = dt.datetime.combine(until + dt.timedelta(days=1), dt.time(), dt.UTC)
    days = tuple((since + dt.timedelta(days=i)).isoformat()
                 for i in range((until - since).days + 1))
    glass = con.execute(
        f"""SELECT coalesce(user_id, json_extract_string(event_json, '$.client_id')), count(*)
            FROM audit_events
            WHERE recorded_at >= ? AND recorded_at < ? AND event_type IN {ACCESS_TYPES}
              AND json_extract(event_json, '$.break_glass')::BOOLEAN
            GROUP BY 1 ORDER BY 2 DESC, 1""", [start, end]).fetchall()
    consent = con.execute(
        f"""SELECT coalesce(user_id, json_extract_string(event_json, '$.client_id')) || ': ' ||
                   json_extract_string(event_json, '$.consent_override_reason'), count(*)
            FROM audit_events
            WHERE recorded_at >= ? AND recorded_at < ? AND event_type IN {ACCESS_TYPES}
              AND json_extract_string(event_json, '$.consent_override_reason') IS NOT NULL
            GROUP BY 1 ORDER BY 2 DESC, 1""", [start, end]).fetchall()
    return Activity(days, _per_day(con, "agency", start, end, days),
                    _per_day(con, "purpose", start, end, days),
                    tuple((str(u), int(n)) for u, n in glass),
                    tuple((str(u), int(n)) for u, n in consent))
