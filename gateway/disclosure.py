"""Apply a policy decision to a person's records: release exactly what it permits, show the rest
as withheld with the clause, never silently drop anything.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict
from typing import Any

from linkage.index.reader import PersonRecord
from policies import Decision

__all__ = ["decision_summary", "disclose", "subject_age", "withheld_list"]


def subject_age(records: list[PersonRecord], today: dt.date | None = None) -> int | None:
    """The youngest age any record gives: a child on one record is treated as a child."""
    today = today or dt.date.today()
    ages = []
    for record in records:
        dob = record.identity.get("dob")
        if dob:
            born = dt.date.fromisoformat(dob)
            ages.append(today.year - born.year - ((today.month, today.day) < (born.month, born.day)))
    return min(ages) if ages else None


def disclose(records: list[PersonRecord], decision: Decision) -> list[dict[str, Any]]:
    released = []
    for record in records:
        allowed = decision.permitted.get(record.agency, frozenset())
        if not allowed:
            continue
        item: dict[str, Any] = {"source": record.source, "record_id": record.record_id,
                                "agency": record.agency, "match_grade": record.match_grade,
                                "match_probability": record.match_probability}
        if "identity" in allowed:
            item["identity"] = {k: v for k, v in record.identity.items() if v is not None}
        if "address" in allowed:
            item["address"] = {k: v for k, v in record.address.items() if v is not None}
        data = {
            column: value for column, value in record.attributes.items()
            if record.attribute_categories.get(column) in allowed
        }
        if data:
            item["data"] = data
        released.append(item)
    return released


def withheld_list(decision: Decision) -> list[dict[str, str]]:
    """What was withheld and by which clause, for a permitted answer only: a refusal does not list
    what is held, because which agencies know a child is itself personal data."""
    if decision.effect != "permit":
        return []
    return [asdict(w) for w in decision.withheld]


def decision_summary(decision: Decision) -> dict[str, Any]:
    return {"effect": decision.effect, "matched_rules": decision.matched_rules,
            "reasons": decision.reasons, "lawful_basis": decision.lawful_basis,
            "obligations": decision.obligations, "break_glass": decision.break_glass,
            "policy": {"id": decision.policy_bundle_id, "version": decision.policy_version}}
