"""The pages' routes: sign in (OIDC authorization code with PKCE against the embedded server),
state a purpose, find a child, see what may be shared — through the same decision and audit path
as the API (``gateway.access``), never a second copy of it.

Every page with personal data is ``Cache-Control: no-store``; searches are POSTed, so no personal
data is ever in a URL (a child appears in URLs only by their opaque ID).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import os
import secrets
import time
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

import httpx
from fastapi import APIRouter, FastAPI, Form, HTTPException, Request
from fastapi import Path as PathParam
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from gateway.authorize import PAGES_CLIENT_ID, exchange_code
from gateway.disclosure import REFUSAL_TEXT
from gateway.tokens import InvalidToken
from gateway.views import CandidateView, break_glass_offer, candidates_view, child_view
from gateway.web.child_page import child_page_context
from gateway.web.session import (
    EncryptedSessionMiddleware,
    SessionRevocations,
    SignInRequired,
    break_glass_until,
    caller_from_session,
    check_csrf,
    csrf_token,
    purpose_context,
    revoke_session,
)
from gateway.web.sign_in_throttle import SignInThrottle
from gateway.web.summary import candidate_card
from gateway.web.waterfall import label, waterfall_svg

__all__ = ["FRONTEND_DIST", "mount_pages"]

HERE = Path(__file__).parent
FRONTEND_DIST = HERE / "frontend" / "node_modules" / "govuk-frontend" / "dist" / "govuk"
#: kinlink's own stylesheet: GOV.UK Frontend built with a system font (``npm run build:css``).
STYLES = HERE / "static"
AGENCY_NAMES = {"health": "Health", "education": "Education",
                "social_care": "Children's social care", "police": "Police"}
CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
       "font-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")


def _page(request: Request, template: str, context: dict[str, Any], status: int = 200) -> Response:
    try:
        caller = caller_from_session(request)
    except SignInRequired:
        caller = None
    ctx = purpose_context(request)
    purpose_name = None
    if ctx is not None:
        found = request.app.state.policies.purpose(ctx.purpose)
        purpose_name = found.name if found else ctx.purpose
    until = break_glass_until(request)
    glass = time.strftime("%H:%M UTC", time.gmtime(until)) if until else None
    response = request.app.state.templates.TemplateResponse(
        request, template, {"caller": caller, "purpose": ctx, "purpose_name": purpose_name,
                            "csrf": csrf_token(request), "break_glass_until": glass, **context},
        status_code=status)
    response.headers["Content-Security-Policy"] = CSP
    response.headers["Cache-Control"] = "no-store"
    return response


def _redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _signed_in(request: Request) -> Any:
    try:
        return caller_from_session(request)
    except SignInRequired as exc:
        raise HTTPException(303, headers={"Location": "/sign-in"}) from exc


def _home_for(purpose: str) -> str:
    return {"ig-oversight": "/ig", "identity-review": "/review"}.get(purpose, "/find")


def _needs_purpose(request: Request, person_id: str | None = None) -> Any:
    """The signed-in caller and their purpose; break-glass is in the purpose only on the page
    of the child it was invoked for."""
    caller = _signed_in(request)
    ctx = purpose_context(request, person_id)
    if ctx is None:
        raise HTTPException(303, headers={"Location": "/purpose"})
    return caller, ctx


def _provider_unavailable(request: Request) -> Response:
    """The organisation's sign-in service did not answer: say so, rather than fail with a 500."""
    return _page(request, "error.html", {
        "heading": "Sign-in is not available",
        "message": "Your organisation's sign-in service is not answering. Try again in a few "
                   "minutes, or sign in another way."}, 503)


def _candidate(view: CandidateView, number: int, prior: float, today: dt.date) -> dict[str, Any]:
    """One result: the card that tells this child from the others, and the waterfall behind the
    grade one click away (each chart with its own title id, for its accessible name)."""
    found = view.resolution.candidate
    return {"card": candidate_card(found.person_id, found.grade, found.probability, view.records,
                                   view.resolution.decision.permitted, today),
            "number": number,
            "svg": waterfall_svg(found.explanation, prior, found.match_weight,
                                 title_id=f"wf-{number}"),
            "parts": [{"name": label(p.comparison), "level": p.level, "weight": p.match_weight}
                      for p in found.explanation if p.gamma != -1]}


