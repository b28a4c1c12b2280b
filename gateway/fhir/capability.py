"""The CapabilityStatement at ``[base]/metadata``: what a FHIR client may rely on here, and,
as plainly, what it may not (no search, no write, no XML), so a client learns it before it tries.
"""

from __future__ import annotations

from typing import Any

__all__ = ["MAX_COUNT", "capability_statement"]

#: The most candidates one $match returns; a larger ``count`` is capped to it, not refused.
MAX_COUNT = 20
#: Returned when the client does not say how many it wants.
DEFAULT_COUNT = 5

_PDQM_SUPPLIER = ("https://profiles.ihe.net/ITI/PDQm/CapabilityStatement/"
                  "IHE.PDQm.PatientDemographicsSupplier")
_MATCH = "http://hl7.org/fhir/OperationDefinition/Patient-match"

_NOT_SUPPORTED = (
    "Not supported: Patient search (PDQm ITI-78), create, update, delete, history, _include, "
    "XML (JSON only), the onlySingleMatch parameter, and paging (one page of at most "
    f"{MAX_COUNT} candidates). Every request names a purpose (?purpose=) from the sharing "
    "agreement; what a Patient carries is what that purpose permits, and each request is audited."
)


def capability_statement(base: str, version: str, date: str) -> dict[str, Any]:
    """This server's capabilities; ``date`` is when this software was released (not now)."""
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": date,
        "publisher": "kinlink",
        "kind": "instance",
        "instantiates": [_PDQM_SUPPLIER],
        "software": {"name": "kinlink", "version": version},
        "implementation": {"description": "kinlink identity index for children's services",
                           "url": f"{base.rstrip('/')}/fhir"},
        "fhirVersion": "4.0.1",
        "format": ["application/fhir+json", "json"],
        "rest": [{
            "mode": "server",
            "documentation": _NOT_SUPPORTED,
            "security": {
                "service": [{"coding": [{
                    "system": "http://terminology.hl7.org/CodeSystem/restful-security-service",
                    "code": "OAuth"}]}],
                "description": "OAuth 2 bearer or DPoP access token from the gateway's token "
                               "endpoint (client credentials).",
            },
            "resource": [{
                "type": "Patient",
                "profile": "http://hl7.org/fhir/StructureDefinition/Patient",
                "interaction": [{"code": "read"}],
                "operation": [{
                    "name": "match", "definition": _MATCH,
                    "documentation": (
                        "IHE PDQm ITI-119. Input: a Parameters resource (resource, "
                        "onlyCertainMatches, count) or a bare Patient. count is capped at "
                        f"{MAX_COUNT} (default {DEFAULT_COUNT}). The NHS number is read from "
                        "identifier system https://fhir.nhs.uk/Id/nhs-number."),
                }],
            }],
        }],
    }
