"""Clerical review over the API: the queue in impact order, a pair side by side, and decisions.

Reviewing is itself a purpose in the sharing agreement (``identity-review``), and only that
purpose opens these routes; who may review, and which categories a reviewer sees, is the IG
officer's decision in the policy file. The use cases are in ``gateway.views``.
A decision is stored exactly as ``kinlink review decide`` stores it and binds the next link run.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from gateway.access import CallerDep, PurposeDep
from gateway.disclosure import decision_summary
from gateway.views import review_decide, review_pair, review_queue_view

__all__ = ["RECORD_KEY", "router"]

router = APIRouter(prefix="/v1/review", tags=["review"])
NO_STORE = {"Cache-Control": "no-store"}
RECORD_KEY = r"^[A-Za-z0-9_.-]{1,64}:[A-Za-z0-9_.-]{1,64}$"


class ReviewDecisionIn(BaseModel):
    left: str = Field(pattern=RECORD_KEY, description="source:record_id")
    right: str = Field(pattern=RECORD_KEY)
    decision: Literal["same", "different", "unsure"]
    reason: str = Field(min_length=5, max_length=2000)


@router.get("/queue")
def queue(request: Request, caller: CallerDep, ctx: PurposeDep,
          limit: Annotated[int, Query(ge=1, le=200)] = 50) -> JSONResponse:
    """Uncertain pairs, children first, then by how many records a wrong answer would affect;
    pairs the policy keeps from this reviewer are left out and counted."""
    view = review_queue_view(request, caller, ctx, limit)
    body: dict[str, Any] = {"items": view.items, "items_withheld": view.items_withheld,
                            "decision": decision_summary(view.decision)}
    return JSONResponse(body, headers=NO_STORE)


@router.get("/pair")
def pair(request: Request, caller: CallerDep, ctx: PurposeDep,
         left: Annotated[str, Query(pattern=RECORD_KEY)],
         right: Annotated[str, Query(pattern=RECORD_KEY)]) -> JSONResponse:
    """Two queued records side by side, each field marked agree, differ or missing."""
    view = review_pair(request, caller, ctx, left, right)
    return JSONResponse({"left": view.left, "right": view.right,
                         "person_left": view.person_left, "person_right": view.person_right,
                         "fields": view.fields, "decision": decision_summary(view.decision)},
                        headers=NO_STORE)


@router.post("/decisions", status_code=201)
def decide_pair(request: Request, caller: CallerDep, ctx: PurposeDep,
                body: ReviewDecisionIn) -> JSONResponse:
    """Record same / not the same / unsure; it becomes a constraint on every later link run."""
    made = review_decide(request, caller, ctx, body.left, body.right, body.decision, body.reason)
    return JSONResponse({"decision_id": made.decision_id, "left": made.unique_id_l,
                         "right": made.unique_id_r, "decision": made.decision,
                         "takes_effect": "next link run"}, 201, headers=NO_STORE)
