"""FHIR errors: every failure of a FHIR route is an OperationOutcome with the HTTP status that
says what went wrong, so a FHIR client never has to read a framework's own error shape."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi.responses import JSONResponse

__all__ = ["FHIR_JSON", "FhirError", "issue_code_for", "operation_outcome"]

FHIR_JSON = "application/fhir+json"

#: The OperationOutcome issue code for each HTTP status a FHIR route returns.
_ISSUE_CODES = {400: "invalid", 401: "login", 403: "forbidden", 404: "not-found",
                406: "not-supported", 415: "not-supported", 422: "processing",
                503: "transient"}


@dataclass
class FhirError(Exception):
    """Bad FHIR input: ``where`` is the element's path in the request (``Parameters.parameter
    [resource].resource.birthDate``) so the client can find what to fix."""

    status: int
    code: str
    message: str
    where: str | None = None


def issue_code_for(status: int) -> str:
    return _ISSUE_CODES.get(status, "exception" if status >= 500 else "processing")


def operation_outcome(status: int, message: str, code: str | None = None,
                      where: str | None = None,
                      headers: dict[str, str] | None = None) -> JSONResponse:
    issue: dict[str, Any] = {"severity": "error", "code": code or issue_code_for(status),
                             "diagnostics": message}
    if where:
        issue["expression"] = [where]
    return JSONResponse({"resourceType": "OperationOutcome", "issue": [issue]}, status,
                        media_type=FHIR_JSON, headers={"Cache-Control": "no-store",
                                                       **(headers or {})})
