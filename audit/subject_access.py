"""The subject-access report: who accessed this child's records, when and why.

What a person may be told (information-governance.md): the dates, purposes and recipient
organisations of each disclosure — not the staff member's name. Some disclosures must not be told
yet: telling a parent that police read the child's record during an open s47 enquiry could
prejudice the enquiry. The event's subject-access flag says which:

- ``standard``: listed.
- ``defer_while_open``: withheld while the child's case is open. The policy layer normally turns
  this into a date (below); the raw flag is honoured too, and withheld unless the case is known to
  be closed, because telling too early cannot be undone and telling late can be corrected.
- ``defer_until:<date>``: withheld until that date, and for as long after it as the case is known
  to be still open.
- ``exempt:<basis>``: withheld (a DPA 2018 exemption applies).
- anything else: withheld as deferred, for the same reason as above — an unknown flag fails closed.

Withheld events are counted, so the report says that something was withheld without saying what.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import duckdb

__all__ = ["SubjectAccessReport", "access_withheld", "subject_access_report"]


@dataclass
class SubjectAccessReport:
    person_id: str
    entries: list[dict[str, Any]] = field(default_factory=list)
    deferred: int = 0
    exempt: int = 0


def access_withheld(flag: str, today: dt.date, case_open: bool | None = None) -> str | None:
    """``"deferred"`` or ``"exempt"`` when an event with this flag must be left out today, else
    None. ``case_open`` is whether the subject's case is open (None: not known)."""
    if flag == "standard":
        return None
    if flag.startswith("exempt:"):
        return "exempt"
    if flag == "defer_while_open":
        return None if case_open is False else "deferred"
    if flag.startswith("defer_until:"):
        try:
            until = dt.date.fromisoformat(flag.split(":", 1)[1])
        except ValueError:
            return "deferred"
        return "deferred" if until > today or case_open else None
    return "deferred"


def subject_access_report(con: duckdb.DuckDBPyConnection, person_id: str,
                          today: dt.date | None = None,
                          case_open: bool | None = None,
                          former_ids: Iterable[str] = ()) -> SubjectAccessReport:
    """The report for ``person_id`` from the trail behind ``con`` (the gateway's own cursor or a
    read-only connection). Only permitted accesses are listed: a refused request disclosed
    nothing.

    ``former_ids`` are the IDs later merged into this child (the identity index's lineage):
    accesses recorded under them were accesses to this child's records too, so they are in the
    report, in the order they happened."""
    today = today or dt.date.today()
    report = SubjectAccessReport(person_id)
    ids = [person_id, *sorted(set(former_ids) - {person_id})]
    marks = ", ".join(["?"] * len(ids))
    rows = con.execute(
        f"SELECT event_json FROM audit_events WHERE subject_person_id IN ({marks}) "
        "AND outcome = 'permit' ORDER BY seq", ids).fetchall()
    for (text,) in rows:
        event = json.loads(text)
        withheld = access_withheld(str(event.get("subject_access") or "standard"), today,
                                   case_open)
        if withheld == "deferred":
            report.deferred += 1
            continue
        if withheld == "exempt":
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
