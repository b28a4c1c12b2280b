"""Review pages for linkage reviewers: the queue in impact order, a pair side by side with the
fields that agree and disagree and the waterfall of the pair's score, and the decision — stored
exactly as ``kinlink review decide`` stores it, after its audit event.

Record keys (``source:record_id``) are agency identifiers, so they travel in form posts, never in
URLs.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from gateway.access import write_audit
from gateway.routes.review import RECORD_KEY, _decide, _events
from gateway.web.session import check_csrf
from gateway.web.waterfall import waterfall_svg
from linkage.review.decisions import DecisionStore, decisions_path_for
from linkage.review.queue import pair_side_by_side, review_queue

__all__ = ["review_router"]


def review_router(page: Any, needs_purpose: Any) -> APIRouter:
    router = APIRouter(prefix="/review", include_in_schema=False)

    def _reviewer(request: Request) -> Any:
        caller, ctx = needs_purpose(request)
        if ctx.purpose != "identity-review":
            raise HTTPException(403, "Choose the purpose 'Settling uncertain record links' to "
                                     "review.")
        return caller, ctx

    def _permitted(request: Request, caller: Any, ctx: Any, subjects: list[str],
                   agencies: frozenset[str], event_type: str) -> Any:
        decision = _decide(request, caller, ctx, agencies or frozenset({caller.agency}))
        if decision.effect != "permit":
            write_audit(request, _events(request, caller, ctx, decision, subjects, event_type,
                                         403))
            raise HTTPException(403, "Your role may not review record links.")
        return decision

    @router.get("")
    def queue(request: Request) -> Response:
        caller, ctx = _reviewer(request)
        index = request.app.state.index
        decided = DecisionStore(decisions_path_for(request.app.state.settings.db_path)).active()
        items = review_queue(index.cursor(), limit=50, decided=decided)
        subjects = [*items["person_l"].tolist(), *items["person_r"].tolist()] if len(items) else []
        agencies = frozenset(a for a, _ in index.agencies_of(
            [*items["unique_id_l"].tolist(), *items["unique_id_r"].tolist()]).values())
        decision = _permitted(request, caller, ctx, subjects, agencies, "PatientQuery")
        write_audit(request, _events(request, caller, ctx, decision, subjects, "PatientQuery",
                                     200, detail="review queue page"))
        rows = [{"item": int(r.item), "left": r.unique_id_l, "right": r.unique_id_r,
                 "probability": float(r.match_probability), "reason": r.reason,
                 "affected": int(r.records_affected), "child": bool(r.involves_child)}
                for r in items.itertuples()]
        return page(request, "review_queue.html", {"items": rows})

    @router.post("/pair")
    def pair(request: Request, csrf: Annotated[str, Form()] = "",
             left: Annotated[str, Form(pattern=RECORD_KEY)] = "x:x",
             right: Annotated[str, Form(pattern=RECORD_KEY)] = "x:x") -> Response:
        check_csrf(request, csrf)
        caller, ctx = _reviewer(request)
        index = request.app.state.index
        owners = index.agencies_of([left, right])
        if left not in owners or right not in owners:
            raise HTTPException(404, "No such pair of records.")
        subjects = [owners[left][1], owners[right][1]]
        decision = _permitted(request, caller, ctx, subjects,
                              frozenset({owners[left][0], owners[right][0]}), "PatientRead")
        write_audit(request, _events(request, caller, ctx, decision, subjects, "PatientRead",
                                     200, detail="review pair page"))
        fields = [{"field": r.field.replace("_", " "),
                   "left": "" if r.left != r.left or r.left is None else r.left,
                   "right": "" if r.right != r.right or r.right is None else r.right,
                   "comparison": r.comparison}
                  for r in pair_side_by_side(index.cursor(), left, right).itertuples()]
        matcher = request.app.state.matcher.get()
        rl, rr = matcher.index.row_of(left), matcher.index.row_of(right)
        svg = ""
        if rl is not None and rr is not None:
            weight, parts = matcher.score(matcher.index.features(rl), matcher.index.features(rr))
            svg = waterfall_svg(tuple(parts), matcher.index.model.log2_prior_odds, weight)
        return page(request, "review_pair.html", {"left": left, "right": right,
                                                  "fields": fields, "svg": svg})

    @router.post("/decide")
    def decide(request: Request, csrf: Annotated[str, Form()] = "",
               left: Annotated[str, Form(pattern=RECORD_KEY)] = "x:x",
               right: Annotated[str, Form(pattern=RECORD_KEY)] = "x:x",
               decision: Annotated[str, Form(pattern="^(same|different|unsure)$")] = "unsure",
               reason: Annotated[str, Form(min_length=5, max_length=2000)] = "") -> Response:
        check_csrf(request, csrf)
        caller, ctx = _reviewer(request)
        owners = request.app.state.index.agencies_of([left, right])
        if left not in owners or right not in owners or left == right:
            raise HTTPException(404, "No such pair of records.")
        subjects = [owners[left][1], owners[right][1]]
        policy = _permitted(request, caller, ctx, subjects,
                            frozenset({owners[left][0], owners[right][0]}), "ReviewDecision")
        write_audit(request, _events(request, caller, ctx, policy, subjects, "ReviewDecision",
                                     201, action="C", detail=f"review decision: {decision}"))
        DecisionStore(decisions_path_for(request.app.state.settings.db_path)).record(
            left, right, decision, caller.user_id or caller.client_id, caller.agency, reason)
        return RedirectResponse("/review", status_code=303)

    return router
