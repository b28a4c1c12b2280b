"""FHIR Patient in and out: a $match request read into the record the matcher takes, and a
person's released records written as the Patient a FHIR client expects.

A request is checked as FHIR first (``fhir.resources`` validates the Patient's structure, so a
``given`` that is not a list is refused with its path) and then for what matching needs: a full
birth date, a gender code, something to match on. Every refusal names the element's path.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass
from typing import Any

from fhir.resources.R4B.patient import Patient
from pydantic import ValidationError

from gateway.fhir.capability import DEFAULT_COUNT, MAX_COUNT
from gateway.fhir.outcome import FhirError

__all__ = ["NHS_NUMBER_SYSTEM", "PERSON_SYSTEM", "MatchRequest", "parse_match_request",
           "person_to_patient"]

NHS_NUMBER_SYSTEM = "https://fhir.nhs.uk/Id/nhs-number"
PERSON_SYSTEM = "https://kinlink.example/Id/person"
_GENDER_IN = {"male": "M", "female": "F", "other": "U", "unknown": "U"}
_GENDER_OUT = {"M": "male", "F": "female", "U": "unknown"}


@dataclass(frozen=True)
class MatchRequest:
    record: dict[str, Any]
    count: int
    only_certain: bool
    #: The client asked for more than ``MAX_COUNT``: the answer says it was capped.
    capped_from: int | None = None


def parse_match_request(body: Any) -> MatchRequest:
    """A Parameters resource (``resource``, ``onlyCertainMatches``, ``count``) or a bare Patient,
    as PDQm ITI-119 allows when no other parameter is sent."""
    if not isinstance(body, dict):
        raise FhirError(400, "structure", "the body must be a FHIR JSON resource")
    kind = body.get("resourceType")
    if kind == "Patient":
        return MatchRequest(patient_to_record(body, "Patient"), DEFAULT_COUNT, False)
    if kind != "Parameters":
        raise FhirError(400, "structure", "the body must be a Parameters resource or a Patient",
                        "resourceType")
    parameters = body.get("parameter")
    if not isinstance(parameters, list):
        raise FhirError(400, "required", "parameter 'resource' (a Patient) is required",
                        "Parameters.parameter")
    found: dict[str, tuple[int, dict[str, Any]]] = {}
    for i, parameter in enumerate(parameters):
        if not isinstance(parameter, dict) or not isinstance(parameter.get("name"), str):
            raise FhirError(400, "structure", "each parameter needs a name",
                            f"Parameters.parameter[{i}]")
        if parameter["name"] in found:
            raise FhirError(400, "invalid", f"parameter '{parameter['name']}' is given twice",
                            f"Parameters.parameter[{i}]")
        found[parameter["name"]] = (i, parameter)
    if "resource" not in found or not isinstance(found["resource"][1].get("resource"), dict):
        raise FhirError(400, "required", "parameter 'resource' (a Patient) is required",
                        "Parameters.parameter")
    at, resource = found["resource"]
    record = patient_to_record(resource["resource"], f"Parameters.parameter[{at}].resource")
    count, capped_from = _count(found.get("count"))
    return MatchRequest(record, count, _only_certain(found.get("onlyCertainMatches")),
                        capped_from)


def _count(given: tuple[int, dict[str, Any]] | None) -> tuple[int, int | None]:
    if given is None:
        return DEFAULT_COUNT, None
    at, parameter = given
    value = parameter.get("valueInteger")
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise FhirError(400, "invalid", "count must be a positive valueInteger",
                        f"Parameters.parameter[{at}].valueInteger")
    return (value, None) if value <= MAX_COUNT else (MAX_COUNT, value)


def _only_certain(given: tuple[int, dict[str, Any]] | None) -> bool:
    if given is None:
        return False
    at, parameter = given
    value = parameter.get("valueBoolean")
    if not isinstance(value, bool):
        raise FhirError(400, "invalid", "onlyCertainMatches must be a valueBoolean",
                        f"Parameters.parameter[{at}].valueBoolean")
    return value


def _validated(patient: dict[str, Any], path: str) -> None:
    try:
        Patient.model_validate(patient)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join([path, *(f"[{p}]" if isinstance(p, int) else str(p)
                                  for p in first["loc"])]).replace(".[", "[")
        raise FhirError(400, "structure", f"not a valid FHIR Patient: {first['msg']}",
                        where) from exc


def patient_to_record(patient: dict[str, Any], path: str) -> dict[str, Any]:
    """The matcher's query record from a Patient (first name, first address, NHS number)."""
    if patient.get("resourceType") != "Patient":
        raise FhirError(400, "structure", "the resource to match must be a Patient",
                        f"{path}.resourceType")
    _validated(patient, path)
    record: dict[str, Any] = {"record_id": "query"}
    for identifier in patient.get("identifier") or []:
        if identifier.get("system") == NHS_NUMBER_SYSTEM and identifier.get("value"):
            record["nhs_number"] = str(identifier["value"])[:20]
    names = patient.get("name") or []
    if names:
        given = names[0].get("given") or []
        record["given_name"] = given[0][:100] if given else None
        record["middle_names"] = " ".join(given[1:])[:200] or None
        family = names[0].get("family")
        record["family_name"] = family[:100] if family else None
    birth = patient.get("birthDate")
    if birth is not None:
        try:
            dt.date.fromisoformat(birth)
        except ValueError:
            raise FhirError(400, "invalid", "birthDate must be a full date (YYYY-MM-DD)",
                            f"{path}.birthDate") from None
        record["dob"] = birth
    gender = patient.get("gender")
    if gender is not None:
        if gender not in _GENDER_IN:
            raise FhirError(400, "code-invalid", "gender must be male, female, other or unknown",
                            f"{path}.gender")
        record["sex"] = _GENDER_IN[gender]
    addresses = patient.get("address") or []
    if addresses:
        record["postcode"] = (addresses[0].get("postalCode") or "")[:10] or None
        lines = [*(addresses[0].get("line") or []), *filter(None, [addresses[0].get("city")])]
        record["address"] = ", ".join(lines)[:300] or None
    if not any(v for k, v in record.items() if k not in ("record_id", "sex")):
        raise FhirError(400, "required", "the Patient has nothing to match on (an identifier, "
                        "name, birthDate or address)", path)
    return record


