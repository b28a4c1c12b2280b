"""For IG officers: search the audit trail, a child's subject-access report, the anomaly rules.

Reading the trail is itself recorded in the trail. Only roles named in ``IG_ROLES`` may do it, and
only under the ``ig-oversight`` purpose from the sharing agreement.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Body, HTTPException, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from audit import AuditQuery, run_anomaly_rules, search_events
from audit.anomalies import not_checked
from audit.staff import record_break_glass_review
from gateway.access import CallerDep, PurposeDep
from gateway.views import IG_ROLES, anomaly_context, ig_gate, subject_access_for

__all__ = ["IG_ROLES", "router"]

router = APIRouter(prefix="/v1/audit", tags=["information governance"])
NO_STORE = {"Cache-Control": "no-store"}


class ReviewFinding(BaseModel):
    """IG's finding on a break-glass access: free text, so in the body, never the URL."""

    finding: str = Field(min_length=10, max_length=2000)


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
    ig_gate(request, caller, ctx, subject, "audit search")
    events = search_events(request.app.state.audit.cursor(), AuditQuery(
        subject, user, client, agency, purpose_filter, outcome, since, until, limit, offset))
    return JSONResponse({"events": events}, headers=NO_STORE)


@router.get("/subject-access/{person_id}")
def subject_access(request: Request, caller: CallerDep, ctx: PurposeDep,
                   person_id: Annotated[str, PathParam(pattern=r"^[A-Za-z0-9]{6,32}$")]) -> JSONResponse:
    """Who accessed this child's records, when and why (deferred entries withheld, counted)."""
    ig_gate(request, caller, ctx, person_id, "subject-access report")
    return JSONResponse(asdict(subject_access_for(request, person_id)), headers=NO_STORE)


@router.get("/anomalies")
def anomalies(request: Request, caller: CallerDep, ctx: PurposeDep,
              since: dt.datetime | None = None) -> JSONResponse:
    """The IG anomaly rules' findings."""
    ig_gate(request, caller, ctx, None, "anomaly report")
    cursor = request.app.state.audit.cursor()
    context = anomaly_context(request, cursor)
    findings = run_anomaly_rules(cursor, since, context)
    return JSONResponse({"findings": [asdict(f) for f in findings],
                         "not_checked": not_checked(context)}, headers=NO_STORE)


@router.post("/break-glass/{seq}/review", status_code=201)
def review_break_glass(request: Request, caller: CallerDep, ctx: PurposeDep,
                       seq: Annotated[int, PathParam(ge=0)],
                       body: Annotated[ReviewFinding | None, Body()] = None,
                       finding: Annotated[str | None, Query(
                           min_length=10, max_length=2000,
                           description="Deprecated: send {\"finding\": …} in the body, which "
                                       "proxies do not log.")] = None,
                       ) -> JSONResponse:
    """Record IG's retrospective review of one break-glass access."""
    finding = body.finding if body is not None else finding
    if finding is None:
        raise HTTPException(422, "a finding (at least 10 characters) is required")
    ig_gate(request, caller, ctx, None, "break-glass review")
    try:
        record_break_glass_review(request.app.state.audit, seq,
                                  caller.user_id or caller.client_id, finding)
    except ValueError as exc:
        raise HTTPException(404, str(exc)) from exc
    return JSONResponse({"reviewed": seq}, 201, headers=NO_STORE)
