"""Person, involvement and family views over real HTTP: what each purpose releases, what it
withholds and why, object-level refusals, and exactly one audit event per subject per request.

The last test stops the server and reads its audit trail, so it sees every request made above.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from kinlink.cli import app
from tests.gateway.conftest import JUSTIFICATION, Gateway, People, read_audit

#: (request_id, subject person ID, expected outcome, HTTP status, events expected) for every data
#: request this module makes: the audit trail must hold exactly these.
SENT: list[tuple[str, str, str, int, int]] = []


def call(gateway: Gateway, client: str, path: str, expect_outcome: str, subject: str,
         events: int = 1, **params: Any) -> httpx.Response:
    request_id = uuid.uuid4().hex
    response = httpx.get(f"{gateway.base}{path}", params=params, timeout=30, headers={
        "Authorization": f"Bearer {gateway.token(client)}", "X-Request-ID": request_id})
    SENT.append((request_id, subject, expect_outcome, response.status_code, events))
    return response


def test_s47_social_worker_sees_every_agency(gateway: Gateway, people: People) -> None:
    r = call(gateway, "social-worker", f"/v1/persons/{people.child_everywhere}", "permit",
             people.child_everywhere, purpose="s47-enquiry", justification=JUSTIFICATION)
    assert r.status_code == 200, r.text
    body = r.json()
    assert r.headers["cache-control"] == "no-store"
    assert {rec["agency"] for rec in body["records"]} == {"health", "education", "social_care",
                                                          "police"}
    assert set(body["decision"]["matched_rules"]) >= {"MASH-3.1", "MASH-4.2", "MASH-4.3"}
    assert all("identity" in rec for rec in body["records"])
    social = [rec for rec in body["records"] if rec["agency"] == "social_care"]
    assert any("case_status" in rec.get("data", {}) for rec in social)


def test_short_justification_keeps_identity_but_withholds_detail(gateway: Gateway,
                                                                  people: People) -> None:
    r = call(gateway, "social-worker", f"/v1/persons/{people.child_everywhere}", "permit",
             people.child_everywhere, purpose="s47-enquiry", justification="s47")
    assert r.status_code == 200
    body = r.json()
    for rec in body["records"]:
        assert "identity" in rec
        assert set(rec.get("data", {})) <= set(), rec   # no detail category survives
    withheld = {(w["source_party"], w["category"], w["clause"]) for w in body["withheld"]}
    assert ("social_care", "cp-plan", "MASH-4.2") in withheld
    assert ("police", "criminal-offence", "MASH-4.3") in withheld


def test_triage_never_releases_child_protection_plans(gateway: Gateway, people: People) -> None:
    r = call(gateway, "police", f"/v1/persons/{people.child_everywhere}", "permit",
             people.child_everywhere, purpose="mash-triage")
    assert r.status_code == 200
    body = r.json()
    for rec in body["records"]:
        assert "cp_plan" not in rec.get("data", {})
        assert "safeguarding_flag" not in rec.get("data", {})
        assert "send_status" not in rec.get("data", {})
    categories = {(w["source_party"], w["category"]) for w in body["withheld"]}
    assert ("social_care", "cp-plan") in categories
    assert ("health", "safeguarding-flags") in categories


def test_minimisation_to_requested_categories(gateway: Gateway, people: People) -> None:
    r = call(gateway, "social-worker", f"/v1/persons/{people.child_everywhere}", "permit",
             people.child_everywhere, purpose="s47-enquiry", justification=JUSTIFICATION,
             categories="identity")
    assert r.status_code == 200
    for rec in r.json()["records"]:
        assert "identity" in rec and "address" not in rec and "data" not in rec


def test_caller_without_a_relationship_is_refused(gateway: Gateway, people: People) -> None:
    """Object-level authorisation: health visitors see only children health knows."""
    r = call(gateway, "health-visitor", f"/v1/persons/{people.police_only}", "deny",
             people.police_only, purpose="direct-care")
    assert r.status_code == 403
    body = r.json()
    assert body["records"] == [] and body["withheld"] == []
    assert body["decision"]["effect"] == "deny"


def test_early_help_without_consent_is_refused(gateway: Gateway, people: People) -> None:
    r = call(gateway, "school", f"/v1/persons/{people.child_everywhere}", "deny",
             people.child_everywhere, purpose="early-help")
    assert r.status_code == 403 and r.json()["records"] == []
    given = call(gateway, "school", f"/v1/persons/{people.child_everywhere}", "permit",
                 people.child_everywhere, purpose="early-help", consent="given")
    assert given.status_code == 200
    assert {rec["agency"] for rec in given.json()["records"]} <= {"education", "social_care"}


def test_purpose_not_granted_to_the_client(gateway: Gateway, people: People) -> None:
    r = call(gateway, "school", f"/v1/persons/{people.child_everywhere}", "deny",
             people.child_everywhere, purpose="s47-enquiry", justification=JUSTIFICATION)
    assert r.status_code == 403
    assert "records" not in r.json()


def test_unknown_purpose(gateway: Gateway, people: People) -> None:
    r = call(gateway, "police", f"/v1/persons/{people.child_everywhere}", "deny",
             people.child_everywhere, purpose="curiosity")
    assert r.status_code == 400 and "unknown purpose" in r.json()["detail"]


def test_unknown_person(gateway: Gateway) -> None:
    r = call(gateway, "police", "/v1/persons/PAAAAAAAAAAAAA", "deny", "PAAAAAAAAAAAAA",
             purpose="s47-enquiry")
    assert r.status_code == 404


def test_who_knows_this_child(gateway: Gateway, people: People) -> None:
    r = call(gateway, "social-worker", f"/v1/persons/{people.child_everywhere}/involvements",
             "permit", people.child_everywhere, purpose="mash-triage")
    assert r.status_code == 200, r.text
    involved = {e["agency"]: e for e in r.json()["involved"]}
    assert set(involved) == {"health", "education", "social_care", "police"}
    # Triage may name professionals for health and social care, never education's records.
    assert all(not involved[a]["contacts"] for a in ("education", "police"))


def test_family_view_audits_each_member(gateway: Gateway, people: People) -> None:
    r = httpx.get(f"{gateway.base}/v1/persons/{people.child_everywhere}/family",
                  params={"purpose": "s47-enquiry", "justification": JUSTIFICATION}, timeout=30,
                  headers={"Authorization": f"Bearer {gateway.token('social-worker')}",
                           "X-Request-ID": (rid := uuid.uuid4().hex)})
    assert r.status_code == 200, r.text
    members = [m for f in r.json()["families"] for m in f["members"]]
    assert any(m["person_id"] == people.child_everywhere for m in members)
    assert len(members) >= 2
    others = len({m["person_id"] for m in members} - {people.child_everywhere})
    SENT.append((rid, people.child_everywhere, "permit", 200, 1 + others))


@pytest.mark.parametrize("purpose", ["", "S47 ENQUIRY", "x" * 65])
def test_malformed_purpose_is_a_client_error(gateway: Gateway, people: People,
                                             purpose: str) -> None:
    r = httpx.get(f"{gateway.base}/v1/persons/{people.child_everywhere}", timeout=10,
                  params={"purpose": purpose},
                  headers={"Authorization": f"Bearer {gateway.token('police')}"})
    assert r.status_code == 422


def test_malformed_person_id_is_a_client_error(gateway: Gateway) -> None:
    r = httpx.get(f"{gateway.base}/v1/persons/..%2F..%2Fetc", params={"purpose": "s47-enquiry"},
                  headers={"Authorization": f"Bearer {gateway.token('police')}"}, timeout=10)
    assert r.status_code in (404, 422)


def test_oversized_and_malformed_bodies(gateway: Gateway) -> None:
    big = httpx.post(f"{gateway.base}/oauth/token", content=b"a" * 200_000, timeout=10,
                     headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert big.status_code == 413
    junk = httpx.post(f"{gateway.base}/oauth/token", content=b"\xff\xfe\x00garbage", timeout=10,
                      headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert 400 <= junk.status_code < 500


def test_security_headers(gateway: Gateway) -> None:
    r = httpx.get(f"{gateway.base}/healthz", timeout=10)
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"] == "no-referrer"


def test_zz_every_request_has_exactly_its_audit_events_and_logs_hold_no_personal_data(
    gateway: Gateway, people: People
) -> None:
    gateway.stop()
    events = read_audit(gateway.db)
    by_request: dict[str, list[dict[str, Any]]] = {}
    for event in events:
        by_request.setdefault(str(event.get("request_id")), []).append(event)
    assert len(SENT) >= 10
    for request_id, subject, outcome, status, expected in SENT:
        mine = by_request.pop(request_id, [])
        assert len(mine) == expected, (request_id, subject, mine)
        head = mine[0]
        assert head["outcome"] == outcome and head["http_status"] == status
        assert head["subject_person_id"] == subject
        assert head["purpose"] and head["client_id"] and head["token_jti"]
        if outcome == "permit":
            assert head["policy_hash"] and head["matched_rules"]
    assert not by_request, f"audit events for requests this test did not make: {list(by_request)}"
    verified = CliRunner().invoke(app, ["audit", "verify", "--db", str(gateway.db)])
    assert verified.exit_code == 0, verified.output
    log = gateway.log_text()
    assert '"route": "/v1/persons/{person_id}"' in log or '"route":"/v1/persons/{person_id}"' in log
    for value in (*people.personal_values, people.child_everywhere, JUSTIFICATION):
        assert value not in log, f"personal data in the application log: {value[:2]}…"
