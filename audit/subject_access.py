"""The subject-access report: who accessed this child's records, when and why.

What a person may be told (information-governance.md): the dates, purposes and recipient
organisations of each disclosure — not the staff member's name. An event whose subject-access flag
is ``defer_until:<date>`` (set while a s47 enquiry is open) is withheld until that date, and one
flagged ``exempt:<basis>`` is withheld; both are counted, so the report says that something was
withheld without saying what.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

import duckdb

__all__ = ["SubjectAccessReport", "subject_access_report"]


@dataclass
class SubjectAccessReport:
    person_id: str
    entries: list[dict[str, Any]] = field(default_factory=list)
    deferred: int = 0
    exempt: int = 0


def subject_access_report(con: duckdb.DuckDBPyConnection, person_id: str,
                          today: dt.date | None = None) -> SubjectAccessReport:
    today = today or dt.date.today()
    report = SubjectAccessReport(person_id)
    rows = con.execute(
        "SELECT event_json FROM audit_events WHERE subject_person_id = ? AND outcome = 'permit' "
        "ORDER BY seq", [person_id]).fetchall()
    for (text,) in rows:
        event = json.loads(text)
        flag = str(event.get("subject_access") or "standard")
        if flag.startswith("defer_until:"):
            try:
                until = dt.date.fromisoformat(flag.split(":", 1)[1])
            except ValueError:
                until = dt.date.max
            if until > today:
                report.deferred += 1
                continue
        elif flag.startswith("exempt:"):
            report.exempt += 1
            continue
        report.entries.append({
            "date": str(event.get("recorded_at", ""))[:10],
            "recorded_at": event.get("recorded_at"),
            "organisation": event.get("agency"),
            "purpose": event.get("purpose"),
            "lawful_basis": event.get("lawful_basis") or [],
            "categories": event.get("categories_released") or [],
            "action": event.get("event_type"),
        })
    return report
