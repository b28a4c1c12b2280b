"""The trail as FHIR R4 AuditEvent resources, shaped after IHE Basic Audit Log Patterns (BALP).

An IG team, a regional audit repository or a SIEM that speaks FHIR reads these without knowing our
schema, so the export follows BALP's patterns where one fits:

- ``PatientRead`` → RESTful read (type ``rest``, subtype ``read``, action R);
- ``PatientQuery`` → RESTful search (subtype ``search``, action E), the raw query in a ``query``
  entity (base64, as FHIR requires) — one resource per patient returned, as the trail holds them;
- ``PrivacyDisclosure`` → disclosure at the source (type DICOM 110106 Export, subtype ISO 21089
  ``disclose``), kinlink as the source agent and the requesting client as the destination;
- anything else (authorisation decisions, review decisions, break-glass reviews) → a RESTful
  operation with the event's own action.

Agents follow the DICOM convention BALP keeps: for a RESTful call the *client* is the Source Role
ID and the server the Destination Role ID (data flows the other way; the pattern is established).
The token appears only as its ``jti``, in the client agent's ``policy``, as BALP's OAuth pattern
does. The patient entity references ``Patient/<person ID>``. Our additions (policy bundle and
hash, matched rules, lawful basis, consent, justification, break-glass, subject-access flag) go in
one extension, so nothing the IG officer relies on is lost in the export. A BALP profile is claimed
in ``meta.profile`` only for permitted events, because BALP's profiles describe successful calls.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import duckdb

__all__ = ["EXTENSION_URL", "fhir_audit_events", "to_fhir"]

EXTENSION_URL = "https://kinlink.example/fhir/StructureDefinition/disclosure-decision"
PURPOSE_SYSTEM = "https://kinlink.example/fhir/CodeSystem/purpose"
_ID = "https://kinlink.example/Id"
_DCM = "http://dicom.nema.org/resources/ontology/DCM"
_EVENT_TYPE = "http://terminology.hl7.org/CodeSystem/audit-event-type"
_RESTFUL = "http://hl7.org/fhir/restful-interaction"
_LIFECYCLE = "http://terminology.hl7.org/CodeSystem/iso-21089-lifecycle"
_ACT_REASON = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
_ENTITY_TYPE = "http://terminology.hl7.org/CodeSystem/audit-entity-type"
_OBJECT_ROLE = "http://terminology.hl7.org/CodeSystem/object-role"
_SOURCE_TYPE = "http://terminology.hl7.org/CodeSystem/security-source-type"
_PARTICIPATION = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
_BALP = "https://profiles.ihe.net/ITI/BALP/StructureDefinition/IHE.BasicAudit."

_SOURCE_ROLE = {"system": _DCM, "code": "110153", "display": "Source Role ID"}
_DESTINATION_ROLE = {"system": _DCM, "code": "110152", "display": "Destination Role ID"}
_REST_SUBTYPE = {"PatientRead": "read", "PatientQuery": "search", "ReviewDecision": "create",
                 "AuthorizationDecision": "read", "BreakGlass": "update"}
_ACTION_SUBTYPE = {"C": "create", "R": "read", "U": "update", "D": "delete", "E": "search"}

#: Our decision fields carried in the extension, in this order.
DECISION_FIELDS = (
    "purpose", "justification", "reference", "policy_bundle_id", "policy_version", "policy_hash",
    "matched_rules", "reasons", "lawful_basis", "consent_status", "consent_override_reason",
    "break_glass", "source_agencies", "categories_released", "record_count", "redactions",
    "obligations", "subject_access", "request_id", "http_status",
)


def _outcome(event: dict[str, Any]) -> str:
    """FHIR R4 outcome: 0 success, 4 minor failure (refused), 8 serious failure (server error)."""
    status = event.get("http_status") or 200
    if status >= 500 or event.get("outcome") == "error":
        return "8"
    return "0" if event.get("outcome") == "permit" and status < 400 else "4"


def _type_and_subtype(kind: str, action: str) -> tuple[dict[str, str], list[dict[str, str]]]:
    if kind == "PrivacyDisclosure":
        return ({"system": _DCM, "code": "110106", "display": "Export"},
                [{"system": _LIFECYCLE, "code": "disclose"}, {"system": _RESTFUL, "code": "read"}])
    if kind == "StaffAccountChange":
        return ({"system": _DCM, "code": "110137", "display": "User Security Attributes Changed"},
                [{"system": _RESTFUL, "code": _ACTION_SUBTYPE.get(action, "update")}])
    rest = {"system": _EVENT_TYPE, "code": "rest", "display": "Restful Operation"}
    return rest, [{"system": _RESTFUL,
                   "code": _REST_SUBTYPE.get(kind, _ACTION_SUBTYPE.get(action, "read"))}]


def _agents(event: dict[str, Any], observer: str, disclosure: bool) -> list[dict[str, Any]]:
    server: dict[str, Any] = {"type": {"coding": [_SOURCE_ROLE if disclosure
                                                  else _DESTINATION_ROLE]},
                              "who": {"identifier": {"system": f"{_ID}/system",
                                                     "value": observer}},
                              "requestor": False}
    agents = [server]
    if event.get("client_id"):
        client: dict[str, Any] = {
            "type": {"coding": [_DESTINATION_ROLE if disclosure else _SOURCE_ROLE]},
            "who": {"identifier": {"system": f"{_ID}/client", "value": event["client_id"]}},
            "requestor": not event.get("user_id"),
        }
        if event.get("token_jti"):
            client["policy"] = [event["token_jti"]]
        agents.append(client)
    if event.get("user_id"):
        user: dict[str, Any] = {
            "type": {"coding": [{"system": _PARTICIPATION, "code": "IRCP",
                                 "display": "information recipient"}]},
            "who": {"identifier": {"system": f"{_ID}/user", "value": event["user_id"]}},
            "requestor": True,
        }
        if event.get("role"):
            user["role"] = [{"text": event["role"]}]
        agents.append(user)
    elif event.get("role") and len(agents) > 1:
        agents[1]["role"] = [{"text": event["role"]}]
    if event.get("agency"):
        agents.append({"type": {"text": "organisation"},
                       "who": {"identifier": {"system": f"{_ID}/party", "value": event["agency"]}},
                       "requestor": False})
    return agents


def _entities(event: dict[str, Any]) -> list[dict[str, Any]]:
    entities: list[dict[str, Any]] = []
    person = event.get("subject_person_id")
    if person:
        entities.append({
            "what": {"reference": f"Patient/{person}",
                     "identifier": {"system": f"{_ID}/person", "value": person}},
            "type": {"system": _ENTITY_TYPE, "code": "1", "display": "Person"},
            "role": {"system": _OBJECT_ROLE, "code": "1", "display": "Patient"},
        })
    if event.get("query"):
        raw = json.dumps(event["query"], sort_keys=True).encode()
        entities.append({
            "type": {"system": _ENTITY_TYPE, "code": "2", "display": "System Object"},
            "role": {"system": _OBJECT_ROLE, "code": "24", "display": "Query"},
            "query": base64.b64encode(raw).decode(),
        })
    released = event.get("categories_released") or []
    if released or event.get("record_count"):
        entities.append({
            "type": {"system": _ENTITY_TYPE, "code": "2", "display": "System Object"},
            "role": {"system": _OBJECT_ROLE, "code": "4", "display": "Domain Resource"},
            "description": "data disclosed",
            "detail": [{"type": "categories", "valueString": " ".join(released)},
                       {"type": "record_count", "valueString": str(event.get("record_count", 0))}],
        })
    return entities


def _purpose(event: dict[str, Any]) -> list[dict[str, Any]]:
    codings = []
    if event.get("purpose_of_use"):
        codings.append({"system": _ACT_REASON, "code": event["purpose_of_use"]})
    if event.get("purpose"):
        codings.append({"system": PURPOSE_SYSTEM, "code": event["purpose"]})
    if not codings:
        return []
    concept: dict[str, Any] = {"coding": codings}
    if event.get("purpose"):
        concept["text"] = event["purpose"]
    return [concept]


def to_fhir(seq: int, event: dict[str, Any], observer: str = "kinlink-gateway") -> dict[str, Any]:
    """One trail event (its stored JSON) as a FHIR R4 AuditEvent resource."""
    kind = str(event.get("event_type", ""))
    disclosure = kind == "PrivacyDisclosure"
    action = "E" if kind == "PatientQuery" else str(event.get("action") or "R")
    event_type, subtype = _type_and_subtype(kind, action)
    outcome = _outcome(event)
    decision = {k: event.get(k) for k in DECISION_FIELDS if event.get(k) not in (None, [], "")}
    resource: dict[str, Any] = {
        "resourceType": "AuditEvent",
        "id": f"kinlink-{seq}",
        "type": event_type,
        "subtype": subtype,
        "action": action,
        "recorded": event.get("recorded_at"),
        "outcome": outcome,
        "outcomeDesc": event.get("detail") or event.get("outcome"),
        "agent": _agents(event, observer, disclosure),
        "source": {"site": "kinlink",
                   "observer": {"identifier": {"system": f"{_ID}/system", "value": observer}},
                   "type": [{"system": _SOURCE_TYPE, "code": "4",
                             "display": "Application Server"}]},
        "entity": _entities(event),
        "extension": [{"url": EXTENSION_URL, "valueString": json.dumps(decision, sort_keys=True)}],
    }
    purpose = _purpose(event)
    if purpose:
        resource["purposeOfEvent"] = purpose
    profile = {"PatientRead": "PatientRead", "PatientQuery": "PatientQuery",
               "PrivacyDisclosure": "PrivacyDisclosure.Source"}.get(kind)
    if profile and outcome == "0" and event.get("subject_person_id"):
        resource["meta"] = {"profile": [_BALP + profile]}
    return resource


def fhir_audit_events(con: duckdb.DuckDBPyConnection,
                      batch_size: int = 5_000) -> Iterator[dict[str, Any]]:
    """Every event in sequence order, fetched in batches so a long trail streams to the file."""
    cursor = con.execute("SELECT seq, event_json FROM audit_events ORDER BY seq")
    while rows := cursor.fetchmany(batch_size):
        for seq, text in rows:
            yield to_fhir(seq, json.loads(text))
