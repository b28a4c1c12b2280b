"""Identity resolution over real HTTP, as JSON and as FHIR Patient/$match, audited per candidate."""

from __future__ import annotations

import uuid
from typing import Any

import duckdb
import httpx
import pytest

from tests.gateway.conftest import Gateway, People, read_audit

SENT: list[tuple[str, list[str]]] = []  # request id, person IDs returned


def demographics(gateway: Gateway, person: str) -> dict[str, Any]:
    with duckdb.connect(str(gateway.db), read_only=True) as con:
        row = con.execute(
            "SELECT s.nhs_number, s.given_name, s.family_name, s.dob, s.sex, s.postcode "
            "FROM source_records s JOIN record_links l USING (unique_id) WHERE l.person_id = ? "
            "AND s.dob IS NOT NULL AND s.given_name IS NOT NULL ORDER BY s.nhs_number NULLS LAST "
            "LIMIT 1", [person]).fetchall()[0]
    return dict(zip(("nhs_number", "given_name", "family_name", "dob", "sex", "postcode"), row,
                    strict=True))


def post(gateway: Gateway, path: str, body: Any, client: str = "social-worker",
         purpose: str = "mash-triage", **headers: str) -> httpx.Response:
    request_id = uuid.uuid4().hex
    response = httpx.post(f"{gateway.base}{path}", params={"purpose": purpose}, json=body,
                          timeout=30, headers={"Authorization": f"Bearer {gateway.token(client)}",
                                               "X-Request-ID": request_id, **headers})
    if response.status_code == 200:
        body = response.json()
        ids = ([c["person_id"] for c in body["candidates"]] if "candidates" in body
               else [e["resource"]["id"] for e in body.get("entry", [])])
        SENT.append((request_id, ids))
    return response


def test_resolve_by_demographics_with_typos(gateway: Gateway, people: People) -> None:
    d = demographics(gateway, people.child_everywhere)
    family = d["family_name"]
    query = {"given_name": d["given_name"].upper(), "family_name": family[:-1] + "x",
             "dob": d["dob"], "postcode": d["postcode"]}
    r = post(gateway, "/v1/resolve", query)
    assert r.status_code == 200, r.text
    first = r.json()["candidates"][0]
    assert first["person_id"] == people.child_everywhere
    comparisons = {e["comparison"]: e for e in first["explanation"]}
    assert comparisons["dob"]["match_weight"] > 5 and comparisons["family_name"]["level"]
    assert r.headers["cache-control"] == "no-store"


def test_fhir_patient_match_by_nhs_number(gateway: Gateway, people: People) -> None:
    d = demographics(gateway, people.child_everywhere)
    assert d["nhs_number"], "the test child should have an NHS number"
    parameters = {"resourceType": "Parameters", "parameter": [
        {"name": "resource", "resource": {
            "resourceType": "Patient",
            "identifier": [{"system": "https://fhir.nhs.uk/Id/nhs-number",
                            "value": d["nhs_number"]}],
            "name": [{"family": d["family_name"], "given": [d["given_name"]]}],
            "birthDate": d["dob"]}},
        {"name": "count", "valueInteger": 3},
        {"name": "onlyCertainMatches", "valueBoolean": True}]}
    r = post(gateway, "/fhir/Patient/$match", parameters,
             **{"Content-Type": "application/fhir+json"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/fhir+json")
    bundle = r.json()
    assert bundle["resourceType"] == "Bundle" and bundle["type"] == "searchset"
    entry = bundle["entry"][0]
    assert entry["resource"]["id"] == people.child_everywhere
    assert entry["search"]["extension"][0]["valueCode"] == "certain"
    assert 0.99 <= entry["search"]["score"] <= 1


@pytest.mark.parametrize("body,status", [
    ({"resourceType": "Patient"}, 400),
    ({"resourceType": "Parameters", "parameter": []}, 400),
    ({"resourceType": "Parameters", "parameter": [{"name": "resource", "resource": {
        "resourceType": "Patient", "birthDate": "2015"}}]}, 400),
    ({"resourceType": "Parameters", "parameter": [{"name": "resource", "resource": {
        "resourceType": "Patient", "gender": "x"}}]}, 400),
])
def test_fhir_bad_input_is_an_operation_outcome(gateway: Gateway, body: Any, status: int) -> None:
    r = post(gateway, "/fhir/Patient/$match", body)
    assert r.status_code == status
    assert r.json()["resourceType"] == "OperationOutcome"


@pytest.mark.parametrize("body", [{}, {"dob": "not a date"}, {"given_name": "x" * 500},
                                  {"nhs_number": "1", "colour": "red"}])
def test_bad_resolve_queries_are_422(gateway: Gateway, body: dict[str, str]) -> None:
    assert post(gateway, "/v1/resolve", body).status_code == 422


def test_resolve_needs_a_granted_purpose(gateway: Gateway) -> None:
    r = post(gateway, "/v1/resolve", {"given_name": "Ava"}, client="school",
             purpose="s47-enquiry")
    assert r.status_code == 403


def test_zz_each_returned_candidate_has_its_audit_event_with_the_query(gateway: Gateway) -> None:
    gateway.stop()
    events = read_audit(gateway.db)
    assert SENT
    for request_id, persons in SENT:
        mine = [e for e in events if e.get("request_id") == request_id]
        permitted = {e["subject_person_id"] for e in mine if e["outcome"] == "permit"}
        assert set(persons) <= permitted, (persons, permitted)
        assert all(e["event_type"] == "PatientQuery" and e["query"] for e in mine)
