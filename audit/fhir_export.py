"""The trail as FHIR R4 AuditEvent resources, shaped after IHE Basic Audit Log Patterns (BALP).

BALP's patterns map our event types: ``PatientRead`` and ``PatientQuery`` are RESTful operations
(type ``rest``, subtype ``read``/``search``), a decision is an authorisation event. Every event names
the patient (our person ID) as an entity with role ``patient``; a query keeps its raw parameters
in a ``query`` entity (base64, as FHIR requires). Our additions (policy, lawful basis, consent,
justification, break-glass) go in an extension so nothing the IG officer relies on is dropped.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import duckdb

__all__ = ["EXTENSION_URL", "fhir_audit_events", "to_fhir"]

EXTENSION_URL = "https://kinlink.example/fhir/StructureDefinition/disclosure-decision"
_DCM = "http://dicom.nema.org/resources/ontology/DCM"
_REST = "http://terminology.hl7.org/CodeSystem/audit-event-type"
_RESTFUL = "http://hl7.org/fhir/restful-interaction"
_PURPOSE = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
_SUBTYPE = {"PatientRead": "read", "PatientQuery": "search", "ReviewDecision": "create",
            "PrivacyDisclosure": "read", "AuthorizationDecision": "read", "BreakGlass": "read"}


def to_fhir(seq: int, event: dict[str, Any], observer: str = "kinlink-gateway") -> dict[str, Any]:
    status = event.get("http_status") or 200
    outcome = "0" if event.get("outcome") == "permit" and status < 400 else (
        "8" if status >= 500 else "4")
    agents: list[dict[str, Any]] = [{
        "type": {"coding": [{"system": _DCM, "code": "110153", "display": "Source Role ID"}]},
        "who": {"identifier": {"value": observer}}, "requestor": False}]
    if event.get("client_id"):
        agents.append({
            "type": {"coding": [{"system": _DCM, "code": "110152",
                                 "display": "Destination Role ID"}]},
            "who": {"identifier": {"system": "https://kinlink.example/Id/client",
                                   "value": event["client_id"]}},
            "requestor": not event.get("user_id"),
            "role": [{"text": event.get("role")}] if event.get("role") else None})
    if event.get("user_id"):
        agents.append({"who": {"identifier": {"value": event["user_id"]}}, "requestor": True})
    if event.get("agency"):
        agents.append({"who": {"identifier": {"system": "https://kinlink.example/Id/party",
                                              "value": event["agency"]}},
                       "requestor": False, "type": {"text": "organisation"}})
    entities: list[dict[str, Any]] = []
    if event.get("subject_person_id"):
        entities.append({"what": {"identifier": {"system": "https://kinlink.example/Id/person",
                                                 "value": event["subject_person_id"]}},
                         "role": {"system": "http://terminology.hl7.org/CodeSystem/"
                                            "object-role", "code": "1", "display": "Patient"}})
    if event.get("query"):
        entities.append({"role": {"system": "http://terminology.hl7.org/CodeSystem/object-role",
                                  "code": "24", "display": "Query"},
                         "query": base64.b64encode(json.dumps(event["query"], sort_keys=True)
                                                   .encode()).decode()})
    decision = {k: event.get(k) for k in (
        "purpose", "justification", "reference", "policy_bundle_id", "policy_version",
        "policy_hash", "matched_rules", "lawful_basis", "consent_status",
        "consent_override_reason", "break_glass", "categories_released", "record_count",
        "redactions", "subject_access", "token_jti", "request_id") if event.get(k) not in
        (None, [], "")}
    resource: dict[str, Any] = {
        "resourceType": "AuditEvent",
        "id": f"kinlink-{seq}",
        "type": {"system": _REST, "code": "rest", "display": "RESTful Operation"},
        "subtype": [{"system": _RESTFUL, "code": _SUBTYPE.get(event.get("event_type", ""),
                                                              "read")}],
        "action": event.get("action", "R"),
        "recorded": event.get("recorded_at"),
        "outcome": outcome,
        "outcomeDesc": event.get("detail") or event.get("outcome"),
        "agent": [{k: v for k, v in a.items() if v is not None} for a in agents],
        "source": {"observer": {"identifier": {"value": observer}}},
        "entity": entities,
        "extension": [{"url": EXTENSION_URL, "valueString": json.dumps(decision, sort_keys=True)}],
    }
    if event.get("purpose_of_use"):
        resource["purposeOfEvent"] = [{"coding": [{"system": _PURPOSE,
                                                   "code": event["purpose_of_use"]}]}]
    return resource


def fhir_audit_events(con: duckdb.DuckDBPyConnection) -> Iterator[dict[str, Any]]:
    for seq, text in con.execute("SELECT seq, event_json FROM audit_events ORDER BY seq").fetchall():
        yield to_fhir(seq, json.loads(text))
