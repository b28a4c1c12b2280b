"""The pages' session: who signed in, their purpose, CSRF token, idle and absolute time-outs.

The session is an HttpOnly, SameSite=Lax cookie (Secure when served over TLS), encrypted and
authenticated (Fernet: AES-CBC with an HMAC, under a key derived from the session secret): it
holds the user's own token claims, the stated purpose with its justification, a break-glass
reason while one is on, and timestamps. Signed alone, all of that was readable by anyone who saw
the cookie. Each session has an ID; signing out revokes it, so a copied cookie stops working.
"""

from __future__ import annotations

import base64
import secrets
import threading
import time
from typing import Any, Literal

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from fastapi import HTTPException, Request
from itsdangerous.exc import BadSignature
from starlette.middleware.sessions import SessionMiddleware
from starlette.types import ASGIApp

from gateway.access import PurposeContext
from gateway.tokens import Caller

__all__ = ["EncryptedSessionMiddleware", "SessionRevocations", "SignInRequired",
           "break_glass_until", "caller_from_session", "check_csrf", "csrf_token",
           "purpose_context", "revoke_session"]


class _Sealer:
    """Stands in for the middleware's signer: ``sign`` encrypts, ``unsign`` decrypts and checks
    age, and anything tampered with, expired or sealed under another key is ``BadSignature``
    (the middleware then starts an empty session)."""

    def __init__(self, secret: str) -> None:
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                   info=b"kinlink pages session cookie v1").derive(secret.encode())
        self._fernet = Fernet(base64.urlsafe_b64encode(key))

    def sign(self, data: bytes) -> bytes:
        return self._fernet.encrypt(data)

    def unsign(self, data: bytes, max_age: int | None = None) -> bytes:
        try:
            return self._fernet.decrypt(data, ttl=max_age)
        except InvalidToken as exc:
            raise BadSignature("session cookie not valid") from exc


class EncryptedSessionMiddleware(SessionMiddleware):
    """Starlette's session middleware with the cookie sealed, not only signed."""

    def __init__(self, app: ASGIApp, secret_key: str, session_cookie: str = "session",
                 max_age: int | None = 14 * 24 * 60 * 60,
                 same_site: Literal["lax", "strict", "none"] = "lax",
                 https_only: bool = False) -> None:
        super().__init__(app, secret_key=secret_key, session_cookie=session_cookie,
                         max_age=max_age, same_site=same_site, https_only=https_only)
        self.signer = _Sealer(secret_key)  # type: ignore[assignment]  # the middleware calls only sign/unsign, which _Sealer provides


class SessionRevocations:
    """Session IDs signed out before their cookie's end, kept until that end.

    In the process: with several workers a sign-out revokes the cookie on the worker that
    served it, and the absolute time-out ends it everywhere (docs/security.md says so)."""

    def __init__(self) -> None:
        self._until: dict[str, float] = {}
        self._lock = threading.Lock()

    def revoke(self, sid: str, until: float, now: float) -> None:
        with self._lock:
            self._until = {k: t for k, t in self._until.items() if t > now}
            self._until[sid] = until

    def revoked(self, sid: str, now: float) -> bool:
        with self._lock:
            return self._until.get(sid, 0.0) > now


def _revocations(request: Request) -> SessionRevocations:
    revocations: SessionRevocations = request.app.state.session_revocations  # mount_pages
    return revocations


def revoke_session(request: Request) -> None:
    """Sign-out: this session's ID stops working, wherever its cookie has been copied."""
    sid = request.session.get("sid")
    if sid:
        now = time.time()
        until = request.session.get("signed_in_at", now) + \
            request.app.state.settings.session_absolute_seconds
        _revocations(request).revoke(str(sid), until, now)
    request.session.clear()


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
            or now > data.get("expires", 0)
            or not session.get("sid")
            or _revocations(request).revoked(str(session["sid"]), now)):
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
