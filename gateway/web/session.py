"""The pages' session: who signed in, their purpose, CSRF token, idle and absolute time-outs.

The session is a signed, HttpOnly, SameSite=Strict cookie (Secure when served over TLS). It holds
no personal data about children: the signed-in user's own token claims, the stated purpose and
its justification, and timestamps.
"""

from __future__ import annotations

import secrets
import time
from typing import Any

from fastapi import HTTPException, Request

from gateway.access import PurposeContext
from gateway.tokens import Caller

__all__ = ["SignInRequired", "break_glass_until", "caller_from_session", "check_csrf", "csrf_token",
           "purpose_context"]


class SignInRequired(Exception):
    pass


def caller_from_session(request: Request) -> Caller:
    session = request.session
    data = session.get("caller")
    settings = request.app.state.settings
    now = time.time()
    if not data:
        raise SignInRequired
    if (now - session.get("last_seen", 0) > settings.session_idle_seconds
            or now - session.get("signed_in_at", 0) > settings.session_absolute_seconds
            or now > data.get("expires", 0)):
        session.clear()
        raise SignInRequired
    if not _account_still_enabled(request, data):
        session.clear()
        raise SignInRequired
    session["last_seen"] = now
    fields = {k: v for k, v in data.items() if k != "expires"}
    fields["purposes"] = tuple(fields["purposes"])
    return Caller(**fields)


def _account_still_enabled(request: Request, data: dict[str, Any]) -> bool:
    """A user of the embedded sign-in who has since been disabled (``kinlink users disable``)
    loses the session at this request; staff of an external identity provider are managed there,
    and a session from an issuer this server no longer trusts ends too."""
    issuer = data.get("issuer")
    if issuer != request.app.state.settings.issuer:
        return issuer in request.app.state.validator.external
    return not data.get("user_id") or bool(request.app.state.staff.is_active(data["user_id"]))


def csrf_token(request: Request) -> str:
    token = request.session.get("csrf")
    if not token:
        token = request.session["csrf"] = secrets.token_urlsafe(24)
    return str(token)


def check_csrf(request: Request, submitted: str | None) -> None:
    expected = request.session.get("csrf")
    if not expected or not submitted or not secrets.compare_digest(expected, submitted):
        raise HTTPException(403, "This form has expired. Go back and try again.")


def break_glass_until(request: Request) -> float | None:
    """When the user's break-glass access ends, if it is on (it switches itself off at its
    time, and when the user changes purpose: it was invoked for one purpose only)."""
    glass = request.session.get("break_glass")
    if not glass:
        return None
    chosen = request.session.get("purpose") or {}
    if time.time() >= glass["until"] or glass.get("purpose") != chosen.get("code"):
        request.session.pop("break_glass", None)
        return None
    return float(glass["until"])


def purpose_context(request: Request, person_id: str | None = None) -> PurposeContext | None:
    """The stated purpose, with break-glass (and its reason as the justification) only for the
    child it was invoked for: child A's emergency reason never covers child B."""
    chosen: dict[str, Any] | None = request.session.get("purpose")
    if not chosen:
        return None
    if break_glass_until(request) is not None and person_id is not None \
            and request.session["break_glass"].get("person_id") == person_id:
        reason = request.session["break_glass"]["reason"]
        return PurposeContext(chosen["code"], reason, chosen.get("reference"),
                              chosen.get("consent", "unknown"), break_glass=True)
    return PurposeContext(chosen["code"], chosen.get("justification"), chosen.get("reference"),
                          chosen.get("consent", "unknown"))