def _most_common(values: list[str]) -> str | None:
    """One value for a 0..1 element: the one most records agree on (ties: the first seen)."""
    return Counter(values).most_common(1)[0][0] if values else None


def person_to_patient(person_id: str, released: list[dict[str, Any]]) -> dict[str, Any]:
    """A Patient from a person's released records (``gateway.disclosure.disclose``): only what
    the decision let through is there to write, so a withheld address is simply absent."""
    identity = [r["identity"] for r in released if "identity" in r]
    addresses = [r["address"] for r in released if "address" in r]
    patient: dict[str, Any] = {
        "resourceType": "Patient", "id": person_id,
        "identifier": [{"system": PERSON_SYSTEM, "value": person_id}],
    }
    for number in sorted({i["nhs_number"] for i in identity if i.get("nhs_number")}):
        patient["identifier"].append({"system": NHS_NUMBER_SYSTEM, "value": number})
    names: dict[tuple[str, ...], dict[str, Any]] = {}
    for i in identity:
        given = [n for n in (i.get("given_name"), *(i.get("middle_names") or "").split()) if n]
        family = i.get("family_name")
        if given or family:
            name: dict[str, Any] = {"family": family} if family else {}
            if given:
                name["given"] = given
            names.setdefault((family or "", *given), name)
    if names:
        patient["name"] = list(names.values())
    if gender := _most_common([_GENDER_OUT[i["sex"]] for i in identity
                               if i.get("sex") in _GENDER_OUT]):
        patient["gender"] = gender
    if birth := _most_common([i["dob"] for i in identity if i.get("dob")]):
        patient["birthDate"] = birth
    places: dict[tuple[str, str], dict[str, Any]] = {}
    for a in addresses:
        line, postcode = a.get("address") or "", a.get("postcode") or ""
        if line or postcode:
            place: dict[str, Any] = {"text": ", ".join(filter(None, [line, postcode]))}
            if line:
                place["line"] = line.split(", ")
            if postcode:
                place["postalCode"] = postcode
            places.setdefault((line.lower(), postcode), place)
    if places:
        patient["address"] = list(places.values())
    return patient
