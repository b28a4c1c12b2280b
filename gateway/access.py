"""The one path every personal-data request takes: purpose → policy decision → audit → answer.

Routes call :func:`decide_for_person` and :func:`write_audit`; they never build a decision or an
audit event by hand, so no route can disclose without both. Denials are audited too: an IG
officer must see who tried to read a child's records and was refused.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from fastapi import Depends, HTTPException, Query, Request

from audit import AuditEvent, AuditUnavailable
from gateway.disclosure import subject_age
from gateway.dpop import DPoPError, verify_proof
from gateway.tokens import Caller, InvalidToken
from linkage.index.reader import PersonRecord
from policies import AccessRequest, BreakGlassRequest, Decision, SubjectFacts

__all__ = [
    "FREE_TEXT_HEADERS",
    "CallerDep",
    "PersonAccess",
    "PurposeContext",
    "PurposeDep",
    "audit_event",
    "audit_sign_in",
    "base_event",
    "check_purpose",
    "decide_for_person",
    "decide_records",
    "require_caller",
    "subject_facts",
    "write_audit",
]


def _header_text(text: str) -> str:
    """RFC 6750 section 3: error_description is printable ASCII without ``"`` or ``\\``. Anything
    else is replaced, so no text from a token can end the quoted string, add a header line, or
    make the answer unencodable (a 500 instead of a 401)."""
    return "".join(c if " " <= c <= "~" and c not in '"\\' else "?" for c in text)


def _unauthorised(description: str, error: str = "invalid_token") -> HTTPException:
    return HTTPException(401, description, headers={
        "WWW-Authenticate": f'Bearer realm="kinlink", error="{_header_text(error)}", '
                            f'error_description="{_header_text(description)}", DPoP algs="ES256"'})


def require_caller(request: Request) -> Caller:
    """The authenticated caller. A DPoP-bound token must come as ``DPoP <token>`` with a fresh
    proof from its key for this very request; a bearer token must not be bound."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() not in ("bearer", "dpop") or not token:
        raise HTTPException(401, "access token required",
                            headers={"WWW-Authenticate": 'Bearer realm="kinlink", DPoP algs="ES256"'})
    try:
        caller: Caller = request.app.state.validator.validate(token)
    except InvalidToken as exc:
        raise _unauthorised(exc.description, exc.error) from exc
    if scheme.lower() == "bearer":
        if caller.bound_jkt is not None:
            raise _unauthorised("a DPoP-bound token must be presented with a DPoP proof")
        return caller
    if caller.bound_jkt is None:
        raise _unauthorised("not a DPoP-bound token")
    proof = request.headers.get("dpop")
    if not proof:
        raise _unauthorised("DPoP proof required", "invalid_dpop_proof")
    # The public URL the client addressed: the configured origin and the path as sent (not
    # percent-decoded, as the client signed it), with no query (RFC 9449 section 4.3).
    raw_path = request.scope.get("raw_path")
    path = raw_path.decode("latin-1") if raw_path else request.url.path
    url = request.app.state.settings.issuer.rstrip("/") + path
    try:
        jkt = verify_proof(proof, request.method, url, request.app.state.dpop_replay, token)
    except DPoPError as exc:
        raise _unauthorised(str(exc), "invalid_dpop_proof") from exc
    if jkt != caller.bound_jkt:
        raise _unauthorised("DPoP proof key is not the token's key", "invalid_dpop_proof")
    return caller


CallerDep = Annotated[Caller, Depends(require_caller)]


@dataclass(frozen=True)
class PurposeContext:
    """Why the caller is asking: named on every personal-data request and kept in its audit event."""

    purpose: str
    justification: str | None = None
    reference: str | None = None
    consent: Literal["given", "refused", "not_sought", "unknown"] = "unknown"
    consent_override_reason: str | None = None
    break_glass: bool = False


#: Free text may come in these headers instead of the query string (finding 16 of issue 19):
#: proxies and access logs keep URLs, so a justification or case reference in one is copied
#: wherever the URL goes. A header wins over the query parameter of the same name.
FREE_TEXT_HEADERS = {"justification": "kinlink-justification",
                     "reference": "kinlink-reference",
                     "consent_override_reason": "kinlink-consent-override-reason"}
_FREE_TEXT_LIMITS = {"justification": 2000, "reference": 100, "consent_override_reason": 64}


