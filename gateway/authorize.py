"""The authorization-code grant with PKCE (RFC 7636) for staff signing in to the pages.

``GET /oauth/authorize`` shows the embedded server's sign-in page; a correct username and
password return a one-time code to the registered redirect URI, bound to the PKCE challenge. The
pages exchange it (with the verifier) for an access token carrying the user, their agency, role
and purposes. Codes live 60 seconds and are used once.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from gateway.clients import Client
from gateway.users import StaffUser
from gateway.web.sign_in_throttle import record_sign_in, sign_in_refused

__all__ = [
    "PAGES_CLIENT_ID",
    "AuthorizationCodes",
    "authorize_router",
    "exchange_code",
    "pkce_matches",
]

PAGES_CLIENT_ID = "kinlink-pages"
CODE_SECONDS = 60


@dataclass(frozen=True)
class _Grant:
    user: StaffUser
    challenge: str
    redirect_uri: str
    expires: float


class AuthorizationCodes:
    def __init__(self) -> None:
        self._codes: dict[str, _Grant] = {}
        self._lock = threading.Lock()

    def issue(self, user: StaffUser, challenge: str, redirect_uri: str) -> str:
        code = secrets.token_urlsafe(32)
        with self._lock:
            now = time.time()
            self._codes = {k: g for k, g in self._codes.items() if g.expires > now}
            self._codes[code] = _Grant(user, challenge, redirect_uri, now + CODE_SECONDS)
        return code

    def redeem(self, code: str, verifier: str, redirect_uri: str) -> StaffUser | None:
        with self._lock:
            grant = self._codes.pop(code, None)
        if grant is None or grant.expires < time.time() or grant.redirect_uri != redirect_uri:
            return None
        if not pkce_matches(verifier, grant.challenge):
            return None
        return grant.user


def pkce_matches(verifier: str, challenge: str) -> bool:
    """RFC 7636 S256: the verifier's SHA-256, base64url without padding, is the challenge."""
    digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    return secrets.compare_digest(digest.rstrip(b"=").decode(), challenge)


def exchange_code(request: Request, code: str, verifier: str, redirect_uri: str) -> str | None:
    """The token for a code, as the token endpoint gives it (the pages call this in-process)."""
    user = request.app.state.codes.redeem(code, verifier, redirect_uri)
    if user is None:
        return None
    client = Client(PAGES_CLIENT_ID, user.display_name, user.agency, user.role, user.purposes)
    return str(request.app.state.issuer.issue(client, user=user.username))


def _allowed_redirect(request: Request, redirect_uri: str) -> bool:
    return redirect_uri == f"{request.app.state.settings.issuer}/auth/callback"


def authorize_router() -> APIRouter:
    router = APIRouter(tags=["authorization server"], include_in_schema=False)

    def _page(request: Request, params: dict[str, str], error: str | None = None,
              status: int = 200) -> Response:
        response = request.app.state.templates.TemplateResponse(
            request, "sign_in.html", {"params": params, "error": error}, status_code=status)
        response.headers["Content-Security-Policy"] = (
            "default-src 'self'; style-src 'self'; font-src 'self'; img-src 'self' data:; "
            "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
        response.headers["Cache-Control"] = "no-store"
        return response

    @router.get("/oauth/authorize")
    def authorize_form(
        request: Request,
        response_type: Annotated[str, Query()],
        client_id: Annotated[str, Query()],
        redirect_uri: Annotated[str, Query()],
        code_challenge: Annotated[str, Query(min_length=43, max_length=128)],
        code_challenge_method: Annotated[str, Query()],
        state: Annotated[str, Query(max_length=200)],
    ) -> Response:
        if (response_type != "code" or client_id != PAGES_CLIENT_ID
                or code_challenge_method != "S256" or not _allowed_redirect(request, redirect_uri)):
            return HTMLResponse("Invalid sign-in request.", 400)
        params = {"client_id": client_id, "redirect_uri": redirect_uri,
                  "code_challenge": code_challenge, "state": state}
        return _page(request, params)

    @router.post("/oauth/authorize")
    def authorize_submit(
        request: Request,
        username: Annotated[str, Form(max_length=100)],
        password: Annotated[str, Form(max_length=200)],
        client_id: Annotated[str, Form()],
        redirect_uri: Annotated[str, Form()],
        code_challenge: Annotated[str, Form(min_length=43, max_length=128)],
        state: Annotated[str, Form(max_length=200)],
    ) -> Response:
        params = {"client_id": client_id, "redirect_uri": redirect_uri,
                  "code_challenge": code_challenge, "state": state}
        if client_id != PAGES_CLIENT_ID or not _allowed_redirect(request, redirect_uri):
            return HTMLResponse("Invalid sign-in request.", 400)
        if sign_in_refused(request, username):
            return _page(request, params, "Too many attempts to sign in. Wait 15 minutes, "
                                          "then try again.", 429)
        user = request.app.state.staff.authenticate(username, password)
        record_sign_in(request, username, user is not None)
        if user is None:
            return _page(request, params, "Enter a correct username and password", 401)
        code = request.app.state.codes.issue(user, code_challenge, redirect_uri)
        return RedirectResponse(f"{redirect_uri}?{urlencode({'code': code, 'state': state})}",
                                status_code=303)

    return router
