"""Clerical review over real HTTP: queue, side-by-side pair, decision — each gated by the
``identity-review`` purpose in the sharing agreement and each audited."""

from __future__ import annotations

import uuid

import httpx
import pytest

from gateway.clients import ClientRegistry
from linkage.review.decisions import DecisionStore, decisions_path_for
from tests.gateway.conftest import Credentials, Gateway, read_audit

PURPOSE = {"purpose": "identity-review"}


@pytest.fixture(scope="module")
def reviewer(gateway: Gateway) -> str:
    registry = ClientRegistry(gateway.settings.clients_path)
    client, secret = registry.add("reviewer", "social_care", "linkage-reviewer", ["identity-review"])
    gateway.clients["reviewer"] = Credentials(client.client_id, secret)
    impostor, secret2 = registry.add("impostor", "social_care", "mash-social-worker",
                                     ["identity-review"])
    gateway.clients["impostor"] = Credentials(impostor.client_id, secret2)
    return gateway.token("reviewer")


#: request id → the subjects whose audit events the request must have written (one each).
SENT: dict[str, set[str]] = {}


def get(gateway: Gateway, token: str, path: str, **params: str) -> httpx.Response:
    request_id = uuid.uuid4().hex
    response = httpx.get(f"{gateway.base}{path}", params={**PURPOSE, **params}, timeout=30,
                         headers={"Authorization": f"Bearer {token}", "X-Request-ID": request_id})
    if response.status_code == 200 and path.endswith("/queue"):
        items = response.json()["items"]
        SENT[request_id] = {i["person_left"] for i in items} | {i["person_right"] for i in items}
    elif response.status_code == 200:
        body = response.json()
        SENT[request_id] = {body["person_left"], body["person_right"]}
    return response


def test_queue_pair_and_decision(gateway: Gateway, reviewer: str) -> None:
    queue = get(gateway, reviewer, "/v1/review/queue")
    assert queue.status_code == 200, queue.text
    items = queue.json()["items"]
    assert items, "the population should leave some uncertain pairs"
    children = [i["involves_child"] for i in items]
    assert children == sorted(children, reverse=True)      # children first
    first = items[0]
    pair = get(gateway, reviewer, "/v1/review/pair", left=first["left"], right=first["right"])
    assert pair.status_code == 200, pair.text
    fields = {f["field"]: f for f in pair.json()["fields"]}
    assert {"given_name", "family_name", "dob", "postcode"} <= set(fields)
    assert all(f["comparison"] in ("", "agree", "differ", "missing") for f in fields.values())
    decision_request = uuid.uuid4().hex
    made = httpx.post(f"{gateway.base}/v1/review/decisions", params=PURPOSE, timeout=30,
                      headers={"Authorization": f"Bearer {reviewer}",
                               "X-Request-ID": decision_request},
                      json={"left": first["left"], "right": first["right"],
                            "decision": "different", "reason": "different mothers on both records"})
    assert made.status_code == 201, made.text
    SENT[decision_request] = {first["person_left"], first["person_right"]}
    stored = DecisionStore(decisions_path_for(gateway.db)).active()
    assert made.json()["decision_id"] in set(stored["decision_id"])
    again = get(gateway, reviewer, "/v1/review/queue").json()["items"]
    assert (first["left"], first["right"]) not in {(i["left"], i["right"]) for i in again}


def test_a_role_the_agreement_does_not_name_cannot_review(gateway: Gateway, reviewer: str) -> None:
    token = gateway.token("impostor")
    assert get(gateway, token, "/v1/review/queue").status_code == 403


def test_a_client_without_the_purpose_cannot_review(gateway: Gateway, reviewer: str) -> None:
    token = gateway.token("social-worker")
    assert get(gateway, token, "/v1/review/queue").status_code == 403


@pytest.mark.parametrize("body", [
    {"left": "health:H1", "right": "health:H1", "decision": "same", "reason": "same record"},
    {"left": "x", "right": "health:H2", "decision": "same", "reason": "bad key"},
    {"left": "health:H1", "right": "health:H2", "decision": "maybe", "reason": "bad verdict"},
    {"left": "health:H1", "right": "health:H2", "decision": "same", "reason": ""},
])
def test_bad_decisions_are_client_errors(gateway: Gateway, reviewer: str,
                                         body: dict[str, str]) -> None:
    r = httpx.post(f"{gateway.base}/v1/review/decisions", params=PURPOSE, json=body, timeout=30,
                   headers={"Authorization": f"Bearer {reviewer}"})
    assert r.status_code in (404, 422), r.text


def test_zz_each_review_request_audited_once_per_subject(gateway: Gateway) -> None:
    gateway.stop()
    events = read_audit(gateway.db)
    assert SENT
    for request_id, subjects in SENT.items():
        mine = [e for e in events if e.get("request_id") == request_id]
        assert sorted(e["subject_person_id"] for e in mine) == sorted(subjects), request_id
        assert all(e["outcome"] == "permit" and e["purpose"] == "identity-review" for e in mine)
