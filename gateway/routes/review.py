"""Clerical review over the API: the queue in impact order, a pair side by side, and decisions.

Reviewing is itself a purpose in the sharing agreement (``identity-review``), so who may review,
and which categories a reviewer sees, is the IG officer's decision in the policy file, not code.
A decision is stored exactly as ``kinlink review decide`` stores it and binds the next link run.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from audit import AuditEvent
from gateway.access import (
    CallerDep,
    PurposeContext,
    PurposeDep,
    base_event,
    check_purpose,
    decision_fields,
    write_audit,
)
from gateway.disclosure import decision_summary
from gateway.tokens import Caller
from linkage.review.decisions import DecisionStore, decisions_path_for
from linkage.review.queue import pair_side_by_side, review_queue
from policies import AccessRequest, Decision

__all__ = ["router"]

router = APIRouter(prefix="/v1/review", tags=["review"])
NO_STORE = {"Cache-Control": "no-store"}
RECORD_KEY = r"^[A-Za-z0-9_.-]{1,64}:[A-Za-z0-9_.-]{1,64}$"
IDENTITY_FIELDS = ("nhs_number", "upn", "local_id", "given_name", "middle_names", "family_name",
                   "dob", "sex")


class ReviewDecisionIn(BaseModel):
    left: str = Field(pattern=RECORD_KEY, description="source:record_id of one record")
    right: str = Field(pattern=RECORD_KEY)
    decision: Literal["same", "different", "unsure"]
    reason: str = Field(min_length=5, max_length=2000)


def _decide(request: Request, caller: Caller, ctx: PurposeContext,
            agencies: frozenset[str]) -> Decision:
    return request.app.state.policies.decide(AccessRequest(
        purpose=ctx.purpose, role=caller.role, party=caller.agency, client_id=caller.client_id,
        user_id=caller.user_id, source_parties=agencies,
        requested_categories=frozenset({"identity", "address"}),
        justification=ctx.justification, reference=ctx.reference))


def _events(request: Request, caller: Caller, ctx: PurposeContext, decision: Decision,
            subjects: list[str], event_type: str, status: int, action: str = "R",
            detail: str | None = None) -> list[AuditEvent]:
    base = {**base_event(request, caller, ctx), **decision_fields(decision)}
    outcome = "permit" if status < 400 else "deny"
    return [AuditEvent(event_type=event_type, action=action, outcome=outcome,  # type: ignore[arg-type]
                       subject_person_id=s, http_status=status, detail=detail, **base)
            for s in dict.fromkeys(subjects)] or [
        AuditEvent(event_type=event_type, action=action, outcome=outcome,  # type: ignore[arg-type]
                   http_status=status, detail=detail, **base)]


def _refuse(request: Request, caller: Caller, ctx: PurposeContext, decision: Decision,
            subjects: list[str], event_type: str) -> JSONResponse:
    write_audit(request, _events(request, caller, ctx, decision, subjects, event_type, 403))
    return JSONResponse({"decision": decision_summary(decision)}, 403, headers=NO_STORE)


@router.get("/queue")
def queue(request: Request, caller: CallerDep, ctx: PurposeDep,
          limit: Annotated[int, Query(ge=1, le=200)] = 50) -> JSONResponse:
    """Uncertain pairs, children first, then by how many records a wrong answer would affect."""
    check_purpose(request, caller, ctx, "PatientQuery", None)
    index = request.app.state.index
    decided = DecisionStore(decisions_path_for(request.app.state.settings.db_path)).active()
    items = review_queue(index.cursor(), limit=limit, decided=decided)
    subjects = [*items["person_l"].tolist(), *items["person_r"].tolist()] if len(items) else []
    agencies = frozenset(a for a, _ in index.agencies_of(
        [*items["unique_id_l"].tolist(), *items["unique_id_r"].tolist()]).values())
    decision = _decide(request, caller, ctx, agencies or frozenset({caller.agency}))
    if decision.effect != "permit":
        return _refuse(request, caller, ctx, decision, subjects, "PatientQuery")
    write_audit(request, _events(request, caller, ctx, decision, subjects, "PatientQuery", 200,
                                 detail="review queue"))
    body: list[dict[str, Any]] = [{
        "item": int(r.item), "left": r.unique_id_l, "right": r.unique_id_r,
        "person_left": r.person_l, "person_right": r.person_r,
        "match_probability": round(float(r.match_probability), 6), "reason": r.reason,
        "records_affected": int(r.records_affected), "involves_child": bool(r.involves_child),
    } for r in items.itertuples()]
    return JSONResponse({"items": body, "decision": decision_summary(decision)},
                        headers=NO_STORE)


@router.get("/pair")
def pair(request: Request, caller: CallerDep, ctx: PurposeDep,
         left: Annotated[str, Query(pattern=RECORD_KEY)],
         right: Annotated[str, Query(pattern=RECORD_KEY)]) -> JSONResponse:
    """Two records side by side, each field marked agree, differ or missing."""
    check_purpose(request, caller, ctx, "PatientRead", None)
    index = request.app.state.index
    owners = index.agencies_of([left, right])
    if left not in owners or right not in owners:
        raise HTTPException(404, "no such record in the identity index")
    subjects = [owners[left][1], owners[right][1]]
    decision = _decide(request, caller, ctx, frozenset({owners[left][0], owners[right][0]}))
    if decision.effect != "permit":
        return _refuse(request, caller, ctx, decision, subjects, "PatientRead")
    shown = {"agency"}
    both = [decision.permitted.get(owners[k][0], frozenset()) for k in (left, right)]
    if all("identity" in p for p in both):
        shown |= set(IDENTITY_FIELDS)
    if all("address" in p for p in both):
        shown |= {"postcode", "address"}
    table = pair_side_by_side(index.cursor(), left, right)
    fields = [{"field": r.field, "left": None if r.left != r.left else r.left,
               "right": None if r.right != r.right else r.right, "comparison": r.comparison}
              for r in table.itertuples() if r.field in shown]
    write_audit(request, _events(request, caller, ctx, decision, subjects, "PatientRead", 200,
                                 detail="review pair"))
    return JSONResponse({"left": left, "right": right, "person_left": subjects[0],
                         "person_right": subjects[1], "fields": fields,
                         "decision": decision_summary(decision)}, headers=NO_STORE)


@router.post("/decisions", status_code=201)
def decide_pair(request: Request, caller: CallerDep, ctx: PurposeDep,
                body: ReviewDecisionIn) -> JSONResponse:
    """Record same / not the same / unsure; it becomes a constraint on every later link run."""
    check_purpose(request, caller, ctx, "ReviewDecision", None)
    owners = request.app.state.index.agencies_of([body.left, body.right])
    if body.left not in owners or body.right not in owners or body.left == body.right:
        raise HTTPException(404, "no such pair of records in the identity index")
    subjects = [owners[body.left][1], owners[body.right][1]]
    decision = _decide(request, caller, ctx, frozenset({owners[body.left][0],
                                                        owners[body.right][0]}))
    if decision.effect != "permit":
        return _refuse(request, caller, ctx, decision, subjects, "ReviewDecision")
    # The audit event is written first: a decision nobody can account for must not bind a run.
    write_audit(request, _events(request, caller, ctx, decision, subjects, "ReviewDecision", 201,
                                 action="C", detail=f"review decision: {body.decision}"))
    made = DecisionStore(decisions_path_for(request.app.state.settings.db_path)).record(
        body.left, body.right, body.decision, caller.user_id or caller.client_id, caller.agency,
        body.reason)
    return JSONResponse({"decision_id": made.decision_id, "left": made.unique_id_l,
                         "right": made.unique_id_r, "decision": made.decision,
                         "takes_effect": "next link run"}, 201, headers=NO_STORE)