def _free_text(request: Request, name: str, from_query: str | None) -> str | None:
    value = request.headers.get(FREE_TEXT_HEADERS[name])
    if value is None:
        return from_query
    if len(value) > _FREE_TEXT_LIMITS[name]:
        raise HTTPException(422, f"header {FREE_TEXT_HEADERS[name]} is longer than "
                                 f"{_FREE_TEXT_LIMITS[name]} characters")
    return value.strip() or None


async def purpose_context(
    request: Request,
    purpose: Annotated[str, Query(min_length=1, max_length=64, pattern=r"^[a-z0-9-]+$",
                                  description="Purpose code from the sharing agreement.")],
    justification: Annotated[str | None, Query(
        max_length=2000, description="Deprecated here: send the Kinlink-Justification "
                                     "header, which proxies do not log.")] = None,
    reference: Annotated[str | None, Query(max_length=100,
                                           description="Referral or case reference (or the "
                                                       "Kinlink-Reference header).")] = None,
    consent: Annotated[Literal["given", "refused", "not_sought", "unknown"], Query()] = "unknown",
    consent_override_reason: Annotated[str | None, Query(max_length=64)] = None,
    break_glass: Annotated[bool, Query(description="Emergency access; needs a justification "
                                                   "and is reported to IG.")] = False,
) -> PurposeContext:
    return PurposeContext(purpose, _free_text(request, "justification", justification),
                          _free_text(request, "reference", reference), consent,
                          _free_text(request, "consent_override_reason", consent_override_reason),
                          break_glass)


PurposeDep = Annotated[PurposeContext, Depends(purpose_context)]


def base_event(request: Request, caller: Caller, ctx: PurposeContext) -> dict[str, Any]:
    return dict(client_id=caller.client_id, user_id=caller.user_id, agency=caller.agency,
                role=caller.role, token_jti=caller.jti, purpose=ctx.purpose,
                justification=ctx.justification, reference=ctx.reference,
                request_id=request.headers.get("x-request-id"), break_glass=ctx.break_glass,
                client_network=request.client.host if request.client else None,
                # IHE PDQm: a $match's audit events name their transaction (BALP export).
                transaction="ITI-119" if request.url.path.endswith("/Patient/$match") else None)


def write_audit(request: Request, events: list[AuditEvent]) -> None:
    """Durably record ``events`` or fail the request: no audit, no answer."""
    metrics = request.app.state.metrics
    started = time.perf_counter()
    try:
        request.app.state.audit.append(events)
    except AuditUnavailable as exc:
        metrics.audit_failures.inc()
        raise HTTPException(503, "audit trail unavailable: nothing disclosed") from exc
    metrics.audit_write.observe(time.perf_counter() - started)
    for event in events:
        metrics.decisions.labels(event.purpose or "none", event.outcome).inc()


def decision_fields(decision: Decision) -> dict[str, Any]:
    """The parts of a decision an audit event keeps, so an IG officer can re-trace it.

    The break-glass flag comes from the request (``base_event``): a user who invoked break-glass
    is reported even when the clauses alone would have permitted what they saw."""
    return dict(
        source_agencies=sorted(decision.permitted), categories_released=decision.categories_released,
        redactions=decision.redactions, policy_bundle_id=decision.policy_bundle_id,
        policy_version=decision.policy_version, policy_hash=decision.policy_hash,
        matched_rules=decision.matched_rules, reasons=decision.reasons,
        lawful_basis=decision.lawful_basis,
        consent_status=decision.consent_status,
        consent_override_reason=decision.consent_override_reason,
        obligations=decision.obligations,
        subject_access=decision.subject_access, purpose_of_use=decision.purpose_of_use,
    )


@dataclass(frozen=True)
class PersonAccess:
    person_id: str
    records: list[PersonRecord]
    decision: Decision


def audit_event(
    request: Request, caller: Caller, ctx: PurposeContext, event_type: str, *, status: int,
    subject: str | None = None, decision: Decision | None = None, detail: str | None = None,
    action: Literal["C", "R", "U", "D", "E"] = "R", record_count: int = 0,
    outcome: Literal["permit", "deny"] | None = None, query: dict[str, Any] | None = None,
) -> AuditEvent:
    """The one place an audit event for a request is built, so every event carries the caller,
    the purpose and (when there is one) the whole decision, and none can forget a field.

    The outcome follows the HTTP status unless given: an answer sent is a permit."""
    fields = {**base_event(request, caller, ctx),
              **(decision_fields(decision) if decision is not None else {})}
    return AuditEvent(event_type=event_type, action=action,  # type: ignore[arg-type]  # event_type and action are checked by the AuditEvent model
                      outcome=outcome or ("permit" if status < 400 else "deny"),
                      subject_person_id=subject, http_status=status, detail=detail,
                      record_count=record_count, query=query, **fields)


