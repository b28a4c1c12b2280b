"""FHIR R4 ``Patient/$match`` for systems that speak FHIR: the same resolution as ``/v1/resolve``.

Input: a ``Parameters`` resource with a ``resource`` Patient (NHS number as an identifier with the
NHS number system, name, birthDate, gender, address), optional ``count`` and
``onlyCertainMatches``. Output: a ``searchset`` Bundle, each entry's ``search.score`` the
probability and the ``match-grade`` extension the grade.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Request
from fastapi.responses import JSONResponse

from gateway.access import CallerDep, PurposeDep
from gateway.resolution import resolve

__all__ = ["router"]

router = APIRouter(prefix="/fhir", tags=["FHIR"])

NHS_NUMBER_SYSTEM = "https://fhir.nhs.uk/Id/nhs-number"
PERSON_SYSTEM = "https://kinlink.example/Id/person"
MATCH_GRADE = "http://hl7.org/fhir/StructureDefinition/match-grade"
FHIR_JSON = "application/fhir+json"
_GENDER = {"male": "M", "female": "F", "other": "U", "unknown": "U"}


class FhirError(ValueError):
    pass


def _outcome(status: int, code: str, text: str) -> JSONResponse:
    return JSONResponse({"resourceType": "OperationOutcome", "issue": [
        {"severity": "error", "code": code, "diagnostics": text}]}, status, media_type=FHIR_JSON)


def _parameter(parameters: list[dict[str, Any]], name: str) -> dict[str, Any] | None:
    return next((p for p in parameters if isinstance(p, dict) and p.get("name") == name), None)


def patient_to_record(patient: dict[str, Any]) -> dict[str, Any]:
    if patient.get("resourceType") != "Patient":
        raise FhirError("parameter 'resource' must be a Patient")
    record: dict[str, Any] = {"record_id": "query"}
    for identifier in patient.get("identifier") or []:
        if isinstance(identifier, dict) and identifier.get("system") == NHS_NUMBER_SYSTEM:
            record["nhs_number"] = str(identifier.get("value") or "")[:20]
    names = patient.get("name") or []
    if names and isinstance(names[0], dict):
        given = [g for g in names[0].get("given") or [] if isinstance(g, str)]
        record["given_name"] = given[0][:100] if given else None
        record["middle_names"] = " ".join(given[1:])[:200] or None
        family = names[0].get("family")
        record["family_name"] = family[:100] if isinstance(family, str) else None
    birth = patient.get("birthDate")
    if birth is not None:
        if not isinstance(birth, str) or len(birth) != 10:
            raise FhirError("birthDate must be a full date (YYYY-MM-DD)")
        record["dob"] = birth
    gender = patient.get("gender")
    if gender is not None:
        if gender not in _GENDER:
            raise FhirError("gender must be male, female, other or unknown")
        record["sex"] = _GENDER[gender]
    addresses = patient.get("address") or []
    if addresses and isinstance(addresses[0], dict):
        postcode = addresses[0].get("postalCode")
        record["postcode"] = postcode[:10] if isinstance(postcode, str) else None
        lines = [x for x in addresses[0].get("line") or [] if isinstance(x, str)]
        record["address"] = ", ".join(lines)[:300] or None
    if not any(v for k, v in record.items() if k != "record_id"):
        raise FhirError("the Patient has nothing to match on")
    return record


@router.post("/Patient/$match")
def patient_match(
    request: Request, caller: CallerDep, ctx: PurposeDep,
    body: Annotated[dict[str, Any], Body(media_type=FHIR_JSON)],
) -> JSONResponse:
    """FHIR R4 Patient $match over the identity index."""
    if body.get("resourceType") != "Parameters" or not isinstance(body.get("parameter"), list):
        return _outcome(400, "invalid", "body must be a Parameters resource")
    parameters = body["parameter"]
    resource = _parameter(parameters, "resource")
    if resource is None or not isinstance(resource.get("resource"), dict):
        return _outcome(400, "required", "parameter 'resource' (a Patient) is required")
    count = (_parameter(parameters, "count") or {}).get("valueInteger", 5)
    only_certain = (_parameter(parameters, "onlyCertainMatches") or {}).get("valueBoolean", False)
    if not isinstance(count, int) or not 1 <= count <= 20:
        return _outcome(400, "invalid", "count must be an integer from 1 to 20")
    try:
        record = patient_to_record(resource["resource"])
    except FhirError as exc:
        return _outcome(400, "invalid", str(exc))
    found = resolve(request, caller, ctx, record, count)
    if only_certain is True:
        found = [r for r in found if r.candidate.grade == "certain"]
    bundle = {
        "resourceType": "Bundle", "type": "searchset", "total": len(found),
        "entry": [{
            "fullUrl": f"{request.app.state.settings.issuer}/fhir/Patient/"
                       f"{r.candidate.person_id}",
            "resource": {"resourceType": "Patient", "id": r.candidate.person_id,
                         "identifier": [{"system": PERSON_SYSTEM,
                                         "value": r.candidate.person_id}]},
            "search": {"mode": "match", "score": round(r.candidate.probability, 6),
                       "extension": [{"url": MATCH_GRADE, "valueCode": r.candidate.grade}]},
        } for r in found],
    }
    return JSONResponse(bundle, media_type=FHIR_JSON,
                        headers={"Cache-Control": "no-store"})
