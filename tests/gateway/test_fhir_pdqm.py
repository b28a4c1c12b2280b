"""PDQm Patient $match (IHE ITI-119), the Patient read and the CapabilityStatement, rule by rule,
against a real ``kinlink serve`` over HTTP; every response is parsed with ``fhir.resources``."""

from __future__ import annotations

import uuid
from typing import Any

import duckdb
import httpx
import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.capabilitystatement import CapabilityStatement
from fhir.resources.R4B.operationoutcome import OperationOutcome
from fhir.resources.R4B.patient import Patient

from audit.fhir_export import to_fhir
from gateway.fhir.capability import MAX_COUNT
from tests.gateway.conftest import Gateway, People, read_audit

NHS = "https://fhir.nhs.uk/Id/nhs-number"
GRADE = "http://hl7.org/fhir/StructureDefinition/match-grade"
GRADES = ("certain", "probable", "possible", "certainly-not")
SENT: list[tuple[str, list[str]]] = []  # request id, person IDs returned by $match


def child(gateway: Gateway, person: str) -> dict[str, Any]:
    with duckdb.connect(str(gateway.db), read_only=True) as con:
        row = con.execute(
            "SELECT s.nhs_number, s.given_name, s.family_name, s.dob, s.sex, s.postcode, s.address "
            "FROM source_records s JOIN record_links l USING (unique_id) WHERE l.person_id = ? "
            "AND s.dob IS NOT NULL AND s.given_name IS NOT NULL AND s.postcode IS NOT NULL "
            "ORDER BY s.nhs_number NULLS LAST LIMIT 1", [person]).fetchall()[0]
    return dict(zip(("nhs_number", "given", "family", "dob", "sex", "postcode", "address"), row,
                    strict=True))


def patient_of(d: dict[str, Any], with_nhs: bool = False) -> dict[str, Any]:
    patient: dict[str, Any] = {
        "resourceType": "Patient", "name": [{"family": d["family"], "given": [d["given"]]}],
        "birthDate": d["dob"], "gender": {"M": "male", "F": "female"}.get(d["sex"], "unknown"),
        "address": [{"line": d["address"].split(", ")[:1], "postalCode": d["postcode"]}]}
    if with_nhs:
        patient["identifier"] = [{"system": NHS, "value": d["nhs_number"]}]
    return patient


def household(d: dict[str, Any]) -> dict[str, Any]:
    """The child's surname and house only: the household's people all fit, none certainly."""
    return {"resourceType": "Patient", "name": [{"family": d["family"]}],
            "address": [{"line": d["address"].split(", ")[:1], "city": d["address"].split(", ")[-1],
                         "postalCode": d["postcode"]}]}


def parameters(patient: dict[str, Any], **extra: Any) -> dict[str, Any]:
    params: list[dict[str, Any]] = [{"name": "resource", "resource": patient}]
    for name, value in extra.items():
        key = "valueBoolean" if isinstance(value, bool) else "valueInteger"
        params.append({"name": name, key: value})
    return {"resourceType": "Parameters", "parameter": params}


def call(gateway: Gateway, method: str, path: str, body: Any = None, client: str = "social-worker",
         purpose: str = "mash-triage", token: bool = True, **headers: str) -> httpx.Response:
    request_id = uuid.uuid4().hex
    sent = {"X-Request-ID": request_id, "Content-Type": "application/fhir+json", **headers}
    if token:
        sent["Authorization"] = f"Bearer {gateway.token(client)}"
    content = body if isinstance(body, bytes) else None
    response = httpx.request(method, f"{gateway.base}{path}", params={"purpose": purpose},
                             json=None if content is not None else body, content=content,
                             headers=sent, timeout=30)
    if path.endswith("$match") and response.status_code == 200:
        SENT.append((request_id, [e["resource"]["id"] for e in response.json()["entry"]
                                  if e["search"]["mode"] == "match"]))
    return response


def bundle_of(response: httpx.Response) -> Bundle:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/fhir+json")
    bundle = Bundle.model_validate(response.json())
    assert bundle.type == "searchset"
    matches = [e for e in bundle.entry or [] if e.search.mode == "match"]
    assert bundle.total == len(matches)
    for entry in matches:
        assert 0 <= entry.search.score <= 1
        grades = [x.valueCode for x in entry.search.extension if x.url == GRADE]
        assert len(grades) == 1 and grades[0] in GRADES
        Patient.model_validate(entry.resource.model_dump())
    return bundle


def outcome_of(response: httpx.Response, status: int) -> OperationOutcome:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/fhir+json")
    return OperationOutcome.model_validate(response.json())


