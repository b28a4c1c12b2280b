"""A person's linked records, who knows them, and their family: each limited to what the purpose
permits and audited before it is sent (the use cases in ``gateway.views``; this module renders
them as JSON)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import JSONResponse

from gateway.access import CallerDep, PurposeDep
from gateway.disclosure import decision_summary, refusal_body, withheld_list
from gateway.views import family_view, involvements_view, person_view

__all__ = ["router"]

router = APIRouter(prefix="/v1/persons", tags=["persons"])

PERSON_ID = r"^[A-Za-z0-9]{6,32}$"
NO_STORE = {"Cache-Control": "no-store"}
PersonId = Annotated[str, PathParam(pattern=PERSON_ID, description="A person ID (retired IDs resolve).")]


def _refused(person_id: str, **empty: list[object]) -> JSONResponse:
    """A refusal names only the ID the caller sent: not the survivor it resolves to (that would
    say two records were merged), and not why."""
    return JSONResponse(refusal_body(requested_id=person_id, **empty), 403, headers=NO_STORE)


@router.get("/{person_id}")
def person(
    request: Request,
    person_id: PersonId,
    caller: CallerDep,
    ctx: PurposeDep,
    categories: Annotated[str | None, Query(max_length=500, pattern=r"^[a-z0-9,-]+$",
                                            description="Comma-separated categories wanted "
                                                        "(minimisation); default all permitted.")] = None,
) -> JSONResponse:
    """A person's linked records, limited to the categories the purpose permits, with what is withheld."""
    wanted = frozenset(categories.split(",")) if categories else None
    view = person_view(request, caller, ctx, person_id, categories=wanted)
    if not view.permitted:
        return _refused(person_id, records=[], withheld=[])
    return JSONResponse({
        "person_id": view.access.person_id, "requested_id": person_id,
        "decision": decision_summary(view.access.decision), "records": view.records,
        "withheld": view.withheld,
    }, headers=NO_STORE)


@router.get("/{person_id}/involvements")
def who_knows(request: Request, person_id: PersonId, caller: CallerDep,
              ctx: PurposeDep) -> JSONResponse:
    """Who knows this child: each agency and service involved and, where permitted, named contacts."""
    view = involvements_view(request, caller, ctx, person_id)
    if not view.permitted:
        return _refused(person_id, involved=[], withheld=[])
    return JSONResponse({
        "person_id": view.access.person_id, "decision": decision_summary(view.access.decision),
        "involved": view.involved, "withheld": withheld_list(view.access.decision),
    }, headers=NO_STORE)


@router.get("/{person_id}/family")
def family(request: Request, person_id: PersonId, caller: CallerDep,
           ctx: PurposeDep) -> JSONResponse:
    """The person's family and household: members, roles and how each membership was inferred.

    Each member is decided on their own records and audited under their own decision; a member
    the policy refuses is left out and counted in ``members_withheld``, never named.
    """
    view = family_view(request, caller, ctx, person_id)
    if not view.permitted:
        return _refused(person_id, families=[])
    return JSONResponse({
        "person_id": view.access.person_id, "decision": decision_summary(view.access.decision),
        "families": view.families, "members_withheld": view.members_withheld,
    }, headers=NO_STORE)
