"""FHIR R4 Patient and RelatedPerson resources, as a Bundle (JSON) or as NDJSON (bulk export).

Each resource is checked against the R4 model by ``fhir.resources`` (pydantic), so a resource
that does not parse is named by its JSON path and left out with a reject row, and the rest of the
file still reads. Bundles are streamed entry by entry with ijson; NDJSON line by line.

UK Core Patient: the NHS number is the identifier under ``https://fhir.nhs.uk/Id/nhs-number``,
with its verification status in an extension; a number whose status is not "verified" (code 01)
is kept, and the status goes to the attributes so the trace request can pick it up. A
RelatedPerson (a contact of the patient) becomes a record of its own and a relationship row.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

import ijson
from fhir.resources.R4B.patient import Patient
from fhir.resources.R4B.relatedperson import RelatedPerson
from pydantic import BaseModel, ValidationError

from linkage.ingest.errors import ExtractError
from linkage.ingest.formats.base import FormatExtract, JsonLines, RecordTable
from linkage.ingest.rejects import Reject

__all__ = ["FORMAT", "NHS_NUMBER_SYSTEM", "VERIFICATION_EXTENSION", "read_fhir"]

FORMAT: Final = "fhir"
NHS_NUMBER_SYSTEM: Final = "https://fhir.nhs.uk/Id/nhs-number"
VERIFICATION_EXTENSION: Final = (
    "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-NHSNumberVerificationStatus")
#: meta.security: PDS marks a restricted patient R (or V) in HL7's confidentiality codes; the
#: synthetic files say which kind of restriction under kinlink's own system.
CONFIDENTIALITY_SYSTEM: Final = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality"
RESTRICTION_SYSTEM: Final = "https://kinlink.example/fhir/restriction"
#: HL7 v3 RoleCode relationships onto the roles the linkage rules know.
ROLES: Final = {
    "MTH": "mother", "NMTH": "mother", "FTH": "father", "NFTH": "father", "PRN": "parent",
    "NPRN": "parent", "SIB": "sibling", "BRO": "sibling", "SIS": "sibling", "GUARD": "carer",
    "FOSTPRN": "carer", "STPPRN": "carer", "GRPRN": "carer", "CHILD": "child",
}
GENDER: Final = {"male": "M", "female": "F", "other": "U", "unknown": "U"}
CATEGORIES: Final = {
    "nhs_number_verification": "identity", "gp_practice": "professionals",
    "deceased": "identity", "restriction": "restricted-marker",
}
_MODELS: Final[dict[str, type[BaseModel]]] = {"Patient": Patient, "RelatedPerson": RelatedPerson}


def read_fhir(path: Path) -> FormatExtract:
    rows = RecordTable()
    relationships: list[tuple[str, str, str]] = []
    rejects: list[Reject] = []
    kind = "Bundle"
    for line, where, resource in _resources(path):
        kind = "Bundle" if where.startswith("$.entry") else "NDJSON"
        if not isinstance(resource, dict):
            rejects.append(Reject(str(path), line, where,
                                  "not a JSON object (or not JSON); resource skipped"))
            continue
        name = resource.get("resourceType")
        model = _MODELS.get(str(name))
        if model is None:
            continue  # other resources (Encounter, Observation…) say nothing about identity
        try:
            model.model_validate(resource)
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(p) for p in first["loc"])
            rejects.append(Reject(str(path), line, f"{where}.{field}" if field else where,
                                  f"{name} does not parse as FHIR R4 ({first['msg']}); "
                                  "resource skipped"))
            continue
        if not resource.get("id"):
            rejects.append(Reject(str(path), line, f"{where}.id",
                                  f"{name} has no id; resource skipped"))
            continue
        record = _person(resource)
        if name == "RelatedPerson":
            record["record_id"] = f"RelatedPerson/{resource['id']}"
            patient = str((resource.get("patient") or {}).get("reference") or "")
            role = _role(resource)
            if patient.startswith("Patient/"):
                relationships.append((record["record_id"] or "", patient.removeprefix("Patient/"),
                                      role))
        rows.add(line or 0, record)
    return FormatExtract(FORMAT, f"R4 {kind}", (path,), rows, relationships, dict(CATEGORIES),
                         ("%Y-%m-%d",), 1, rejects)


def _resources(path: Path) -> Iterator[tuple[int | None, str, Any]]:
    """(line, JSON path, resource) for every entry: for NDJSON the line of the resource (the path
    is then within it); for a Bundle the line its entry starts on and the path from the root."""
    lines: JsonLines | None = None
    try:
        if path.suffix.lower() == ".ndjson":
            with path.open(encoding="utf-8") as handle:
                for number, text in enumerate(handle, start=1):
                    if not text.strip():
                        continue
                    try:
                        yield number, "$", json.loads(text)
                    except json.JSONDecodeError:
                        yield number, "$", None
            return
        with path.open("rb") as handle:
            lines = JsonLines(handle)
            for index, (line, entry) in enumerate(lines.items("entry.item")):
                resource = entry.get("resource") if isinstance(entry, dict) else None
                yield line, f"$.entry[{index}].resource", resource
    except ijson.JSONError as exc:
        raise ExtractError(f"{path}: {JsonLines.where(lines)}not well-formed JSON ({exc})") \
            from exc
    except UnicodeDecodeError as exc:
        raise ExtractError(f"{path}: not UTF-8 text ({exc.reason})") from exc
    except OSError as exc:
        raise ExtractError(f"{path}: cannot be read ({exc})") from exc


def _official_name(resource: dict[str, Any]) -> dict[str, Any]:
    names = [n for n in resource.get("name") or [] if isinstance(n, dict)]
    official = [n for n in names if n.get("use") in (None, "official", "usual")]
    return (official or names or [{}])[0]


def _nhs_number(resource: dict[str, Any]) -> tuple[str | None, str | None]:
    for identifier in resource.get("identifier") or []:
        if isinstance(identifier, dict) and identifier.get("system") == NHS_NUMBER_SYSTEM:
            status = None
            for ext in identifier.get("extension") or []:
                if ext.get("url") == VERIFICATION_EXTENSION:
                    codings = (ext.get("valueCodeableConcept") or {}).get("coding") or [{}]
                    status = codings[0].get("code")
            return identifier.get("value"), status
    return None, None


def _person(resource: dict[str, Any]) -> dict[str, str | None]:
    name = _official_name(resource)
    given = [g for g in name.get("given") or [] if g]
    address = next((a for a in resource.get("address") or [] if isinstance(a, dict)), {})
    nhs, status = _nhs_number(resource)
    security = [c for c in (resource.get("meta") or {}).get("security") or []
                if isinstance(c, dict)]
    restriction = next((c.get("code") for c in security if c.get("system") == RESTRICTION_SYSTEM),
                       None) or next(("nhs-restricted" for c in security
                                      if c.get("system") == CONFIDENTIALITY_SYSTEM
                                      and c.get("code") in ("R", "V")), None)
    practitioner = next((g.get("display") for g in resource.get("generalPractitioner") or []
                         if isinstance(g, dict)), None)
    return {
        "record_id": resource.get("id"),
        "nhs_number": nhs,
        "given_name": given[0] if given else None,
        "middle_names": " ".join(given[1:]) or None,
        "family_name": name.get("family"),
        "dob": resource.get("birthDate"),
        "sex": GENDER.get(str(resource.get("gender")), None) if resource.get("gender") else None,
        "postcode": address.get("postalCode"),
        "address": ", ".join(address.get("line") or []) or None,
        "nhs_number_verification": status,
        "gp_practice": practitioner,
        "deceased": str(resource["deceasedDateTime"]) if resource.get("deceasedDateTime")
        else None,
        "restriction": restriction,
        **_other_extensions(resource),
    }


def _other_extensions(resource: dict[str, Any]) -> dict[str, str | None]:
    """Extensions this reader does not map, kept as attributes named by the URL's last part
    (``…/Extension-UKCore-EthnicCategory`` → ``Extension-UKCore-EthnicCategory``)."""
    out: dict[str, str | None] = {}
    for ext in resource.get("extension") or []:
        if not isinstance(ext, dict) or not ext.get("url"):
            continue
        value = next((v for k, v in ext.items() if k.startswith("value")), None)
        if isinstance(value, dict):
            codings = value.get("coding") or [{}]
            value = codings[0].get("code") or value.get("text")
        if value is not None:
            out[str(ext["url"]).rstrip("/").rsplit("/", 1)[-1]] = str(value)
    return out


def _role(resource: dict[str, Any]) -> str:
    for concept in resource.get("relationship") or []:
        for coding in (concept or {}).get("coding") or []:
            role = ROLES.get(str(coding.get("code")).upper())
            if role:
                return role
    return "associate"
