"""A person's linked records, who knows them, and their family: each limited to what the purpose
permits and audited before it is sent."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import JSONResponse

from audit import AuditEvent
from gateway.access import (
    CallerDep,
    PersonAccess,
    PurposeDep,
    base_event,
    decide_for_person,
    decision_fields,
    write_audit,
)
from gateway.disclosure import decision_summary, disclose, withheld_list

__all__ = ["router"]

router = APIRouter(prefix="/v1/persons", tags=["persons"])

PERSON_ID = r"^[A-Za-z0-9]{6,32}$"
NO_STORE = {"Cache-Control": "no-store"}
PersonId = Annotated[str, PathParam(pattern=PERSON_ID, description="A person ID (retired IDs resolve).")]


def _status(access: PersonAccess) -> int:
    return 200 if access.decision.effect == "permit" else 403


def _subject_event(request: Request, caller: Any, ctx: Any, access: PersonAccess,
                   record_count: int, detail: str | None = None) -> AuditEvent:
    return AuditEvent(event_type="PatientRead", outcome=access.decision.effect,
                      subject_person_id=access.person_id, record_count=record_count,
                      http_status=_status(access), detail=detail,
                      **{**base_event(request, caller, ctx), **decision_fields(access.decision)})


@router.get("/{person_id}")
def person_view(
    request: Request,
    person_id: PersonId,
    caller: CallerDep,
    ctx: PurposeDep,
    categories: Annotated[str | None, Query(max_length=500, pattern=r"^[a-z0-9,-]+$",
                                            description="Comma-separated categories wanted "
                                                        "(minimisation); default all permitted.")] = None,
) -> JSONResponse:
    """A person's linked records, limited to the categories the purpose permits, with what is withheld."""
    wanted = frozenset(categories.split(",")) if categories else None
    access = decide_for_person(request, caller, ctx, person_id, categories=wanted)
    released = disclose(access.records, access.decision) if access.decision.effect == "permit" else []
    write_audit(request, [_subject_event(request, caller, ctx, access, len(released))])
    return JSONResponse({
        "person_id": access.person_id, "requested_id": person_id,
        "decision": decision_summary(access.decision), "records": released,
        "withheld": withheld_list(access.decision),
    }, _status(access), headers=NO_STORE)


@router.get("/{person_id}/involvements")
def who_knows(
    request: Request,
    person_id: PersonId,
    caller: CallerDep,
    ctx: PurposeDep,
) -> JSONResponse:
    """Who knows this child: each agency and service involved and, where permitted, named contacts."""
    access = decide_for_person(request, caller, ctx, person_id,
                               categories=frozenset({"involvements", "professionals"}))
    involved: dict[str, dict[str, Any]] = {}
    if access.decision.effect == "permit":
        for record in access.records:
            allowed = access.decision.permitted.get(record.agency, frozenset())
            if "involvements" not in allowed:
                continue
            entry = involved.setdefault(record.agency, {
                "agency": record.agency, "records": [], "contacts": {},
            })
            entry["records"].append({"source": record.source, "record_id": record.record_id,
                                     "match_grade": record.match_grade})
            if "professionals" in allowed:
                for column, value in record.attributes.items():
                    if record.attribute_categories.get(column) == "professionals" and value:
                        entry["contacts"].setdefault(column, sorted(
                            {*entry["contacts"].get(column, []), str(value)}))
    count = sum(len(e["records"]) for e in involved.values())
    write_audit(request, [_subject_event(request, caller, ctx, access, count, "involvements")])
    return JSONResponse({
        "person_id": access.person_id, "decision": decision_summary(access.decision),
        "involved": list(involved.values()), "withheld": withheld_list(access.decision),
    }, _status(access), headers=NO_STORE)


@router.get("/{person_id}/family")
def family_view(
    request: Request,
    person_id: PersonId,
    caller: CallerDep,
    ctx: PurposeDep,
) -> JSONResponse:
    """The person's family and household: members, roles and how each membership was inferred.

    Each member returned is another person disclosed, so each gets its own audit event (one per
    subject, as BALP asks), written together with the subject's before the answer leaves.
    """
    access = decide_for_person(request, caller, ctx, person_id, categories=frozenset({"family"}))
    allowed = access.decision.effect == "permit" and any(
        "family" in cats for cats in access.decision.permitted.values())
    members = request.app.state.index.family_of(access.person_id) if allowed else []
    base = {**base_event(request, caller, ctx), **decision_fields(access.decision)}
    status = 200 if allowed else 403
    events = [AuditEvent(event_type="PatientRead", outcome="permit" if allowed else "deny",
                         subject_person_id=access.person_id, record_count=len(members),
                         http_status=status, detail="family view", **base)]
    events += [AuditEvent(event_type="PatientRead", outcome="permit",
                          subject_person_id=m["person_id"], http_status=200,
                          detail="member in family view", **base)
               for m in members if m["person_id"] != access.person_id]
    write_audit(request, events)
    families = sorted({m["family_id"] for m in members})
    return JSONResponse({
        "person_id": access.person_id, "decision": decision_summary(access.decision),
        "families": [{"family_id": f, "members": [m for m in members if m["family_id"] == f]}
                     for f in families],
    }, status, headers=NO_STORE)
