"""The owner-notification feed, and the dead-letter list an administrator replays.

An agency's systems pull ``GET /v1/notifications?since=…`` under their own client token and get
only their own agency's notifications: each says another agency was shown one of its records
(the shared person ID, who, when, why, which clauses and categories). Reading the feed is
recorded in the audit trail like any other read.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import JSONResponse

from audit import AuditEvent
from audit.notifications import dead_letters, notifications_for, replay
from gateway.access import CallerDep, write_audit
from gateway.tokens import Caller

__all__ = ["ADMIN_ROLES", "router"]

router = APIRouter(prefix="/v1/notifications", tags=["owner notifications"])
#: Who may see and replay the dead-letter list (IG runs the sharing agreement's controls).
ADMIN_ROLES = frozenset({"ig-officer"})
NO_STORE = {"Cache-Control": "no-store"}


def _since(value: str | None) -> tuple[int | None, dt.datetime | None]:
    """``since`` is a notification cursor (the last ``seq`` seen) or an ISO date-time."""
    if value is None:
        return None, None
    if value.isdigit():
        return int(value), None
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError as exc:
        raise HTTPException(422, "since: a sequence number or an ISO date-time") from exc
    return None, moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _record(request: Request, caller: Caller, outcome: str, status: int, detail: str) -> None:
    write_audit(request, [AuditEvent(
        event_type="AuthorizationDecision", outcome=outcome,  # type: ignore[arg-type]  # the outcome literal is checked by the AuditEvent model
        client_id=caller.client_id, user_id=caller.user_id, agency=caller.agency,
        role=caller.role, token_jti=caller.jti, http_status=status, detail=detail,
        request_id=request.headers.get("x-request-id"))])


@router.get("")
def feed(request: Request, caller: CallerDep,
         since: Annotated[str | None, Query(max_length=40, description=(
             "The last seq already seen, or an ISO date-time."))] = None,
         limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> JSONResponse:
    """This agency's notifications after ``since``, oldest first; ``next`` is the cursor."""
    after, moment = _since(since)
    _record(request, caller, "permit", 200, "notifications feed")
    with request.app.state.audit.session() as session:
        found = notifications_for(session, caller.agency, after, moment, limit)
    cursor = found[-1]["seq"] if found else after
    return JSONResponse({"agency": caller.agency, "notifications": found, "next": cursor},
                        headers=NO_STORE)


def _admin(request: Request, caller: Caller, detail: str) -> None:
    allowed = caller.role in ADMIN_ROLES
    _record(request, caller, "permit" if allowed else "deny", 200 if allowed else 403, detail)
    if not allowed:
        raise HTTPException(403, "the dead-letter list is for information governance roles")


@router.get("/dead-letters")
def dead_letter_list(request: Request, caller: CallerDep) -> JSONResponse:
    """Notifications whose webhook gave up, every agency's."""
    _admin(request, caller, "notification dead letters")
    with request.app.state.audit.session() as session:
        found: list[dict[str, Any]] = dead_letters(session)
    return JSONResponse({"dead_letters": found}, headers=NO_STORE)


@router.post("/dead-letters/{seq}/{agency}/replay", status_code=202)
def replay_dead_letter(request: Request, caller: CallerDep,
                       seq: Annotated[int, PathParam(ge=0)],
                       agency: Annotated[str, PathParam(pattern=r"^[a-z_]{2,32}$")]
                       ) -> JSONResponse:
    """Queue a dead notification for delivery again (its attempts start afresh)."""
    _admin(request, caller, f"notification replay {seq}:{agency}")
    with request.app.state.audit.session() as session:
        try:
            replay(session, seq, agency, dt.datetime.now(dt.UTC),
                   caller.user_id or caller.client_id)
        except ValueError as exc:
            raise HTTPException(409, str(exc)) from exc
    return JSONResponse({"replayed": f"{seq}:{agency}"}, status_code=202, headers=NO_STORE)
