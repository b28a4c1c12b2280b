"""The FHIR export against the IHE BALP profile rules, not only the FHIR base model (issue 17.4).

fhir.resources validates R4B AuditEvent but cannot see a profile's slices and fixed values. The
checks below are the rules of each profile the export claims, written from the profiles' own
constraints (IHE ITI BasicAudit ``PatientRead``, ``PatientQuery``, ``PrivacyDisclosure.Source``;
IHE PDQm ``IHE.PDQm.Match.Audit.Supplier`` for ITI-119): roles by event type, ``network`` on
client and server, the read data entity's ``what``, the query base64, purpose of use, the ITI-119
subtype. A resource that claims a profile must pass every rule of it.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B.auditevent import AuditEvent as FhirAuditEvent
from typer.testing import CliRunner

from audit import AuditEvent, AuditTrail, audit_path_for
from audit.fhir_export import to_fhir
from kinlink.cli import app

WHEN = dt.datetime(2026, 11, 18, 9, 30, tzinfo=dt.UTC)
DCM = "http://dicom.nema.org/resources/ontology/DCM"
BALP = "https://profiles.ihe.net/ITI/BALP/StructureDefinition/IHE.BasicAudit."
ITI119 = "https://profiles.ihe.net/ITI/PDQm/StructureDefinition/IHE.PDQm.Match.Audit.Supplier"
BASE = dict(recorded_at=WHEN, outcome="permit", client_id="c-health", client_network="192.0.2.7",
            user_id="u-41", agency="health", role="mash-health-practitioner",
            purpose="s47-enquiry", purpose_of_use="PROTECT", token_jti="jti-9",
            subject_person_id="P00000000042", http_status=200)


def codes(concepts: list[dict[str, Any]] | dict[str, Any]) -> set[tuple[str, str]]:
    items = concepts if isinstance(concepts, list) else [concepts]
    return {(c["system"], c["code"]) for item in items
            for c in (item.get("coding", [item]) if "coding" in item or "code" in item else [])}


def agent_by_role(resource: dict[str, Any], code: str) -> list[dict[str, Any]]:
    return [a for a in resource["agent"] if (DCM, code) in codes(a["type"])]


def entities(resource: dict[str, Any], type_code: str, role_code: str) -> list[dict[str, Any]]:
    return [e for e in resource["entity"] if e["type"]["code"] == type_code
            and e["role"]["code"] == role_code]


def check_common(resource: dict[str, Any], client_role: str, server_role: str) -> None:
    """Rules every BALP RESTful/disclosure profile here shares."""
    FhirAuditEvent.model_validate(resource)
    assert resource["recorded"] and resource["outcome"] == "0"
    (client,) = [a for a in agent_by_role(resource, client_role)
                 if a["who"]["identifier"]["system"].endswith("/client")]
    (server,) = [a for a in agent_by_role(resource, server_role)
                 if a["who"]["identifier"]["system"].endswith("/system")]
    for agent in (client, server):                             # network 1..1, media 0..0
        assert agent["network"]["address"] and agent["network"]["type"] in {"1", "2", "5"}
        assert "media" not in agent
    users = [a for a in resource["agent"]
             if ("http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "IRCP")
             in codes(a["type"])]
    for user in users:                                         # users are not network devices
        assert user["requestor"] is True and "network" not in user and user["who"]
        assert user["purposeOfUse"]                            # the token's purpose of use
    (patient,) = entities(resource, "1", "1")
    assert patient["what"]["reference"].startswith("Patient/")


def check_patient_read(resource: dict[str, Any]) -> None:
    assert resource["type"]["code"] == "rest" and resource["action"] == "R"
    assert ("http://hl7.org/fhir/restful-interaction", "read") in codes(resource["subtype"])
    check_common(resource, client_role="110152", server_role="110153")  # data to the client
    (data,) = [e for e in entities(resource, "2", "4") + entities(resource, "2", "3")]
    assert data["what"]                                        # the read data has its what
    assert len(resource["entity"]) >= 2


def check_patient_query(resource: dict[str, Any], match: bool = False) -> None:
    assert resource["type"]["code"] == "rest" and resource["action"] == "E"
    assert ("http://hl7.org/fhir/restful-interaction", "search") in codes(resource["subtype"])
    check_common(resource, client_role="110153", server_role="110152")  # query from the client
    (query,) = entities(resource, "2", "24")
    assert "what" not in query and "detail" not in query and "lifecycle" not in query
    assert json.loads(base64.b64decode(query["query"], validate=True))
    if match:
        assert ("urn:ihe:event-type-code", "ITI-119") in codes(resource["subtype"])
        assert len(resource["subtype"]) >= 2
        (server,) = agent_by_role(resource, "110152")
        assert server["who"] == resource["source"]["observer"]   # the supplier records it


def check_disclosure_source(resource: dict[str, Any]) -> None:
    assert (DCM, "110106") in codes(resource["type"]) and resource["action"] == "R"
    assert ("http://terminology.hl7.org/CodeSystem/iso-21089-lifecycle", "disclose") in codes(
        resource["subtype"])
    check_common(resource, client_role="110152", server_role="110153")
    (source,) = agent_by_role(resource, "110153")
    assert source["who"] == resource["source"]["observer"]       # val-audit-source
    assert len(resource["entity"]) >= 2 and resource["purposeOfEvent"]


def test_patient_read_follows_its_profile() -> None:
    resource = to_fhir(7, AuditEvent(event_type="PatientRead", categories_released=["identity"],
                                     record_count=2, **BASE).model_dump(mode="json"),
                       server="https://kinlink.somerset.gov.uk")
    assert resource["meta"]["profile"] == [BALP + "PatientRead"]
    check_patient_read(resource)


def test_patient_query_reverses_the_roles_of_a_read() -> None:
    resource = to_fhir(8, AuditEvent(event_type="PatientQuery", query={"family": "Example"},
                                     **BASE).model_dump(mode="json"), server="kinlink.example")
    assert resource["meta"]["profile"] == [BALP + "PatientQuery"]
    check_patient_query(resource)
    with pytest.raises(AssertionError):
        check_patient_read(resource)                             # the rules tell them apart


def test_a_match_is_iti_119() -> None:
    resource = to_fhir(9, AuditEvent(event_type="PatientQuery", transaction="ITI-119",
                                     query={"resourceType": "Parameters"},
                                     **BASE).model_dump(mode="json"), server="kinlink.example")
    assert resource["meta"]["profile"] == [ITI119]
    check_patient_query(resource, match=True)


def test_a_disclosure_at_source() -> None:
    resource = to_fhir(10, AuditEvent(event_type="PrivacyDisclosure",
                                      categories_released=["cp-plan"],
                                      **BASE).model_dump(mode="json"), server="kinlink.example")
    assert resource["meta"]["profile"] == [BALP + "PrivacyDisclosure.Source"]
    check_disclosure_source(resource)


def test_break_glass_reads_carry_btg_as_purpose_of_use() -> None:
    resource = to_fhir(11, AuditEvent(event_type="PatientRead", break_glass=True,
                                      categories_released=["identity"],
                                      **BASE).model_dump(mode="json"), server="kinlink.example")
    check_patient_read(resource)
    btg = ("http://terminology.hl7.org/CodeSystem/v3-ActReason", "BTG")
    assert btg in codes(resource["purposeOfEvent"])
    user = next(a for a in resource["agent"] if a["who"]["identifier"]["value"] == "u-41")
    assert btg in codes(user["purposeOfUse"])


@pytest.mark.parametrize("missing", [
    {"client_network": None},            # an event from before addresses were kept
    {"outcome": "deny", "http_status": 403},
    {"subject_person_id": None},
])
def test_a_profile_is_claimed_only_when_every_rule_can_be_met(missing: dict[str, Any]) -> None:
    event = AuditEvent(event_type="PatientRead", **{**BASE, **missing}).model_dump(mode="json")
    resource = to_fhir(12, event, server="kinlink.example")
    FhirAuditEvent.model_validate(resource)
    assert "meta" not in resource
    query = AuditEvent(event_type="PatientQuery", **BASE).model_dump(mode="json")  # no query
    assert "meta" not in to_fhir(13, query, server="kinlink.example")


def test_the_export_command_claims_only_what_it_meets(tmp_path: Path) -> None:
    """Through ``kinlink audit export``: the server's network from the trail's origin."""
    db = tmp_path / "kinlink.duckdb"
    trail = AuditTrail.open(audit_path_for(db), origin="somerset.gov.uk/kinlink/audit")
    trail.append([AuditEvent(event_type="PatientRead", categories_released=["identity"], **BASE),
                  AuditEvent(event_type="PatientQuery", transaction="ITI-119",
                             query={"resourceType": "Parameters"}, **BASE)])
    trail.close()
    out = tmp_path / "audit.ndjson"
    result = CliRunner().invoke(app, ["audit", "export", "--db", str(db), "--out", str(out)])
    assert result.exit_code == 0, result.output
    read, match = [json.loads(line) for line in out.read_text().splitlines()]
    check_patient_read(read)
    check_patient_query(match, match=True)
    server = agent_by_role(read, "110153")[0]
    assert server["network"] == {"address": "somerset.gov.uk", "type": "1"}
