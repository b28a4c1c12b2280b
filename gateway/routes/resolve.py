"""``POST /v1/resolve``: demographics and any identifiers → candidate persons, with probability,
grade and a per-field explanation (each comparison's level and match weight).

Personal data travels in the body, never the URL, so it stays out of access logs and caches.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, model_validator

from gateway.access import CallerDep, PurposeDep
from gateway.resolution import resolve

__all__ = ["ResolveQuery", "router"]

router = APIRouter(prefix="/v1", tags=["identity"])


class ResolveQuery(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    nhs_number: str | None = Field(None, max_length=20)
    upn: str | None = Field(None, max_length=20)
    local_id: str | None = Field(None, max_length=40)
    source: str | None = Field(None, max_length=64, pattern=r"^[A-Za-z0-9_-]+$",
                               description="Source system of local_id.")
    given_name: str | None = Field(None, max_length=100)
    middle_names: str | None = Field(None, max_length=200)
    family_name: str | None = Field(None, max_length=100)
    dob: dt.date | None = None
    sex: Literal["M", "F", "U", "male", "female", "unknown", "other"] | None = None
    postcode: str | None = Field(None, max_length=10)
    address: str | None = Field(None, max_length=300)

    @model_validator(mode="after")
    def _something_to_match(self) -> ResolveQuery:
        if not any(v for k, v in self.model_dump().items() if k != "source"):
            raise ValueError("give at least one identifier or demographic field")
        return self

    def as_record(self) -> dict[str, str | None]:
        data = self.model_dump()
        data["dob"] = self.dob.isoformat() if self.dob else None
        data["record_id"] = "query"
        return data


@router.post("/resolve")
def resolve_identity(
    request: Request, caller: CallerDep, ctx: PurposeDep, body: ResolveQuery,
    top: Annotated[int, Query(ge=1, le=20)] = 5,
) -> JSONResponse:
    """Who is this child? Candidates the purpose allows the caller to see, best first."""
    found = resolve(request, caller, ctx, body.as_record(), top)
    return JSONResponse({"candidates": [{
        "person_id": r.candidate.person_id,
        "probability": round(r.candidate.probability, 6),
        "match_weight": round(r.candidate.match_weight, 3),
        "grade": r.candidate.grade,
        # Why a candidate is only "possible": the hard constraint that keeps it apart from the
        # query, or the other candidates it cannot be told from (twins).
        "constraint": r.candidate.constraint,
        "ambiguous_with": list(r.candidate.ambiguous_with),
        "explanation": [{"comparison": p.comparison, "level": p.level,
                         "match_weight": round(p.match_weight, 3)}
                        for p in r.candidate.explanation if p.gamma != -1],
    } for r in found]}, headers={"Cache-Control": "no-store"})