def pages_router() -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/")
    def start(request: Request) -> Response:
        try:
            caller_from_session(request)
        except SignInRequired:
            return _page(request, "start.html", {})
        ctx = purpose_context(request)
        return _redirect(_home_for(ctx.purpose) if ctx else "/purpose")

    def _pkce(request: Request, issuer: str | None) -> tuple[str, str]:
        verifier = secrets.token_urlsafe(48)
        state = secrets.token_urlsafe(16)
        request.session.update({"pkce": verifier, "state": state, "issuer": issuer})
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
        return state, challenge.rstrip(b"=").decode()

    def _external(request: Request) -> list[Any]:
        return [i for i in request.app.state.validator.external.values() if i.pages]

    @router.get("/sign-in")
    def sign_in(request: Request) -> Response:
        external = _external(request)
        if external:
            return _page(request, "sign_in_choice.html", {
                "issuers": [(n, i.pages["name"]) for n, i in enumerate(external)]})
        return sign_in_embedded(request)

    @router.get("/sign-in/embedded")
    def sign_in_embedded(request: Request) -> Response:
        state, challenge = _pkce(request, None)
        issuer = request.app.state.settings.issuer
        query = urlencode({"response_type": "code", "client_id": PAGES_CLIENT_ID,
                           "redirect_uri": f"{issuer}/auth/callback", "state": state,
                           "code_challenge": challenge, "code_challenge_method": "S256"})
        return _redirect(f"/oauth/authorize?{query}")

    @router.get("/sign-in/issuer/{number}")
    def sign_in_external(request: Request, number: int) -> Response:
        external = _external(request)
        if not 0 <= number < len(external):
            raise HTTPException(404, "No such sign-in")
        chosen = external[number]
        state, challenge = _pkce(request, chosen.issuer)
        query = urlencode({
            "response_type": "code", "client_id": chosen.pages["client_id"],
            "redirect_uri": f"{request.app.state.settings.issuer}/auth/callback",
            "scope": chosen.pages.get("scope", "openid"), "state": state,
            "code_challenge": challenge, "code_challenge_method": "S256"})
        try:
            endpoint = chosen.discovery()["authorization_endpoint"]
        except (InvalidToken, KeyError):
            return _provider_unavailable(request)
        return _redirect(f"{endpoint}?{query}")

    def _external_token(request: Request, issuer_url: str, code: str,
                        verifier: str) -> str | None:
        chosen = request.app.state.validator.external.get(issuer_url)
        if chosen is None or not chosen.pages:
            return None
        secret = (os.environ.get(chosen.pages["client_secret_env"], "")
                  if chosen.pages.get("client_secret_env") else chosen.pages.get("client_secret"))
        try:
            answer = httpx.post(chosen.discovery()["token_endpoint"], timeout=10, data={
                "grant_type": "authorization_code", "code": code, "code_verifier": verifier,
                "redirect_uri": f"{request.app.state.settings.issuer}/auth/callback"},
                auth=(chosen.pages["client_id"], secret or ""))
        except (InvalidToken, KeyError, httpx.HTTPError):
            return None
        if answer.status_code != 200:
            return None
        return str(answer.json().get("access_token") or "")

    @router.get("/auth/callback")
    def callback(request: Request, code: str = "", state: str = "") -> Response:
        expected, verifier = request.session.pop("state", None), request.session.pop("pkce", None)
        issuer_url = request.session.pop("issuer", None)
        if not expected or not verifier or not secrets.compare_digest(expected, state):
            return _page(request, "error.html", {"heading": "Sign-in did not complete",
                                                 "message": "Please sign in again."}, 400)
        issuer = request.app.state.settings.issuer
        if issuer_url:
            token = _external_token(request, issuer_url, code, verifier)
        else:
            token = exchange_code(request, code, verifier, f"{issuer}/auth/callback")
        try:
            caller = request.app.state.validator.validate(token or "")
        except InvalidToken:
            return _page(request, "error.html", {"heading": "Sign-in did not complete",
                                                 "message": "Please sign in again."}, 400)
        now = time.time()
        request.session.clear()
        request.session.update({
            "caller": {**asdict(caller), "purposes": list(caller.purposes),
                       "expires": now + request.app.state.settings.session_absolute_seconds},
            "signed_in_at": now, "last_seen": now, "csrf": secrets.token_urlsafe(24),
            "sid": secrets.token_urlsafe(24)})
        return _redirect("/purpose")

    @router.post("/sign-out")
    def sign_out(request: Request, csrf: Annotated[str, Form()] = "") -> Response:
        check_csrf(request, csrf)
        revoke_session(request)
        return _redirect("/")

    def _purposes(request: Request, caller: Any) -> list[Any]:
        """The purposes this user's token grants that the agreements know (IG oversight and
        review are purposes too, with no data-sharing clause of their own)."""
        bundle = request.app.state.policies
        return [p for code in caller.purposes if (p := bundle.purpose(code)) is not None]

    @router.get("/purpose")
    def purpose_form(request: Request) -> Response:
        caller = _signed_in(request)
        current = purpose_context(request)
        return _page(request, "purpose.html", {"purposes": _purposes(request, caller),
                                                "current": current.purpose if current else None})

    @router.post("/purpose")
    def purpose_submit(
        request: Request,
        csrf: Annotated[str, Form()] = "",
        purpose: Annotated[str, Form()] = "",
        reference: Annotated[str, Form(max_length=100)] = "",
        justification: Annotated[str, Form(max_length=2000)] = "",
    ) -> Response:
        caller = _signed_in(request)
        check_csrf(request, csrf)
        allowed = {p.code for p in _purposes(request, caller)}
        if purpose not in allowed:
            return _page(request, "purpose.html", {
                "purposes": _purposes(request, caller), "current": None,
                "error": "Select why you need to see a child's records"}, 400)
        request.session["purpose"] = {"code": purpose, "reference": reference.strip() or None,
                                      "justification": justification.strip() or None}
        return _redirect(_home_for(purpose))

    @router.get("/find")
    def find_form(request: Request) -> Response:
        _needs_purpose(request)
        return _page(request, "find.html", {})

    @router.post("/find")
    def find_submit(
        request: Request,
        csrf: Annotated[str, Form()] = "",
        given_name: Annotated[str, Form(max_length=100)] = "",
        family_name: Annotated[str, Form(max_length=100)] = "",
        dob: Annotated[str, Form(max_length=10)] = "",
        postcode: Annotated[str, Form(max_length=10)] = "",
        nhs_number: Annotated[str, Form(max_length=20)] = "",
        upn: Annotated[str, Form(max_length=20)] = "",
    ) -> Response:
        caller, ctx = _needs_purpose(request)
        check_csrf(request, csrf)
        query = {"record_id": "query", "given_name": given_name, "family_name": family_name,
                 "dob": dob, "postcode": postcode, "nhs_number": nhs_number, "upn": upn}
        if not any(v for k, v in query.items() if k != "record_id"):
            return _page(request, "find.html", {"error": "Enter at least one detail"}, 400)
        found = candidates_view(request, caller, ctx, query, top=5)
        prior = request.app.state.matcher.get().index.model.log2_prior_odds
        candidates = [_candidate(view, n, prior, dt.date.today())
                      for n, view in enumerate(found, 1)]
        return _page(request, "results.html", {"candidates": candidates})

    @router.post("/break-glass")
    def break_glass_on(request: Request, csrf: Annotated[str, Form()] = "",
                       person_id: Annotated[str, Form(pattern=r"^[A-Za-z0-9]{6,32}$")] = "PX",
                       reason: Annotated[str, Form(max_length=2000)] = "") -> Response:
        """Emergency access: an explicit reason, for one child under one purpose, for the
        agreement's maximum minutes, shown on every page while on, and each access under it
        reported to IG (audit + anomaly rule). Another child or purpose needs its own reason."""
        caller, ctx = _needs_purpose(request)
        check_csrf(request, csrf)
        glass = break_glass_offer(request, caller, ctx)
        if glass is None or len(reason.strip()) < glass.justification_min_length:
            return _page(request, "error.html", {
                "heading": "Break-glass is not available",
                "message": "Break-glass needs a purpose and role the agreement allows it for, "
                           f"and a reason of at least "
                           f"{glass.justification_min_length if glass else 40} characters."}, 400)
        request.session["break_glass"] = {"reason": reason.strip(), "person_id": person_id,
                                          "purpose": ctx.purpose,
                                          "until": time.time() + 60 * glass.max_minutes}
        return _redirect(f"/child/{person_id}")

    @router.post("/break-glass/end")
    def break_glass_off(request: Request, csrf: Annotated[str, Form()] = "") -> Response:
        check_csrf(request, csrf)
        request.session.pop("break_glass", None)
        return _redirect("/find")

    def _child(request: Request, person_id: str, template: str, detail: str) -> Response:
        """The child page and its print view: one use-case call (decide → disclose → audit,
        with ``detail`` telling them apart in the trail), then only arrangement and words."""
        caller, ctx = _needs_purpose(request, person_id)
        view = child_view(request, caller, ctx, person_id, detail=detail)
        decision = view.person.access.decision
        permitted = decision.effect == "permit"
        withheld = view.person.withheld
        printed = dt.datetime.now(dt.UTC)
        return _page(request, template, {
            **(child_page_context(view, printed.date()) if permitted else {}),
            "restricted": sorted({w["source_party"] for w in withheld
                                  if w["clause"] == "restricted"}),
            "person_id": view.person.access.person_id if permitted else person_id,
            "effect": decision.effect, "refusal": REFUSAL_TEXT, "rules": decision.matched_rules,
            "printed_at": printed.strftime("%d %B %Y at %H:%M UTC"),
            "break_glass_offer": view.break_glass},
            200 if permitted else 403)

    @router.get("/child/{person_id}")
    def child(request: Request,
              person_id: Annotated[str, PathParam(pattern=r"^[A-Za-z0-9]{6,32}$")]) -> Response:
        return _child(request, person_id, "child.html", "child page")

    @router.get("/child/{person_id}/print")
    def child_print(request: Request,
                    person_id: Annotated[str, PathParam(pattern=r"^[A-Za-z0-9]{6,32}$")]
                    ) -> Response:
        """For a strategy discussion: the same disclosure on paper, marked OFFICIAL-SENSITIVE
        with the purpose, reference and who printed it, audited as a print of its own."""
        return _child(request, person_id, "child_print.html", "child page print")

    return router


