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

from gateway.routes.review import RECORD_KEY
from gateway.views import REVIEW_PURPOSE, review_decide, review_pair, review_queue_view
from gateway.web.session import check_csrf
from gateway.web.waterfall import waterfall_svg

__all__ = ["review_router"]


def review_router(page: Any, needs_purpose: Any) -> APIRouter:
    router = APIRouter(prefix="/review", include_in_schema=False)

    def _reviewer(request: Request) -> Any:
        caller, ctx = needs_purpose(request)
        if ctx.purpose != REVIEW_PURPOSE:
            # Said before anything is read (the use cases refuse, audited, all the same).
            raise HTTPException(403, "Choose the purpose 'Settling uncertain record links' to "
                                     "review.")
        return caller, ctx

    @router.get("")
    def queue(request: Request) -> Response:
        caller, ctx = _reviewer(request)
        view = review_queue_view(request, caller, ctx, limit=50)
        rows = [{"item": i["item"], "left": i["left"], "right": i["right"],
                 "probability": i["match_probability"], "reason": i["reason"],
                 "affected": i["records_affected"], "child": i["involves_child"]}
                for i in view.items]
        return page(request, "review_queue.html", {"items": rows,
                                                   "withheld": view.items_withheld})

    @router.post("/pair")
    def pair(request: Request, csrf: Annotated[str, Form()] = "",
             left: Annotated[str, Form(pattern=RECORD_KEY)] = "x:x",
             right: Annotated[str, Form(pattern=RECORD_KEY)] = "x:x") -> Response:
        check_csrf(request, csrf)
        caller, ctx = _reviewer(request)
        view = review_pair(request, caller, ctx, left, right, detail="review pair page")
        fields = [{"field": f["field"].replace("_", " "),
                   "left": "" if f["left"] is None else f["left"],
                   "right": "" if f["right"] is None else f["right"],
                   "comparison": f["comparison"]} for f in view.fields]
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
        review_decide(request, caller, ctx, left, right, decision, reason)
        return RedirectResponse("/review", status_code=303)

    return router
