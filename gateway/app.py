"""The gateway application: authenticated, purpose-bound, policy-decided, audited access to the
identity index.

Routes live in ``gateway.routes``; the single path from request to disclosure (purpose, decision,
audit) lives in ``gateway.access``. If the audit event cannot be written, the answer is 503 and
nothing is disclosed.
"""

from __future__ import annotations

import time
from dataclasses import asdict
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.middleware.base import BaseHTTPMiddleware

from audit import AuditTrail
from gateway.access import CallerDep
from gateway.authserver import authorization_server
from gateway.clients import ClientRegistry
from gateway.keys import KeyStore
from gateway.routes import persons
from gateway.settings import GatewaySettings
from gateway.tokens import TokenIssuer, TokenValidator
from linkage.index.reader import IdentityIndex
from policies import load_policies

__all__ = ["create_app"]

log = structlog.get_logger("kinlink.gateway")

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


class _Guard(BaseHTTPMiddleware):
    """Refuse oversized bodies before parsing; log each request by its route template, never its
    values (a path or query can carry an identifier, and logs are not the audit trail)."""

    async def dispatch(self, request: Request, call_next):  # type: ignore[no-untyped-def]
        started = time.perf_counter()
        limit = request.app.state.settings.max_body_bytes
        length = request.headers.get("content-length")
        if length and (not length.isdigit() or int(length) > limit):
            response: Response = JSONResponse({"detail": "request body too large"}, 413)
        else:
            response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        route = request.scope.get("route")
        log.info("request", method=request.method,
                 route=getattr(route, "path", "unmatched"), status=response.status_code,
                 ms=round((time.perf_counter() - started) * 1000, 1))
        return response


def create_app(settings: GatewaySettings) -> FastAPI:
    app = FastAPI(title="kinlink gateway", version="0.1.0",
                  description="Purpose-based, audited sharing of linked children's records. "
                              "Every personal-data request names a purpose; every answer, "
                              "permitted or refused, is in the audit trail before it is sent.")
    keys = KeyStore(settings.keys_dir)
    app.state.settings = settings
    app.state.keys = keys
    app.state.clients = ClientRegistry(settings.clients_path)
    app.state.issuer = TokenIssuer(keys, settings.issuer, settings.audience,
                                   settings.token_lifetime_seconds)
    app.state.validator = TokenValidator(keys, settings.issuer, settings.audience)
    app.state.policies = load_policies()
    app.state.index = IdentityIndex(settings.db_path)
    app.state.audit = AuditTrail.open(settings.audit_path)
    app.add_middleware(_Guard)
    app.include_router(authorization_server())
    app.include_router(persons.router)

    @app.get("/healthz", tags=["operations"])
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/v1/whoami", tags=["identity"])
    def whoami(caller: CallerDep) -> dict[str, Any]:
        """The caller as the gateway sees it: client, agency, role and the purposes it may name."""
        return asdict(caller)

    return app