def match_ids(bundle: Bundle) -> list[str]:
    return [e.resource.id for e in bundle.entry or [] if e.search.mode == "match"]


# --- input: a Parameters resource or a bare Patient -----------------------------------------


def test_a_bare_patient_is_matched(gateway: Gateway, people: People) -> None:
    d = child(gateway, people.child_everywhere)
    bundle = bundle_of(call(gateway, "POST", "/fhir/Patient/$match", patient_of(d)))
    assert match_ids(bundle)[0] == people.child_everywhere


def test_parameters_with_the_nhs_number_find_the_child_certainly(gateway: Gateway,
                                                                 people: People) -> None:
    d = child(gateway, people.child_everywhere)
    assert d["nhs_number"], "the test child should have an NHS number"
    bundle = bundle_of(call(gateway, "POST", "/fhir/Patient/$match",
                            parameters(patient_of(d, with_nhs=True))))
    first = bundle.entry[0]
    assert first.resource.id == people.child_everywhere
    assert first.search.extension[0].valueCode == "certain" and first.search.score >= 0.9999
    assert first.fullUrl == f"{gateway.base}/fhir/Patient/{people.child_everywhere}"


# --- count caps the entries -----------------------------------------------------------------


def test_count_above_the_maximum_is_capped_not_refused(gateway: Gateway, people: People) -> None:
    d = child(gateway, people.child_everywhere)
    loose = household(d)
    bundle = bundle_of(call(gateway, "POST", "/fhir/Patient/$match", parameters(loose, count=50)))
    assert 1 <= bundle.total <= MAX_COUNT
    notes = [e.resource.issue[0].diagnostics for e in bundle.entry if e.search.mode == "outcome"]
    assert any("capped" in n for n in notes)


def test_count_caps_the_entries(gateway: Gateway, people: People) -> None:
    d = child(gateway, people.child_everywhere)
    loose = household(d)
    several = bundle_of(call(gateway, "POST", "/fhir/Patient/$match", parameters(loose, count=5)))
    assert several.total >= 2, "the household should give several candidates"
    one = bundle_of(call(gateway, "POST", "/fhir/Patient/$match", parameters(loose, count=1)))
    assert one.total == 1 and match_ids(one) == match_ids(several)[:1]


@pytest.mark.parametrize("parameter", [
    {"name": "count", "valueInteger": 0}, {"name": "count", "valueInteger": -3},
    {"name": "count", "valueString": "5"}, {"name": "count", "valueBoolean": True},
    {"name": "onlyCertainMatches", "valueString": "yes"},
])
def test_bad_count_or_flag_is_a_400_naming_the_parameter(gateway: Gateway, people: People,
                                                         parameter: dict[str, Any]) -> None:
    body = parameters(patient_of(child(gateway, people.child_everywhere)))
    body["parameter"].append(parameter)
    outcome = outcome_of(call(gateway, "POST", "/fhir/Patient/$match", body), 400)
    assert outcome.issue[0].expression == [f"Parameters.parameter[1].value"
                                           f"{'Integer' if parameter['name'] == 'count' else 'Boolean'}"]


# --- onlyCertainMatches -----------------------------------------------------------------------


def test_only_certain_matches_returns_only_certain_ones(gateway: Gateway, people: People) -> None:
    d = child(gateway, people.child_everywhere)
    loose = household(d)
    everything = bundle_of(call(gateway, "POST", "/fhir/Patient/$match",
                                parameters(loose, count=20)))
    grades = [e.search.extension[0].valueCode for e in everything.entry if e.search.mode == "match"]
    assert any(g != "certain" for g in grades)
    certain = bundle_of(call(gateway, "POST", "/fhir/Patient/$match",
                             parameters(loose, count=20, onlyCertainMatches=True)))
    assert all(e.search.extension[0].valueCode == "certain"
               for e in certain.entry or [] if e.search.mode == "match")
    assert certain.total <= 1
    exact = bundle_of(call(gateway, "POST", "/fhir/Patient/$match",
                           parameters(patient_of(d, with_nhs=True), onlyCertainMatches=True)))
    assert match_ids(exact) == [people.child_everywhere]


# --- the Patient carries what the purpose permits -------------------------------------------


