"""Delivering owner notifications: the agreements' ``notify`` settings handed to the audit trail,
and signed webhooks to the agencies that asked for them.

The trail derives each notification from the committed audit event into its outbox, with its
position in the log in the same transaction (``audit.notifications``), so delivery can be slow,
fail, or be killed without losing one: this module only reads the outbox (caught up first) and
appends what happened to each attempt. A gateway killed with ``kill -9`` between the audit write
and the delivery finds the notification still undelivered (or not yet derived, and then derived)
when it starts again, and sends it; a receiver that is down gets it when it is back, after
retries that double their wait, or — past the last — from the dead-letter list, once an
administrator replays it.

Each webhook body is a compact JWS (ES256, RFC 7515) signed with the gateway's current token key,
``kid`` in its header, so a receiver verifies it against the gateway's published JWKS
(``/oauth/jwks.json``) with the same code that checks its tokens.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx
import jwt
import structlog
import yaml

from audit import AuditTrail
from audit.events import canonical_json
from audit.notifications import (
    MAX_ATTEMPTS,
    ClauseNotice,
    Delivery,
    NotificationRule,
    due_deliveries,
    record_attempt,
)
from gateway.keys import KeyStore
from policies.model import PolicyBundle

__all__ = ["JWS_TYPE", "Webhook", "WebhookDelivery", "load_webhooks", "notification_rule"]

log = structlog.get_logger("kinlink.notifications")

#: The JWS ``typ`` of a notification, so it can never be taken for an access token.
JWS_TYPE = "kinlink-notification+jws"


def notification_rule(bundle: PolicyBundle) -> NotificationRule:
    """Each clause's ``notify`` setting, sources and categories, and the categories each party's
    records can hold, from every agreement loaded."""
    held_by: dict[str, set[str]] = {}
    for agreement in bundle.agreements:
        for code, category in agreement.categories.items():
            for party in category.parties:
                held_by.setdefault(party, set()).add(code)
    return NotificationRule({
        rule.id: ClauseNotice(rule.notify, frozenset(rule.source_parties),
                              frozenset(rule.categories))
        for agreement in bundle.agreements for rule in agreement.rules if rule.effect == "permit"
    }, {party: frozenset(codes) for party, codes in held_by.items()})


@dataclass(frozen=True)
class Webhook:
    agency: str
    url: str


def load_webhooks(path: Path) -> dict[str, Webhook]:
    """``{agency: {url: …}}`` from a YAML file; errors name the file and the agency."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ValueError(f"{path}: not a readable YAML file: {exc}") from exc
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping of agency to {{url: …}}")
    hooks = {}
    for agency, entry in data.items():
        url = entry.get("url") if isinstance(entry, dict) else None
        if not isinstance(url, str) or not url.startswith(("https://", "http://")):
            raise ValueError(f"{path}: agency {agency!r}: url must be an http(s) URL")
        hooks[str(agency)] = Webhook(str(agency), url)
    return hooks


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class WebhookDelivery:
    """A background sender: every ``interval`` seconds, each due notification is POSTed to its
    agency's webhook; a 2xx answer delivers it, anything else (or no answer) schedules a retry.

    ``clock`` is passed in so that tests decide what "now" is; the thread itself only waits."""

    def __init__(self, trail: AuditTrail, keys: KeyStore, webhooks: Mapping[str, Webhook], *,
                 interval: float = 2.0, base_seconds: float = 5.0,
                 max_attempts: int = MAX_ATTEMPTS, timeout: float = 5.0,
                 clock: Callable[[], dt.datetime] = _now) -> None:
        self.trail, self.keys, self.webhooks = trail, keys, dict(webhooks)
        self.interval, self.base_seconds, self.max_attempts = interval, base_seconds, max_attempts
        self.clock = clock
        self._http = httpx.Client(timeout=timeout)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        #: The last round's failure, by kind only (for /readyz-style reporting).
        self.last_error: str | None = None

    def signed(self, body: Mapping[str, object]) -> str:
        key = self.keys.active()
        return jwt.api_jws.encode(canonical_json(dict(body)), key.private_pem, algorithm="ES256",
                                  headers={"kid": key.kid, "typ": JWS_TYPE})

    def deliver_due(self) -> int:
        """One round: try every notification due now; returns how many were delivered."""
        now = self.clock()
        with self.trail.session() as session:
            due = due_deliveries(session, self.webhooks, now)
        delivered = 0
        for delivery in due:
            ok, detail = self._post(delivery)
            with self.trail.session() as session:
                state = record_attempt(session, delivery, ok, self.clock(), detail,
                                       self.max_attempts, self.base_seconds)
            delivered += state == "delivered"
            if state == "dead":
                # Kinds and numbers only: the body (a person ID) stays in the store.
                log.warning("notification dead-lettered", agency=delivery.agency,
                            attempts=delivery.attempt, detail=detail)
        return delivered

    def _post(self, delivery: Delivery) -> tuple[bool, str]:
        hook = self.webhooks[delivery.agency]
        try:
            response = self._http.post(hook.url, content=self.signed(delivery.body), headers={
                "Content-Type": "application/jose",
                "Kinlink-Notification-Id": str(delivery.body["id"]),
                "Kinlink-Delivery-Attempt": str(delivery.attempt)})
        except httpx.HTTPError as exc:
            return False, type(exc).__name__
        return response.is_success, f"HTTP {response.status_code}"

    def start(self) -> None:
        if self._thread is not None:
            return

        def run() -> None:
            while not self._stop.is_set():
                try:
                    self.deliver_due()
                    self.last_error = None
                except Exception as exc:  # the store is away: the next round retries
                    self.last_error = type(exc).__name__
                    log.warning("notification delivery round failed",
                                error=type(exc).__name__)
                self._stop.wait(self.interval)

        self._thread = threading.Thread(target=run, name="notification-delivery", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self._http.close()
