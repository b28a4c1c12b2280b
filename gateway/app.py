"""The gateway application: authenticated, purpose-bound, policy-decided, audited access to the
identity index.

Routes live in ``gateway.routes``; the single path from request to disclosure (purpose, decision,
audit) lives in ``gateway.access``. If the audit event cannot be written, the answer is 503 and
nothing is disclosed.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import asdict
from typing import Any

import structlog
from fastapi import FastAPI
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from audit import AuditTrail
from gateway.access import CallerDep
from gateway.authorize import AuthorizationCodes, authorize_router
from gateway.authserver import authorization_server
from gateway.client_assertion import MAX_LIFETIME_SECONDS
from gateway.clients import ClientRegistry
from gateway.dpop import FRESHNESS_SECONDS, ReplayCache
from gateway.issuers import load_issuers
from gateway.keys import KeyStore
from gateway.metrics import GatewayMetrics
from gateway.notify_delivery import WebhookDelivery, load_webhooks, notification_rule
from gateway.one_time import SharedAuthorizationCodes, SharedReplayCache
from gateway.resolution import MatcherHolder
from gateway.routes import fhir, ig, notifications, persons, resolve, review
from gateway.settings import GatewaySettings
from gateway.tokens import TokenIssuer, TokenValidator
from gateway.users import StaffRegistry
from gateway.web.pages import mount_pages
from linkage.index.reader import IdentityIndex
from stores.database import PostgresLocation

__all__ = ["app_from_environment", "create_app"]

log = structlog.get_logger("kinlink.gateway")

#: How often owner notifications are derived in the background: often enough that a reader's own
#: catch-up is small, seldom enough that a round covers many disclosures with one statement.
NOTIFY_EVERY_SECONDS = 1.0

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


class _Guard:
    """Refuse oversized bodies before parsing, add security headers, and log each request by its
    route template, never its values (a path or query can carry an identifier, and logs are not
    the audit trail). Plain ASGI rather than BaseHTTPMiddleware, which costs a task per request."""

    def __init__(self, app: ASGIApp, max_body_bytes: int, metrics: GatewayMetrics) -> None:
        self.app, self.max_body_bytes, self.metrics = app, max_body_bytes, metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_body_bytes):
            response = JSONResponse({"detail": "request body too large"}, 413)
            status = 413
            await response(scope, receive, self._send_with_headers(send))
        else:
            seen = 0

            async def bounded_receive() -> Message:
                # A chunked body has no Content-Length: count it as it arrives.
                nonlocal seen
                message = await receive()
                seen += len(message.get("body", b""))
                if seen > self.max_body_bytes:
                    raise _TooLarge
                return message

            async def capture(message: Message) -> None:
                nonlocal status
                if message["type"] == "http.response.start":
                    status = message["status"]
                await self._send_with_headers(send)(message)

            try:
                await self.app(scope, bounded_receive, capture)
            except _TooLarge:
                status = 413
                await JSONResponse({"detail": "request body too large"}, 413)(
                    scope, receive, self._send_with_headers(send))
        route = getattr(scope.get("route"), "path", "unmatched")
        elapsed = time.perf_counter() - started
        self.metrics.requests.labels(scope["method"], route, str(status)).inc()
        self.metrics.latency.labels(route).observe(elapsed)
        log.info("request", method=scope["method"], route=route, status=status,
                 ms=round(elapsed * 1000, 1))

    @staticmethod
    def _send_with_headers(send: Send) -> Send:
        async def wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
            await send(message)

        return wrapped


class _TooLarge(Exception):
    pass


def readiness_checks(app: FastAPI) -> dict[str, str]:
    """Each dependency's state as ``ok`` or the kind of failure (never a path or a value)."""
    checks: dict[str, str] = {}
    probes = {
        "identity_index": lambda: app.state.index.resolve("P000000000000"),
        "audit_store": lambda: app.state.audit.ping(),
        "signing_keys": lambda: app.state.keys.active(),
    }
    for name, probe in probes.items():
        try:
            probe()
            checks[name] = "ok"
        except Exception as exc:  # any failure means not ready
            checks[name] = type(exc).__name__
    # The background checkpointer: a trail that cannot sign checkpoints must be seen.
    checks["audit_checkpoints"] = app.state.audit.checkpoint_health.problem or "ok"
    return checks


@contextlib.asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """On shutdown, close the audit trail: its last events are checkpointed and its file is let
    go, so a backup or a link run can take it the moment the gateway has stopped."""
    yield
    if app.state.notify_delivery is not None:
        app.state.notify_delivery.stop()
    app.state.audit.close()