def test_the_matched_patient_carries_nhs_number_name_birth_date_gender_and_address(
        gateway: Gateway, people: People) -> None:
    d = child(gateway, people.child_everywhere)
    bundle = bundle_of(call(gateway, "POST", "/fhir/Patient/$match",
                            parameters(patient_of(d, with_nhs=True), count=1)))
    patient = bundle.entry[0].resource
    assert {"system": NHS, "value": d["nhs_number"]} in [
        {"system": i.system, "value": i.value} for i in patient.identifier]
    assert any(n.family == d["family"] and d["given"] in (n.given or []) for n in patient.name)
    assert str(patient.birthDate) == d["dob"] and patient.gender in ("male", "female", "unknown")
    assert any(a.postalCode == d["postcode"] for a in patient.address)


def test_a_purpose_that_withholds_an_agency_withholds_its_details(gateway: Gateway,
                                                                  people: People) -> None:
    """Education welfare sees education and social care records only: health's NHS numbers
    and addresses are not in the Patient a school reads."""
    with duckdb.connect(str(gateway.db), read_only=True) as con:
        rows = con.execute(
            "SELECT s.agency, s.nhs_number, s.postcode FROM source_records s JOIN record_links l "
            "USING (unique_id) WHERE l.person_id = ?", [people.child_everywhere]).fetchall()
    allowed = {a for a in ("education", "social_care")}
    numbers_allowed = {n for a, n, _ in rows if a in allowed and n}
    r = call(gateway, "GET", f"/fhir/Patient/{people.child_everywhere}", client="school",
             purpose="education-welfare")
    assert r.status_code == 200, r.text
    patient = Patient.model_validate(r.json())
    numbers = {i.value for i in patient.identifier if i.system == NHS}
    assert numbers == numbers_allowed
    everyone = Patient.model_validate(call(gateway, "GET",
                                           f"/fhir/Patient/{people.child_everywhere}").json())
    assert {i.value for i in everyone.identifier if i.system == NHS} == {
        n for _, n, _ in rows if n}


# --- the Patient read -----------------------------------------------------------------------


def test_every_full_url_reads_as_a_patient(gateway: Gateway, people: People) -> None:
    d = child(gateway, people.child_everywhere)
    bundle = bundle_of(call(gateway, "POST", "/fhir/Patient/$match", patient_of(d)))
    for entry in bundle.entry:
        if entry.search.mode != "match":
            continue
        path = entry.fullUrl.removeprefix(gateway.base)
        read = call(gateway, "GET", path)
        assert read.status_code == 200, read.text
        patient = Patient.model_validate(read.json())
        assert patient.id == entry.resource.id


def test_an_unknown_patient_and_a_refused_one_say_only_not_available(gateway: Gateway,
                                                                     people: People) -> None:
    unknown = outcome_of(call(gateway, "GET", "/fhir/Patient/PZZZZZZZZZZZZZ"), 404)
    assert unknown.issue[0].diagnostics == "not available for this purpose"
    # The police may not name the health visitor's purpose: refused, generically.
    refused = outcome_of(call(gateway, "GET", f"/fhir/Patient/{people.child_everywhere}",
                              client="police", purpose="direct-care"), 403)
    assert refused.issue[0].diagnostics == "not available for this purpose"
    assert "direct-care" not in refused.model_dump_json()


def test_a_restricted_person_is_refused_generically(gateway: Gateway, people: People) -> None:
    if people.restricted is None:
        pytest.skip("this population has no restricted person")
    r = call(gateway, "GET", f"/fhir/Patient/{people.restricted}")
    if r.status_code == 200:  # a redacting marker (nhs-restricted, refuge): no address at all
        assert "address" not in r.json()
    else:
        assert outcome_of(r, 403).issue[0].diagnostics == "not available for this purpose"


# --- errors are OperationOutcome with the right status --------------------------------------


@pytest.mark.parametrize("body,where", [
    ({"resourceType": "Patient"}, "Patient"),
    ({"resourceType": "Observation"}, "resourceType"),
    ({"resourceType": "Parameters", "parameter": []}, "Parameters.parameter"),
    ({"resourceType": "Parameters", "parameter": [{"name": "resource", "resource": {
        "resourceType": "Patient", "birthDate": "2015"}}]},
     "Parameters.parameter[0].resource.birthDate"),
    ({"resourceType": "Parameters", "parameter": [{"name": "resource", "resource": {
        "resourceType": "Patient", "gender": "x", "birthDate": "2015-01-02"}}]},
     "Parameters.parameter[0].resource.gender"),
    ({"resourceType": "Patient", "name": [{"given": "Ann"}]}, "Patient.name[0].given"),
])
def test_bad_input_is_a_400_operation_outcome_with_its_path(gateway: Gateway, body: Any,
                                                            where: str) -> None:
    outcome = outcome_of(call(gateway, "POST", "/fhir/Patient/$match", body), 400)
    assert outcome.issue[0].expression == [where]


