"""FHIR R4 routes: PDQm ``Patient/$match`` (IHE ITI-119), ``Patient/{id}`` and ``metadata``.

``$match`` is the same resolution as ``/v1/resolve`` (matcher → policy decision per candidate →
one audit event per candidate, subtype ITI-119 → answer); the Patient read is the same decision
and audit path as ``/v1/persons/{id}``. Each entry's Patient carries what the purpose permits
(NHS number, names, birth date, gender, address) and nothing it withholds.

Every error, including a missing token or an unknown purpose, leaves as an OperationOutcome with
its HTTP status. A refusal says only "not available for this purpose": which rule refused, or
whether the child is known at all, is in the audit event, not in the answer.
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import APIRouter, Body, HTTPException, Request, Response
from fastapi import Path as PathParam
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute

from gateway.access import CallerDep, PurposeDep
from gateway.disclosure import REFUSAL_TEXT
from gateway.fhir import (
    FHIR_JSON,
    FhirError,
    capability_statement,
    operation_outcome,
    parse_match_request,
    person_to_patient,
)
from gateway.resolution import CANDIDATE_CATEGORIES, Resolution, resolve
from gateway.views import person_view

__all__ = ["router"]

MATCH_GRADE = "http://hl7.org/fhir/StructureDefinition/match-grade"
ITI_119 = "ITI-119"
#: When this CapabilityStatement's content last changed (FHIR asks for a date; not "now").
CAPABILITY_DATE = "2026-12-03"
NO_STORE = {"Cache-Control": "no-store"}


def _refusal_text(status: int, detail: str) -> str:
    """The generic words for a refusal (the reason is in the audit event); others as they are."""
    return REFUSAL_TEXT if status in (403, 404) else detail


class FhirRoute(APIRoute):
    """A route whose every failure (authentication, purpose, validation) is an OperationOutcome."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def fhir_handler(request: Request) -> Response:
            accept = request.headers.get("accept", "")
            if "xml" in accept and "json" not in accept and "*/*" not in accept:
                return operation_outcome(406, "only JSON is supported (application/fhir+json)")
            try:
                return await handler(request)
            except FhirError as exc:
                return operation_outcome(exc.status, exc.message, exc.code, exc.where)
            except RequestValidationError as exc:
                first = exc.errors()[0] if exc.errors() else {"msg": "invalid request"}
                where = ".".join(str(p) for p in first.get("loc", ()))
                return operation_outcome(400, f"invalid request: {first['msg']}", "invalid",
                                         where or None)
            except HTTPException as exc:
                return operation_outcome(exc.status_code,
                                         _refusal_text(exc.status_code, str(exc.detail)),
                                         headers=dict(exc.headers or {}))

        return fhir_handler


router = APIRouter(prefix="/fhir", tags=["FHIR"], route_class=FhirRoute)

PersonId = Annotated[str, PathParam(pattern=r"^[A-Za-z0-9]{6,32}$",
                                    description="A person ID (retired IDs resolve).")]


def _fhir(body: dict[str, Any], status: int = 200) -> JSONResponse:
    return JSONResponse(body, status, media_type=FHIR_JSON, headers=NO_STORE)


@router.get("/metadata")
def metadata(request: Request) -> JSONResponse:
    """The CapabilityStatement: what is supported, and what is not."""
    return _fhir(capability_statement(request.app.state.settings.issuer,
                                      importlib.metadata.version("kinlink"), CAPABILITY_DATE))


def _entry(request: Request, found: Resolution) -> dict[str, Any]:
    candidate = found.candidate
    url = f"{request.app.state.settings.issuer.rstrip('/')}/fhir/Patient/{candidate.person_id}"
    return {
        "fullUrl": url,
        "resource": person_to_patient(candidate.person_id, found.released),
        "search": {"mode": "match", "score": round(min(max(candidate.probability, 0.0), 1.0), 6),
                   "extension": [{"url": MATCH_GRADE, "valueCode": candidate.grade}]},
    }


def _warning(text: str) -> dict[str, Any]:
    """An informational OperationOutcome entry (search mode ``outcome``), as PDQm shows them."""
    return {"resource": {"resourceType": "OperationOutcome",
                         "issue": [{"severity": "warning", "code": "informational",
                                    "diagnostics": text}]},
            "search": {"mode": "outcome"}}


@router.post("/Patient/$match")
def patient_match(
    request: Request, caller: CallerDep, ctx: PurposeDep,
    body: Annotated[Any, Body(media_type=FHIR_JSON)],
) -> JSONResponse:
    """PDQm Patient $match (ITI-119): a Parameters resource or a bare Patient."""
    asked = parse_match_request(body)
    found = resolve(request, caller, ctx, asked.record, asked.count, ihe_transaction=ITI_119)
    notes = []
    ambiguous = any(r.candidate.ambiguous_with for r in found)
    # count is a cap, even on the rival the matcher adds to an ambiguous answer (the note says).
    found = found[:asked.count]
    if asked.only_certain:
        found = [r for r in found if r.candidate.grade == "certain"]
        if len(found) > 1:
            # PDQm: several people certain is no certain answer at all.
            found = []
            notes.append("more than one person matched certainly: none is returned")
    if asked.capped_from is not None:
        notes.append(f"count {asked.capped_from} capped at {asked.count}")
    if ambiguous:
        notes.append("ambiguous: the query fits people who cannot be one child; "
                     "check before using any of them")
    entries = [_entry(request, r) for r in found]
    return _fhir({"resourceType": "Bundle", "type": "searchset", "total": len(entries),
                  "entry": entries + [_warning(n) for n in notes]})


@router.get("/Patient/{person_id}")
def patient_read(request: Request, person_id: PersonId, caller: CallerDep,
                 ctx: PurposeDep) -> JSONResponse:
    """The person as a FHIR Patient: the same use case (decision, disclosure, audit) as
    ``/v1/persons/{id}``, asking only for identity and address."""
    view = person_view(request, caller, ctx, person_id, categories=CANDIDATE_CATEGORIES,
                       detail="FHIR Patient read")
    if not view.permitted:
        return operation_outcome(403, REFUSAL_TEXT)
    patient = person_to_patient(person_id, view.records)
    if view.access.person_id != person_id:
        # A retired ID reads as itself, pointing to the person it was merged into.
        patient["link"] = [{"other": {"reference": f"Patient/{view.access.person_id}"},
                            "type": "replaced-by"}]
    return _fhir(patient)