def create_app(settings: GatewaySettings) -> FastAPI:
    app = FastAPI(title="kinlink gateway", version="0.1.0", lifespan=_lifespan,
                  description="Purpose-based, audited sharing of linked children's records. "
                              "Every personal-data request names a purpose; every answer, "
                              "permitted or refused, is in the audit trail before it is sent.")
    keys = KeyStore(settings.keys_dir)
    app.state.settings = settings
    app.state.keys = keys
    app.state.clients = ClientRegistry(settings.clients_path)
    app.state.issuer = TokenIssuer(keys, settings.issuer, settings.audience,
                                   settings.token_lifetime_seconds)
    external = load_issuers(settings.issuers_path) if settings.issuers_path else {}
    app.state.validator = TokenValidator(keys, settings.issuer, settings.audience,
                                         external=external)
    app.state.policies = settings.policies()
    if settings.policy_date is not None:
        log.warning("policy_date_fixed", policy_date=settings.policy_date.isoformat())
    app.state.index = IdentityIndex(settings.store)
    app.state.matcher = MatcherHolder(settings.store)
    app.state.staff = StaffRegistry(settings.users_path)
    store = settings.store
    if isinstance(store, PostgresLocation):
        # Several workers: what is used once must be spent at all of them.
        app.state.dpop_replay = SharedReplayCache(store, "dpop-proof", 2 * FRESHNESS_SECONDS)
        app.state.assertion_replay = SharedReplayCache(store, "client-assertion",
                                                       2 * MAX_LIFETIME_SECONDS)
        app.state.codes = SharedAuthorizationCodes(store)
    else:
        app.state.dpop_replay = ReplayCache()
        app.state.assertion_replay = ReplayCache(window_seconds=2 * MAX_LIFETIME_SECONDS)
        app.state.codes = AuthorizationCodes()
    app.state.audit = AuditTrail.open(settings.audit_path, origin=settings.audit_origin,
                                      key_path=settings.audit_key)
    app.state.audit.start_checkpointing(settings.audit_checkpoint_seconds)
    # Owner notifications are derived from the committed log: in the background every second,
    # and before anything reads them, so a disclosure never waits for its own.
    app.state.audit.notify_with(notification_rule(app.state.policies))
    app.state.audit.start_notifying(NOTIFY_EVERY_SECONDS)
    app.state.notify_delivery = None
    if settings.notify_webhooks is not None:
        app.state.notify_delivery = WebhookDelivery(
            app.state.audit, keys, load_webhooks(settings.notify_webhooks),
            interval=settings.notify_interval_seconds)
        app.state.notify_delivery.start()
    app.state.metrics = GatewayMetrics()
    app.add_middleware(_Guard, max_body_bytes=settings.max_body_bytes, metrics=app.state.metrics)
    app.include_router(authorization_server())
    app.include_router(authorize_router())
    app.include_router(persons.router)
    app.include_router(review.router)
    app.include_router(resolve.router)
    app.include_router(fhir.router)
    app.include_router(ig.router)
    app.include_router(notifications.router)
    mount_pages(app)

    @app.get("/healthz", tags=["operations"])
    def healthz() -> dict[str, str]:
        """Liveness: the process answers. (Readiness is /readyz.)"""
        return {"status": "ok"}

    @app.get("/readyz", tags=["operations"])
    def readyz() -> JSONResponse:
        """Ready only when the identity index, the audit store and the signing keys are usable:
        a gateway that cannot audit must not be sent traffic it would have to refuse."""
        checks = readiness_checks(app)
        ok = all(result == "ok" for result in checks.values())
        body: dict[str, Any] = {"status": "ready" if ok else "not ready", "checks": checks}
        if settings.policy_date is not None:
            body["policy_date"] = settings.policy_date.isoformat()   # never to go unnoticed
        return JSONResponse(body,
                            200 if ok else 503, headers={"Cache-Control": "no-store"})

    @app.get("/metrics", tags=["operations"], include_in_schema=False)
    def metrics() -> Response:
        # A missing index is reported by /readyz; the scrape still answers.
        with contextlib.suppress(Exception):
            app.state.metrics.review_queue.set(app.state.index.review_queue_length())
        return Response(app.state.metrics.exposition(), media_type=CONTENT_TYPE_LATEST)

    @app.get("/v1/whoami", tags=["identity"])
    def whoami(caller: CallerDep) -> dict[str, Any]:
        """The caller as the gateway sees it: client, agency, role and the purposes it may name."""
        return asdict(caller)

    return app


def app_from_environment() -> FastAPI:
    """The app a worker process builds (``kinlink serve --workers N``): its configuration from
    ``KINLINK_CONFIG`` and the environment, exactly as the command resolved it."""
    from gateway.logging import configure_logging
    from stores.config import load_config

    config = load_config()
    configure_logging(config.log_level)
    return create_app(GatewaySettings.from_config(config))
