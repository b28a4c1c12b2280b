"""Owner notifications through the running gateway: the pull feed under each agency's own token,
signed webhooks that survive ``kill -9`` of the gateway and a receiver that is down, and the
dead-letter list an administrator sees and replays."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import jwt
import pytest
from fastapi.testclient import TestClient

from gateway.app import create_app
from gateway.clients import ClientRegistry
from gateway.notify_delivery import JWS_TYPE, Webhook, WebhookDelivery
from gateway.settings import GatewaySettings
from tests.conftest import POLICY_DATE
from tests.gateway.conftest import (
    JUSTIFICATION,
    Gateway,
    People,
    copy_index,
    free_port,
    start_gateway,
)


class Receiver:
    """An agency's webhook endpoint on loopback, keeping every body it was sent."""

    def __init__(self, port: int) -> None:
        received: list[tuple[dict[str, str], str]] = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # the stdlib names it so
                body = self.rfile.read(int(self.headers["Content-Length"])).decode()
                received.append((dict(self.headers), body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                return

        self.received = received
        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _read(gateway: Gateway, client: str, people: People) -> None:
    response = httpx.get(f"{gateway.base}/v1/persons/{people.child_everywhere}",
                         params={"purpose": "s47-enquiry", "justification": JUSTIFICATION},
                         headers={"Authorization": f"Bearer {gateway.token(client)}"}, timeout=20)
    assert response.status_code == 200, response.text


def _feed(gateway: Gateway, client: str, since: str | None = None) -> dict[str, object]:
    response = httpx.get(f"{gateway.base}/v1/notifications", params={"since": since} if since
                         else {}, headers={"Authorization": f"Bearer {gateway.token(client)}"},
                         timeout=20)
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_each_owner_pulls_only_its_own_notifications_and_none_are_personal(
        gateway: Gateway, people: People) -> None:
    before = {c: _feed(gateway, c)["next"] for c in ("health-visitor", "police", "social-worker")}
    _read(gateway, "social-worker", people)
    cursor = before["health-visitor"]
    health = _feed(gateway, "health-visitor", None if cursor is None else str(cursor))
    police = _feed(gateway, "police")
    mine = _feed(gateway, "social-worker")
    health_new = [n for n in health["notifications"]  # type: ignore[union-attr]
                  if n["person_id"] == people.child_everywhere]
    assert health_new and {n["owner_agency"] for n in health["notifications"]} == {"health"}  # type: ignore[union-attr]
    assert {n["owner_agency"] for n in police["notifications"]} == {"police"}  # type: ignore[union-attr]
    assert mine["notifications"] == []       # its own records shown to itself: never told
    told = health_new[-1]
    assert told["requester"]["agency"] == "social_care" and told["purpose"] == "s47-enquiry"
    assert told["clauses"] and told["categories"] and told["break_glass"] is False
    text = json.dumps([health, police])
    assert not [v for v in people.personal_values if v in text]   # every field read
    assert "Section 47 enquiry opened" not in text                # nor the justification
    later = _feed(gateway, "health-visitor", str(health["next"]))
    assert later["notifications"] == []                          # the cursor moves on
    bad = httpx.get(f"{gateway.base}/v1/notifications", params={"since": "yesterday"},
                    headers={"Authorization": f"Bearer {gateway.token('police')}"}, timeout=20)
    assert bad.status_code == 422
    assert httpx.get(f"{gateway.base}/v1/notifications", timeout=20).status_code == 401


def _serve_again(gateway: Gateway) -> Gateway:
    """The same install started again after a crash (clients and keys already there)."""
    handle = gateway.log_path.open("ab")
    process = subprocess.Popen(
        [sys.executable, "-m", "kinlink.cli", "serve", "--db", str(gateway.db), "--port",
         str(gateway.port)], stdout=handle, stderr=subprocess.STDOUT,
        env={**os.environ, "KINLINK_DB": str(gateway.db)})
    again = Gateway(gateway.db, gateway.port, gateway.log_path, process, gateway.clients)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, again.log_text()
        try:
            if httpx.get(f"{again.base}/healthz", timeout=1).status_code == 200:
                return again
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    again.stop(signal.SIGKILL)
    raise AssertionError(f"gateway did not restart:\n{again.log_text()}")


@pytest.fixture
def hooked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, linked_population: Path
           ) -> Iterator[tuple[Path, int]]:
    port = free_port()
    hooks = tmp_path / "webhooks.yaml"
    hooks.write_text(f"health:\n  url: http://127.0.0.1:{port}/kinlink\n")
    monkeypatch.setenv("KINLINK_NOTIFY_WEBHOOKS", str(hooks))
    monkeypatch.setenv("KINLINK_NOTIFY_INTERVAL_SECONDS", "0.2")
    yield copy_index(linked_population, tmp_path / "install"), port


def test_kill_9_after_the_audit_write_still_delivers_when_the_receiver_is_back(
        hooked: tuple[Path, int], people: People, tmp_path: Path) -> None:
    db, port = hooked
    gateway = start_gateway(db, tmp_path / "server.log")
    try:
        _read(gateway, "social-worker", people)       # audited; the receiver is down
        gateway.process.send_signal(signal.SIGKILL)   # killed before any delivery succeeded
        gateway.process.wait()
        receiver = Receiver(port)                     # the agency's endpoint is back
        gateway = _serve_again(gateway)
        deadline = time.monotonic() + 40
        while not receiver.received and time.monotonic() < deadline:
            time.sleep(0.2)
        receiver.close()
        assert receiver.received, gateway.log_text()
        jwks = httpx.get(f"{gateway.base}/oauth/jwks.json", timeout=10).json()
    finally:
        gateway.stop()
    headers, token = receiver.received[0]
    header = jwt.get_unverified_header(token)
    assert header["typ"] == JWS_TYPE and header["alg"] == "ES256"
    (key,) = [k for k in jwks["keys"] if k["kid"] == header["kid"]]
    public = jwt.PyJWK(key).key
    body = json.loads(jwt.api_jws.decode(token, public, algorithms=["ES256"]))
    assert body["owner_agency"] == "health" and body["person_id"] == people.child_everywhere
    assert headers["Kinlink-Notification-Id"] == body["id"] == f"{body['seq']}:health"
    assert not [v for v in people.personal_values if v in token + json.dumps(body)]
    assert {h["Kinlink-Notification-Id"] for h, _ in receiver.received} == {body["id"]}


def test_dead_letters_are_listed_for_ig_only_and_replayed(
        linked_population: Path, people: People, tmp_path: Path) -> None:
    db = copy_index(linked_population, tmp_path)
    settings = GatewaySettings(db_path=db, issuer="http://testserver", policy_date=POLICY_DATE)
    registry = ClientRegistry(settings.clients_path)
    sw, sw_secret = registry.add("sw", "social_care", "mash-social-worker", ["s47-enquiry"])
    ig, ig_secret = registry.add("ig", "social_care", "ig-officer", ["ig-oversight"])
    application = create_app(settings)
    port = free_port()
    now = [dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)]
    with TestClient(application) as http:
        def token(client_id: str, secret: str) -> dict[str, str]:
            answer = http.post("/oauth/token", data={"grant_type": "client_credentials"},
                               auth=(client_id, secret)).json()
            return {"Authorization": f"Bearer {answer['access_token']}"}

        delivery = WebhookDelivery(application.state.audit, application.state.keys,
                                   {"health": Webhook("health", f"http://127.0.0.1:{port}/k")},
                                   max_attempts=2, base_seconds=30, clock=lambda: now[0],
                                   timeout=1)
        ok = http.get(f"/v1/persons/{people.child_everywhere}",
                      params={"purpose": "s47-enquiry", "justification": JUSTIFICATION},
                      headers=token(sw.client_id, sw_secret))
        assert ok.status_code == 200
        assert delivery.deliver_due() == 0                      # nobody listening: failed
        now[0] += dt.timedelta(seconds=10)
        assert delivery.deliver_due() == 0                      # not yet due again: no try
        now[0] += dt.timedelta(seconds=30)
        assert delivery.deliver_due() == 0                      # second failure: dead
        admin = token(ig.client_id, ig_secret)
        listed = http.get("/v1/notifications/dead-letters", headers=admin).json()["dead_letters"]
        assert [(n["owner_agency"], n["delivery"]) for n in listed] == [("health", "dead")]
        refused = http.get("/v1/notifications/dead-letters",
                           headers=token(sw.client_id, sw_secret))
        assert refused.status_code == 403
        receiver = Receiver(port)
        seq = listed[0]["seq"]
        replayed = http.post(f"/v1/notifications/dead-letters/{seq}/health/replay",
                             headers=admin)
        assert replayed.status_code == 202, replayed.text
        again = http.post(f"/v1/notifications/dead-letters/{seq}/health/replay", headers=admin)
        assert again.status_code == 409                          # no longer dead
        assert delivery.deliver_due() == 1
        receiver.close()
        delivery.stop()
        assert http.get("/v1/notifications/dead-letters", headers=admin).json() == {
            "dead_letters": []}
    assert len(receiver.received) == 1