def audit_sign_in(request: Request, username: str, detail: str) -> None:
    """A failed or refused staff sign-in, for IG: who was tried, from where, and what happened.
    There is no caller yet, so only the attempted username and the request are recorded."""
    write_audit(request, [AuditEvent(event_type="AuthorizationDecision", action="E",
                                     outcome="deny", user_id=username[:100], http_status=401,
                                     request_id=request.headers.get("x-request-id"),
                                     detail=detail)])


def check_purpose(request: Request, caller: Caller, ctx: PurposeContext,
                  event_type: str, subject: str | None) -> None:
    """Refuse, audited, a purpose the agreement does not know or this client may not name."""
    bundle = request.app.state.policies
    if bundle.purpose(ctx.purpose) is None:
        write_audit(request, [audit_event(request, caller, ctx, event_type, status=400,
                                          subject=subject, detail="unknown purpose")])
        raise HTTPException(400, f"unknown purpose {ctx.purpose!r}")
    if ctx.purpose not in caller.purposes:
        write_audit(request, [audit_event(request, caller, ctx, event_type, status=403,
                                          subject=subject,
                                          detail="purpose not granted to client")])
        raise HTTPException(403, f"this client may not name purpose {ctx.purpose!r}")


def holds_a_record(caller: Caller, records: list[PersonRecord]) -> bool:
    """A legitimate relationship is a fact, not a claim: the caller's own organisation holds one
    of the person's linked records (it supplies the source extract the record came from).

    Never the sector: every school's safeguarding lead shares ``agency: education``, and must
    not thereby have a relationship with every child any school holds. A caller whose issuer
    names no organisation has no relationship the gateway can establish."""
    return caller.organisation is not None and caller.organisation in {r.source for r in records}


def subject_facts(caller: Caller, ctx: PurposeContext, records: list[PersonRecord],
                  today: dt.date) -> SubjectFacts:
    """What the policy must know about the person behind ``records``: every restricted marker
    on any of them, the youngest age (at ``today``, the policy bundle's date), consent as stated,
    and whether the caller holds a record."""
    return SubjectFacts(age=subject_age(records, today),
                        restricted_markers=frozenset(r.restriction for r in records
                                                     if r.restriction),
                        consent=ctx.consent,
                        legitimate_relationship=holds_a_record(caller, records))


def decide_records(request: Request, caller: Caller, ctx: PurposeContext,
                   records: list[PersonRecord], categories: frozenset[str] | None = None,
                   break_glass: bool | None = None) -> Decision:
    """The policy decision for this caller and purpose over one person's (or one pair's) records:
    the single way any view asks, so markers and relationship are never left out."""
    glass = ctx.break_glass if break_glass is None else break_glass
    return request.app.state.policies.decide(AccessRequest(
        purpose=ctx.purpose, role=caller.role, party=caller.agency, client_id=caller.client_id,
        user_id=caller.user_id, source_parties=frozenset(r.agency for r in records),
        requested_categories=categories, subject=subject_facts(caller, ctx, records,
                                                         request.app.state.policies.today()),
        justification=ctx.justification, reference=ctx.reference,
        consent_override_reason=ctx.consent_override_reason,
        break_glass=BreakGlassRequest(ctx.justification or "") if glass else None,
    ))


def decide_for_person(
    request: Request, caller: Caller, ctx: PurposeContext, person_id: str,
    event_type: str = "PatientRead", categories: frozenset[str] | None = None,
) -> PersonAccess:
    """Resolve the ID and decide what this caller may see of this person, for this purpose."""
    check_purpose(request, caller, ctx, event_type, person_id)
    resolved = request.app.state.index.resolve(person_id)
    if resolved is None:
        write_audit(request, [audit_event(request, caller, ctx, event_type, status=404,
                                          subject=person_id, detail="no such person")])
        raise HTTPException(404, "no such person")
    records = request.app.state.index.records(resolved)
    return PersonAccess(resolved, records, decide_records(request, caller, ctx, records, categories))
