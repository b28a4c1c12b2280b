"""FHIR AuditEvent export: every resource a valid FHIR AuditEvent (checked by the fhir.resources
model), and each event kind in its BALP shape: type, subtype, action, agents, patient reference,
the raw query, purpose of use, the token by jti only, and our decision fields kept."""

from __future__ import annotations

import base64
import datetime as dt
import json
from pathlib import Path

from fhir.resources.R4B.auditevent import AuditEvent as FhirAuditEvent
from typer.testing import CliRunner

from audit import AuditEvent, AuditTrail, audit_path_for, fhir_audit_events
from audit.fhir_export import EXTENSION_URL, PURPOSE_SYSTEM
from kinlink.cli import app

runner = CliRunner()
WHEN = dt.datetime(2026, 11, 18, 9, 30, tzinfo=dt.UTC)
COMMON = dict(recorded_at=WHEN, client_id="c-police", client_network="192.0.2.10",
              agency="police", role="mash-officer",
              purpose="mash-triage", purpose_of_use="THREAT", token_jti="jti-123",
              policy_bundle_id="wessex-mash", policy_version="3", policy_hash="ab" * 32,
              lawful_basis=["uk-gdpr-6-1-e"], http_status=200)


def export(tmp_path: Path, events: list[AuditEvent]) -> list[dict]:
    db = tmp_path / "kinlink.duckdb"
    trail = AuditTrail.open(audit_path_for(db))
    trail.append(events)
    trail.close()
    out = tmp_path / "audit.ndjson"
    result = runner.invoke(app, ["audit", "export", "--format", "fhir", "--db", str(db),
                                 "--out", str(out)])
    assert result.exit_code == 0, result.output
    lines = out.read_text().splitlines()
    assert len(lines) == len(events)
    return [json.loads(line) for line in lines]


def coding(concept: dict) -> set[tuple[str, str]]:
    return {(c["system"], c["code"]) for c in concept.get("coding", [])}


def test_each_event_kind_in_its_balp_shape(tmp_path: Path) -> None:
    read, query, disclosure, denied, review = export(tmp_path, [
        AuditEvent(event_type="PatientRead", outcome="permit", subject_person_id="PAAAA1",
                   user_id="u-17", categories_released=["identity", "address"], record_count=3,
                   matched_rules=["MASH-2.1"], **COMMON),
        AuditEvent(event_type="PatientQuery", outcome="permit", subject_person_id="PBBBB2",
                   query={"given_name": "Ava", "birth_date": "2019-04-02"}, **COMMON),
        AuditEvent(event_type="PrivacyDisclosure", outcome="permit", subject_person_id="PCCCC3",
                   categories_released=["s47"], subject_access="defer_until:2027-02-01",
                   **COMMON),
        AuditEvent(event_type="PatientRead", outcome="deny", subject_person_id="PDDDD4",
                   reasons=["restricted-marker:adoption"], **{**COMMON, "http_status": 403}),
        AuditEvent(event_type="ReviewDecision", action="C", outcome="permit",
                   subject_person_id="PEEEE5", user_id="u-9", **COMMON),
    ])
    for resource in (read, query, disclosure, denied, review):
        FhirAuditEvent.model_validate(resource)          # a valid FHIR AuditEvent
        assert resource["recorded"].startswith("2026-11-18T09:30:00")
        assert resource["source"]["observer"]["identifier"]["value"] == "kinlink-gateway"
        assert any(a["requestor"] for a in resource["agent"])
        patient = resource["entity"][0]
        assert patient["what"]["reference"].startswith("Patient/P")
        assert (patient["role"]["code"], patient["type"]["code"]) == ("1", "1")
        purpose = coding(resource["purposeOfEvent"][0])
        assert ("http://terminology.hl7.org/CodeSystem/v3-ActReason", "THREAT") in purpose
        assert (PURPOSE_SYSTEM, "mash-triage") in purpose
        assert "jti-123" in json.dumps(resource)          # the token's jti, nothing more of it

    assert coding({"coding": [read["type"]]}) == {
        ("http://terminology.hl7.org/CodeSystem/audit-event-type", "rest")}
    assert read["subtype"][0]["code"] == "read" and read["action"] == "R"
    assert read["outcome"] == "0" and read["meta"]["profile"][0].endswith("BasicAudit.PatientRead")
    assert read["entity"][0]["what"]["reference"] == "Patient/PAAAA1"
    client = next(a for a in read["agent"] if a["who"]["identifier"]["value"] == "c-police")
    user = next(a for a in read["agent"] if a["who"]["identifier"]["value"] == "u-17")
    # A read: the data flows from the server, so the client is the destination (BALP Read).
    assert client["type"]["coding"][0]["code"] == "110152" and client["policy"] == ["jti-123"]
    assert user["requestor"] is True and client["requestor"] is False
    assert user["role"] == [{"text": "mash-officer"}]
    assert any(a["who"]["identifier"]["value"] == "police" for a in read["agent"])
    data = read["entity"][1]
    assert {d["type"]: d["valueString"] for d in data["detail"]} == {
        "categories": "identity address", "record_count": "3"}
    decision = json.loads(read["extension"][0]["valueString"])
    assert read["extension"][0]["url"] == EXTENSION_URL
    assert decision["matched_rules"] == ["MASH-2.1"] and decision["policy_hash"] == "ab" * 32

    assert query["subtype"][0]["code"] == "search" and query["action"] == "E"
    raw = next(e for e in query["entity"] if e["role"]["code"] == "24")["query"]
    assert json.loads(base64.b64decode(raw)) == {"given_name": "Ava", "birth_date": "2019-04-02"}
    assert client_of(query)["requestor"] is True           # no user: the system asked

    assert coding({"coding": [disclosure["type"]]}) == {
        ("http://dicom.nema.org/resources/ontology/DCM", "110106")}
    assert ("http://terminology.hl7.org/CodeSystem/iso-21089-lifecycle", "disclose") in {
        (s["system"], s["code"]) for s in disclosure["subtype"]}
    assert client_of(disclosure)["type"]["coding"][0]["code"] == "110152"   # the recipient
    assert json.loads(disclosure["extension"][0]["valueString"])["subject_access"].startswith(
        "defer_until:")

    assert denied["outcome"] == "4" and "meta" not in denied   # BALP profiles are for successes
    assert "restricted-marker:adoption" in denied["extension"][0]["valueString"]
    assert review["action"] == "C" and review["subtype"][0]["code"] == "create"


def client_of(resource: dict) -> dict:
    return next(a for a in resource["agent"] if a["who"]["identifier"]["value"] == "c-police")


def test_export_streams_every_event_in_order(tmp_path: Path) -> None:
    trail = AuditTrail.open(audit_path_for(tmp_path / "kinlink.duckdb"))
    trail.append([AuditEvent(event_type="PatientRead", outcome="permit",
                             subject_person_id=f"P{i:05d}") for i in range(23)])
    resources = list(fhir_audit_events(trail.cursor(), batch_size=5))
    trail.close()
    assert [r["id"] for r in resources] == [f"kinlink-{i}" for i in range(23)]
    assert resources[-1]["entity"][0]["what"]["reference"] == "Patient/P00022"
