"""The trail as FHIR R4 AuditEvent resources following IHE Basic Audit Log Patterns (BALP).

An IG team, a regional audit repository or a SIEM that speaks FHIR reads these without knowing our
schema. Each permitted event is shaped by the BALP profile for its kind, and claims that profile
in ``meta.profile`` only when it meets every rule (the tests check the rules, not only the base
model):

- ``PatientRead`` → ``IHE.BasicAudit.PatientRead``: RESTful read (type ``rest``, subtype ``read``,
  action R). The data flows from the server to the client, so the **server is the Source Role
  ID (110153) and the client the Destination (110152)**; the read data has its own entity with a
  ``what``.
- ``PatientQuery`` → ``IHE.BasicAudit.PatientQuery``: search (subtype ``search``, action E). By
  the DICOM convention BALP keeps, the query flows from the client, so the **client is the Source
  and the server the Destination** — the reverse of a read. The raw query is base64 in a query
  entity (no ``what``, no ``detail``); one resource per patient, as the trail holds them. A PDQm
  $match (``transaction = ITI-119``) adds the subtype ``urn:ihe:event-type-code#ITI-119`` and
  claims ``IHE.PDQm.Match.Audit.Supplier`` (the server records it, so it is the source).
- ``PrivacyDisclosure`` → ``IHE.BasicAudit.PrivacyDisclosure.Source``: DICOM 110106 Export,
  subtype ISO 21089 ``disclose``, action R; kinlink the source agent (and the audit source), the
  requesting client the recipient.
- Break-glass: the purpose of use ``BTG`` (HL7 v3 ActReason "break the glass") is added to the
  event and to the user agent, on whatever profile the access itself follows.
- anything else (authorisation decisions, review decisions, break-glass reviews) → a RESTful
  operation with the event's own action, claiming no profile.

Client and server agents each carry ``network`` (1..1 in BALP): the client's address as the
gateway saw the connection, the server's from ``server`` (its public URL, or the log's origin).
An event recorded before client addresses were kept has no client network and so claims no
profile. Users are not network devices and carry none; a user's purpose of use is on its agent.
The token appears only as its ``jti``, in the client agent's ``policy``. Our decision fields
(policy bundle and hash, matched rules, lawful basis, consent, justification, break-glass,
subject-access flag) go in one extension, so nothing the IG officer relies on is lost.
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

_PDQM_MATCH = "https://profiles.ihe.net/ITI/PDQm/StructureDefinition/IHE.PDQm.Match.Audit.Supplier"
_IHE_EVENT = "urn:ihe:event-type-code"
_NETWORK_TYPE = "http://hl7.org/fhir/network-type"

_SOURCE_ROLE = {"system": _DCM, "code": "110153", "display": "Source Role ID"}
_DESTINATION_ROLE = {"system": _DCM, "code": "110152", "display": "Destination Role ID"}
_BTG = {"system": _ACT_REASON, "code": "BTG", "display": "break the glass"}
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


def _type_and_subtype(kind: str, action: str, transaction: str | None
                      ) -> tuple[dict[str, str], list[dict[str, str]]]:
    if kind == "PrivacyDisclosure":
        return ({"system": _DCM, "code": "110106", "display": "Export"},
                [{"system": _LIFECYCLE, "code": "disclose"}, {"system": _RESTFUL, "code": "read"}])
    if kind == "StaffAccountChange":
        return ({"system": _DCM, "code": "110137", "display": "User Security Attributes Changed"},
                [{"system": _RESTFUL, "code": _ACTION_SUBTYPE.get(action, "update")}])
    rest = {"system": _EVENT_TYPE, "code": "rest", "display": "Restful Operation"}
    subtype = [{"system": _RESTFUL,
                "code": _REST_SUBTYPE.get(kind, _ACTION_SUBTYPE.get(action, "read"))}]
    if kind == "PatientQuery" and transaction == "ITI-119":
        subtype.append({"system": _IHE_EVENT, "code": "ITI-119",
                        "display": "Patient Demographics Match"})
    return rest, subtype


def _network(address: str | None) -> dict[str, Any] | None:
    """BALP ``agent.network``: a URI, a domain name or an IP address (FHIR network-type 5, 1, 2)."""
    if not address:
        return None
    if "://" in address:
        kind = "5"
    elif address.replace(".", "").isdigit() or ":" in address:
        kind = "2"
    else:
        kind = "1"
    return {"address": address, "type": kind}


def _system_identity(observer: str) -> dict[str, Any]:
    return {"identifier": {"system": f"{_ID}/system", "value": observer}}


def _agents(event: dict[str, Any], observer: str, server_network: str | None,
            server_is_source: bool) -> list[dict[str, Any]]:
    """Server, client, user and organisation agents. ``server_is_source``: the data flows from
    the server (a read, a disclosure at source), else the request does (a query)."""
    server: dict[str, Any] = {"type": {"coding": [_SOURCE_ROLE if server_is_source
                                                  else _DESTINATION_ROLE]},
                              "who": _system_identity(observer), "requestor": False}
    if (network := _network(server_network)) is not None:
        server["network"] = network
    agents = [server]
    if event.get("client_id"):
        client: dict[str, Any] = {
            "type": {"coding": [_DESTINATION_ROLE if server_is_source else _SOURCE_ROLE]},
            "who": {"identifier": {"system": f"{_ID}/client", "value": event["client_id"]}},
            "requestor": not event.get("user_id"),
        }
        if (network := _network(event.get("client_network"))) is not None:
            client["network"] = network
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
        if purpose := _purpose(event):
            user["purposeOfUse"] = purpose
        agents.append(user)
    elif event.get("role") and len(agents) > 1:
        agents[1]["role"] = [{"text": event["role"]}]
    if event.get("agency"):
        agents.append({"type": {"text": "organisation"},
                       "who": {"identifier": {"system": f"{_ID}/party", "value": event["agency"]}},
                       "requestor": False})
    return agents


def _entities(seq: int, event: dict[str, Any], with_data: bool) -> list[dict[str, Any]]:
    entities: list[dict[str, Any]] = []
    person = event.get("subject_person_id")
    if person:
        entities.append({
            "what": {"reference": f"Patient/{person}",
                     "identifier": {"system": f"{_ID}/person", "value": person}},
            "type": {"system": _ENTITY_TYPE, "code": "1", "display": "Person"},
            "role": {"system": _OBJECT_ROLE, "code": "1", "display": "Patient"},
        })
    if event.get("query") is not None:
        raw = json.dumps(event["query"], sort_keys=True).encode()
        entities.append({
            "type": {"system": _ENTITY_TYPE, "code": "2", "display": "System Object"},
            "role": {"system": _OBJECT_ROLE, "code": "24", "display": "Query"},
            "query": base64.b64encode(raw).decode(),
        })
    released = event.get("categories_released") or []
    if with_data and (released or event.get("record_count") or person):
        # What was read: this disclosure, by the trail's own identifier for it.
        data: dict[str, Any] = {
            "what": {"identifier": {"system": f"{_ID}/disclosure", "value": str(seq)}},
            "type": {"system": _ENTITY_TYPE, "code": "2", "display": "System Object"},
            "role": {"system": _OBJECT_ROLE, "code": "4", "display": "Domain Resource"},
            "description": "data disclosed",
            "detail": [{"type": "record_count",
                        "valueString": str(event.get("record_count", 0))}],
        }
        if released:
            data["detail"].insert(0, {"type": "categories", "valueString": " ".join(released)})
        entities.append(data)
    return entities


def _purpose(event: dict[str, Any]) -> list[dict[str, Any]]:
    concepts: list[dict[str, Any]] = []
    codings = []
    if event.get("purpose_of_use"):
        codings.append({"system": _ACT_REASON, "code": event["purpose_of_use"]})
    if event.get("purpose"):
        codings.append({"system": PURPOSE_SYSTEM, "code": event["purpose"]})
    if codings:
        concept: dict[str, Any] = {"coding": codings}
        if event.get("purpose"):
            concept["text"] = event["purpose"]
        concepts.append(concept)
    if event.get("break_glass"):
        concepts.append({"coding": [_BTG], "text": "break-glass"})
    return concepts


def _profile(kind: str, event: dict[str, Any], resource: dict[str, Any]) -> str | None:
    """The BALP profile this resource meets, or None: only successes with a patient, with both
    client and server reachable on the network, claim one."""
    if resource["outcome"] != "0" or not event.get("subject_person_id"):
        return None
    if not all("network" in a for a in resource["agent"][:2]) or len(resource["agent"]) < 2:
        return None
    if kind == "PatientQuery":
        if event.get("query") is None:
            return None
        return _PDQM_MATCH if event.get("transaction") == "ITI-119" else _BALP + "PatientQuery"
    return {"PatientRead": _BALP + "PatientRead",
            "PrivacyDisclosure": _BALP + "PrivacyDisclosure.Source"}.get(kind)


def to_fhir(seq: int, event: dict[str, Any], observer: str = "kinlink-gateway",
            server: str | None = None) -> dict[str, Any]:
    """One trail event (its stored JSON) as a FHIR R4 AuditEvent resource. ``observer`` names
    the recording system; ``server`` is its network address (public URL or domain name)."""
    kind = str(event.get("event_type", ""))
    action = "E" if kind == "PatientQuery" else str(event.get("action") or "R")
    event_type, subtype = _type_and_subtype(kind, action, event.get("transaction"))
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
        "agent": _agents(event, observer, server, server_is_source=kind != "PatientQuery"),
        "source": {"site": "kinlink", "observer": _system_identity(observer),
                   "type": [{"system": _SOURCE_TYPE, "code": "4",
                             "display": "Application Server"}]},
        "entity": _entities(seq, event, with_data=kind in ("PatientRead", "PrivacyDisclosure")),
        "extension": [{"url": EXTENSION_URL, "valueString": json.dumps(decision, sort_keys=True)}],
    }
    if purpose := _purpose(event):
        resource["purposeOfEvent"] = purpose
    if profile := _profile(kind, event, resource):
        resource["meta"] = {"profile": [profile]}
    return resource


def fhir_audit_events(con: duckdb.DuckDBPyConnection, batch_size: int = 5_000,
                      observer: str = "kinlink-gateway",
                      server: str | None = None) -> Iterator[dict[str, Any]]:
    """Every event in sequence order, fetched in batches so a long trail streams to the file."""
    cursor = con.execute("SELECT seq, event_json FROM audit_events ORDER BY seq")
    while rows := cursor.fetchmany(batch_size):
        for seq, text in rows:
            yield to_fhir(seq, json.loads(text), observer, server)
