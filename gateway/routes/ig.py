"""For IG officers: search the audit trail, a child's subject-access report, the anomaly rules.

Reading the trail is itself recorded in the trail. Only roles named in ``IG_ROLES`` may do it, and
only under the ``ig-oversight`` purpose from the sharing agreement.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import JSONResponse

from audit import AuditEvent, AuditQuery, run_anomaly_rules, search_events, subject_access_report
from audit.anomalies import AnomalyContext, not_checked
from audit.staff import read_staff_register, record_break_glass_review
from audit.subject_access import SubjectAccessReport
from gateway.access import CallerDep, PurposeDep, base_event, check_purpose, write_audit
from gateway.tokens import Caller
from gateway.users import IG_ROLES

__all__ = ["IG_ROLES", "router"]

router = APIRouter(prefix="/v1/audit", tags=["information governance"])
NO_STORE = {"Cache-Control": "no-store"}


def _gate(request: Request, caller: Caller, ctx: PurposeDep, subject: str | None,
          detail: str) -> None:
    check_purpose(request, caller, ctx, "AuthorizationDecision", subject)
    allowed = caller.role in IG_ROLES
    write_audit(request, [AuditEvent(
        event_type="AuthorizationDecision", outcome="permit" if allowed else "deny",
        subject_person_id=subject, http_status=200 if allowed else 403, detail=detail,
        **base_event(request, caller, ctx))])
    if not allowed:
        raise HTTPException(403, "the audit trail is for information governance roles")


@router.get("/events")
def audit_events(
    request: Request, caller: CallerDep, ctx: PurposeDep,
    subject: Annotated[str | None, Query(max_length=32)] = None,
    user: Annotated[str | None, Query(max_length=128)] = None,
    client: Annotated[str | None, Query(max_length=128)] = None,
    agency: Annotated[str | None, Query(max_length=64)] = None,
    purpose_filter: Annotated[str | None, Query(alias="of_purpose", max_length=64)] = None,
    outcome: Annotated[str | None, Query(pattern="^(permit|deny|error)$")] = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> JSONResponse:
    """Audit events matching every filter, newest first."""
    _gate(request, caller, ctx, subject, "audit search")
    events = search_events(request.app.state.audit.cursor(), AuditQuery(
        subject, user, client, agency, purpose_filter, outcome, since, until, limit, offset))
    return JSONResponse({"events": events}, headers=NO_STORE)


def subject_access_for(request: Request, person_id: str) -> SubjectAccessReport:
    """The child's report from the gateway's trail, deferrals decided by whether the index
    shows their case open (the API and the IG pages answer with the same report)."""
    return subject_access_report(request.app.state.audit.cursor(), person_id,
                                 case_open=request.app.state.index.case_open(person_id))


def anomaly_context(request: Request, cursor: Any) -> AnomalyContext:
    """What the anomaly rules know beyond the trail: open cases, the staff register, families."""
    index = request.app.state.index
    return AnomalyContext(open_cases=index.open_case_persons(),
                          staff=read_staff_register(cursor) or None, families=index.families())


@router.get("/subject-access/{person_id}")
def subject_access(request: Request, caller: CallerDep, ctx: PurposeDep,
                   person_id: Annotated[str, PathParam(pattern=r"^[A-Za-z0-9]{6,32}$")]) -> JSONResponse:
    """Who accessed this child's records, when and why (deferred entries withheld, counted)."""
    _gate(request, caller, ctx, person_id, "subject-access report")
    return JSONResponse(asdict(subject_access_for(request, person_id)), headers=NO_STORE)


@router.get("/anomalies")
def anomalies(request: Request, caller: CallerDep, ctx: PurposeDep,
              since: dt.datetime | None = None) -> JSONResponse:
    """The IG anomaly rules' findings."""
    _gate(request, caller, ctx, None, "anomaly report")
    cursor = request.app.state.audit.cursor()
    context = anomaly_context(request, cursor)
    findings = run_anomaly_rules(cursor, since, context)
    return JSONResponse({"findings": [asdict(f) for f in findings],
                         "not_checked": not_checked(context)}, headers=NO_STORE)


@router.post("/break-glass/{seq}/review", status_code=201)
def review_break_glass(request: Request, caller: CallerDep, ctx: PurposeDep,
                       seq: Annotated[int, PathParam(ge=0)],
                       finding: Annotated[str, Query(min_length=10, max_length=2000)]
                       ) -> JSONResponse:
    """Record IG's retrospective review of one break-glass access."""
    _gate(request, caller, ctx, None, "break-glass review")
    try:
        record_break_glass_review(request.app.state.audit, seq,
                                  caller.user_id or caller.client_id, finding)
    except ValueError as exc:
        raise HTTPException(404, str(exc)) from exc
    return JSONResponse({"reviewed": seq}, 201, headers=NO_STORE)
