"""Apply a policy decision to a person's records: release exactly what it permits, show the rest
as withheld with the clause, never silently drop anything.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict
from typing import Any

from linkage.index.reader import PersonRecord
from policies import Decision

__all__ = ["REFUSAL_TEXT", "decision_summary", "disclose", "refusal_body", "refusal_summary",
           "subject_age", "withheld_list"]

#: What every refusal says, whatever refused it. The specific reason ("restricted-marker:adoption")
#: would itself disclose the secret the refusal protects — that a child is adopted, or holds a
#: gender recognition certificate — so it is kept in the audit event only, for IG.
REFUSAL_TEXT = "not available for this purpose"

#: Decision details that name a restricted marker (``second-approver:refuge-address``): kept in
#: the audit event, never sent.
_MARKER_OBLIGATIONS = ("second-approver:",)


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
    what is held, because which agencies know a child is itself personal data. A category a
    restricted marker redacted is shown withheld, but not which marker did it."""
    if decision.effect != "permit":
        return []
    return [asdict(w) if not w.clause.startswith("marker")
            else {**asdict(w), "clause": "restricted", "reason": REFUSAL_TEXT}
            for w in decision.withheld]


def refusal_summary() -> dict[str, Any]:
    """The decision part of every refusal: the same words whichever rule refused."""
    return {"effect": "deny", "reasons": [REFUSAL_TEXT]}


def refusal_body(**extra: Any) -> dict[str, Any]:
    """The body of a refusal for the JSON API (the FHIR route puts ``REFUSAL_TEXT`` in its
    OperationOutcome): generic text, nothing about the subject, nothing about why."""
    return {"detail": REFUSAL_TEXT, "decision": refusal_summary(), **extra}


def decision_summary(decision: Decision) -> dict[str, Any]:
    """What a caller is told about the decision: for a permit, the clauses and obligations that
    bind them (less anything naming a marker); for a refusal, only the generic refusal."""
    if decision.effect != "permit":
        return refusal_summary()
    return {"effect": decision.effect, "matched_rules": decision.matched_rules,
            "reasons": decision.reasons, "lawful_basis": decision.lawful_basis,
            "obligations": [o for o in decision.obligations
                            if not o.startswith(_MARKER_OBLIGATIONS)],
            "break_glass": decision.break_glass,
            "policy": {"id": decision.policy_bundle_id, "version": decision.policy_version}}