def mount_pages(app: FastAPI) -> None:
    from gateway.web.ig_pages import ig_router
    from gateway.web.review_pages import review_router

    settings = app.state.settings
    app.state.templates = Jinja2Templates(directory=str(HERE / "templates"))
    app.state.templates.env.globals["agency_names"] = AGENCY_NAMES
    secret = settings.session_key()
    # SameSite=Lax, not Strict: an external identity provider's redirect back to /auth/callback
    # is a cross-site navigation, and must arrive with the session that holds the PKCE verifier.
    # Every state-changing request is a POST with a CSRF token, which Lax never sends cross-site.
    app.add_middleware(EncryptedSessionMiddleware, secret_key=secret,
                       session_cookie="kinlink_session",
                       max_age=settings.session_absolute_seconds, same_site="lax",
                       https_only=settings.issuer.startswith("https://"))
    # Made once here, not on first use: two first requests at once would each make their own,
    # and a sign-out recorded in one would be lost.
    app.state.session_revocations = SessionRevocations()
    app.state.sign_in_throttle = SignInThrottle()
    app.mount("/static/kinlink", StaticFiles(directory=STYLES), name="styles")
    if FRONTEND_DIST.exists():
        app.mount("/assets", StaticFiles(directory=FRONTEND_DIST / "assets"), name="assets")
        app.mount("/static", StaticFiles(directory=FRONTEND_DIST), name="static")
    app.include_router(pages_router())
    app.include_router(ig_router(_page, _needs_purpose))
    app.include_router(review_router(_page, _needs_purpose))
