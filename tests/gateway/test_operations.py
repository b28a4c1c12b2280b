"""Readiness and metrics: ready only when every dependency works; no personal data in any label."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
from fastapi.testclient import TestClient

from gateway.app import create_app
from gateway.settings import GatewaySettings
from tests.conftest import POLICY_DATE
from tests.gateway.conftest import JUSTIFICATION, Gateway, People, copy_index


def test_ready_and_metrics_after_traffic(gateway: Gateway, people: People) -> None:
    ready = httpx.get(f"{gateway.base}/readyz", timeout=10)
    assert ready.status_code == 200, ready.text
    assert set(ready.json()["checks"].values()) == {"ok"}
    # A gateway judging agreements at a fixed date must say so where operators look.
    assert ready.json()["policy_date"] == POLICY_DATE.isoformat()
    token = gateway.token("social-worker")
    for person in (people.child_everywhere, people.police_only, "PAAAAAAAAAAAAA"):
        httpx.get(f"{gateway.base}/v1/persons/{person}", timeout=10,
                  params={"purpose": "s47-enquiry", "justification": JUSTIFICATION},
                  headers={"Authorization": f"Bearer {token}"})
    httpx.get(f"{gateway.base}/v1/persons/{people.child_everywhere}/nonsense", timeout=10)
    text = httpx.get(f"{gateway.base}/metrics", timeout=10).text
    assert 'kinlink_policy_decisions_total{outcome="permit",purpose="s47-enquiry"}' in text
    assert 'route="/v1/persons/{person_id}"' in text
    assert "kinlink_audit_write_seconds_count" in text
    assert re.search(r"kinlink_review_queue_length \d", text)
    labels = " ".join(re.findall(r"\{([^}]*)\}", text))
    for value in (*people.personal_values, people.child_everywhere, people.police_only,
                  "PAAAAAAAAAAAAA", "nonsense", JUSTIFICATION):
        assert value not in labels, f"personal data or a raw path in a metric label: {value[:3]}…"


def test_not_ready_without_an_audit_store(linked_population: Path, tmp_path: Path) -> None:
    db = copy_index(linked_population, tmp_path)
    application = create_app(GatewaySettings(db_path=db, issuer="http://testserver", policy_date=POLICY_DATE))
    with TestClient(application) as http:
        assert http.get("/readyz").status_code == 200
        application.state.audit.close()
        down = http.get("/readyz")
    assert down.status_code == 503
    assert down.json()["checks"]["audit_store"] != "ok"
    assert down.json()["checks"]["identity_index"] == "ok"


def test_not_ready_without_an_index(linked_population: Path, tmp_path: Path) -> None:
    db = copy_index(linked_population, tmp_path)
    application = create_app(GatewaySettings(db_path=db, issuer="http://testserver", policy_date=POLICY_DATE))
    db.unlink()
    with TestClient(application) as http:
        down = http.get("/readyz")
    assert down.status_code == 503 and down.json()["checks"]["identity_index"] == "IndexNotFound"


def test_several_workers_on_one_duckdb_file_are_refused(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from kinlink.cli import app

    refused = CliRunner().invoke(app, ["serve", "--db", str(tmp_path / "k.duckdb"),
                                       "--workers", "2"])
    assert refused.exit_code == 2
    assert "needs a PostgreSQL database" in refused.output


def test_readyz_names_no_policy_date_when_the_gateway_uses_today(linked_population: Path,
                                                                 tmp_path: Path) -> None:
    db = copy_index(linked_population, tmp_path)
    application = create_app(GatewaySettings(db_path=db, issuer="http://testserver"))
    with TestClient(application) as http:
        assert "policy_date" not in http.get("/readyz").json()