def test_a_body_that_is_not_json_is_a_400_outcome(gateway: Gateway) -> None:
    outcome_of(call(gateway, "POST", "/fhir/Patient/$match", b"<Patient/>"), 400)


def test_no_token_is_a_401_outcome_with_the_challenge(gateway: Gateway) -> None:
    r = call(gateway, "POST", "/fhir/Patient/$match", {"resourceType": "Patient"}, token=False)
    outcome_of(r, 401)
    assert r.headers["www-authenticate"].startswith("Bearer")


def test_xml_only_is_not_acceptable(gateway: Gateway) -> None:
    outcome_of(call(gateway, "GET", "/fhir/metadata", Accept="application/fhir+xml"), 406)


# --- the CapabilityStatement ----------------------------------------------------------------


def test_metadata_is_a_capability_statement_saying_what_is_not_supported(gateway: Gateway) -> None:
    r = httpx.get(f"{gateway.base}/fhir/metadata", timeout=10)
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/fhir+json")
    statement = CapabilityStatement.model_validate(r.json())
    assert statement.fhirVersion == "4.0.1" and statement.kind == "instance"
    patient = statement.rest[0].resource[0]
    assert patient.type == "Patient" and [i.code for i in patient.interaction] == ["read"]
    assert patient.operation[0].name == "match"
    assert "Not supported" in statement.rest[0].documentation
    assert "XML" in statement.rest[0].documentation


# --- FHIR and JSON are one resolution ---------------------------------------------------------


def test_another_childs_nhs_number_makes_the_child_possible_in_both_faces(
        gateway: Gateway, people: People) -> None:
    """A twin's query (her own NHS number, her sister's name, date and house) is never certain
    for the sister: FHIR grades her "possible", and the JSON twin names the constraint."""
    from linkage.synth.identifiers import nhs_check_digit

    d = child(gateway, people.child_everywhere)
    with duckdb.connect(str(gateway.db), read_only=True) as con:
        held = {n for (n,) in con.execute("SELECT DISTINCT nhs_number FROM source_records "
                                          "WHERE nhs_number IS NOT NULL").fetchall()}
    number = next(f"{stem}{nhs_check_digit(str(stem))}" for stem in range(487000000, 487001000)
                  if nhs_check_digit(str(stem)) != 10
                  and f"{stem}{nhs_check_digit(str(stem))}" not in held)
    twin = {**patient_of(d), "identifier": [{"system": NHS, "value": number}]}
    bundle = bundle_of(call(gateway, "POST", "/fhir/Patient/$match", twin))
    sister = [e for e in bundle.entry if e.search.mode == "match"
              and e.resource.id == people.child_everywhere]
    assert sister and sister[0].search.extension[0].valueCode == "possible"
    query = {"nhs_number": number, "given_name": d["given"], "family_name": d["family"],
             "dob": d["dob"], "postcode": d["postcode"], "address": d["address"]}
    r = call(gateway, "POST", "/v1/resolve", query, **{"Content-Type": "application/json"})
    assert r.status_code == 200, r.text
    mine = [c for c in r.json()["candidates"] if c["person_id"] == people.child_everywhere]
    assert mine and mine[0]["grade"] == "possible"
    assert mine[0]["constraint"] == "different-nhs-number"


# --- audit: PatientQuery with subtype ITI-119, one event per candidate ----------------------


def test_zz_each_match_is_audited_per_candidate_with_the_iti_119_subtype(gateway: Gateway) -> None:
    gateway.stop()
    events = read_audit(gateway.db)
    assert SENT
    for request_id, persons in SENT:
        mine = [e for e in events if e.get("request_id") == request_id]
        assert mine and all(e["event_type"] == "PatientQuery" for e in mine)
        assert all(e["transaction"] == "ITI-119" for e in mine)
        permitted = {e["subject_person_id"] for e in mine if e["outcome"] == "permit"}
        assert set(persons) <= permitted
        assert len({e["subject_person_id"] for e in mine}) == len(mine)  # one per candidate
    exported = to_fhir(1, next(e for e in events if e.get("transaction")))
    assert ("urn:ihe:event-type-code", "ITI-119") in {(c["system"], c["code"])
                                                      for c in exported["subtype"]}
    reads = [e for e in events if e["event_type"] == "PatientRead"
             and e.get("detail") == "FHIR Patient read"]
    assert reads and all(e["purpose"] for e in reads)
