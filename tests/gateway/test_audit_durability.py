"""No answer without its audit event: a failed audit write refuses the request, and a server killed
mid-load has recorded every answer it sent."""

from __future__ import annotations

import signal
import threading
import time
import uuid
from pathlib import Path

import httpx
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from gateway.app import create_app
from gateway.clients import ClientRegistry
from gateway.settings import GatewaySettings
from kinlink.cli import app as cli
from tests.conftest import POLICY_DATE
from tests.gateway.conftest import JUSTIFICATION, People, copy_index, read_audit, start_gateway


def test_audit_failure_means_503_and_nothing_disclosed(linked_population: Path, people: People,
                                                        tmp_path: Path) -> None:
    db = copy_index(linked_population, tmp_path)
    settings = GatewaySettings(db_path=db, issuer="http://testserver", policy_date=POLICY_DATE)
    client, secret = ClientRegistry(settings.clients_path).add(
        "sw", "social_care", "mash-social-worker", ["s47-enquiry"])
    application = create_app(settings)
    with TestClient(application) as http:
        token = http.post("/oauth/token", data={"grant_type": "client_credentials"},
                          auth=(client.client_id, secret)).json()["access_token"]
        params = {"purpose": "s47-enquiry", "justification": JUSTIFICATION}
        headers = {"Authorization": f"Bearer {token}"}
        ok = http.get(f"/v1/persons/{people.child_everywhere}", params=params, headers=headers)
        assert ok.status_code == 200 and ok.json()["records"]
        application.state.audit.close()          # the audit store goes away under the server
        refused = http.get(f"/v1/persons/{people.child_everywhere}", params=params,
                           headers=headers)
    assert refused.status_code == 503
    assert "records" not in refused.json()
    assert all(v not in refused.text for v in people.personal_values)
    assert len(read_audit(db)) == 1


def test_kill_9_mid_load_loses_no_event_for_a_sent_response(linked_population: Path,
                                                             people: People,
                                                             tmp_path: Path) -> None:
    db = copy_index(linked_population, tmp_path)
    gateway = start_gateway(db, tmp_path / "server.log")
    tokens = {name: gateway.token(name) for name in ("social-worker", "health-visitor")}
    answered: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()

    def load(client: str, purpose: str) -> None:
        with httpx.Client(base_url=gateway.base, timeout=10) as http:
            while not stop.is_set():
                request_id = uuid.uuid4().hex
                try:
                    r = http.get(f"/v1/persons/{people.child_everywhere}",
                                 params={"purpose": purpose, "justification": JUSTIFICATION},
                                 headers={"Authorization": f"Bearer {tokens[client]}",
                                          "X-Request-ID": request_id})
                except httpx.HTTPError:
                    return                         # the server is gone
                if r.status_code in (200, 403):
                    with lock:
                        answered.append(request_id)

    workers = [threading.Thread(target=load, args=args) for args in
               [("social-worker", "s47-enquiry"), ("social-worker", "mash-triage"),
                ("health-visitor", "direct-care"), ("social-worker", "s47-enquiry")]]
    for w in workers:
        w.start()
    time.sleep(3)
    gateway.process.send_signal(signal.SIGKILL)
    gateway.process.wait()
    stop.set()
    for w in workers:
        w.join(timeout=15)
    print(f"answered before kill: {len(answered)}")
    assert len(answered) > 20, f"the load never got going ({len(answered)} answers)"
    recorded = {e.get("request_id") for e in read_audit(db)}
    lost = [r for r in answered if r not in recorded]
    assert not lost, f"{len(lost)} answered requests have no audit event"
    verified = CliRunner().invoke(cli, ["audit", "verify", "--db", str(db)])
    assert verified.exit_code == 0, verified.output
