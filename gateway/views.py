"""The use cases behind the JSON routes and the pages: decide → disclose → audit, once.

Each function answers one question a caller may ask (a child's records, who knows them, their
family, the review queue, a pair, a review decision, the IG gate) and returns plain data, having
already written that answer's audit events. The routes render the data as JSON and the pages as
HTML, so the two faces cannot disclose differently, and neither builds an audit event itself.

Refusals are generic (``gateway.disclosure.REFUSAL_TEXT``): the specific reason goes to the audit
event only, because a reason such as "restricted marker: adoption" is itself the secret.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from fastapi import HTTPException, Request

from audit import AuditEvent, subject_access_report
from audit.anomalies import AnomalyContext
from audit.staff import read_staff_register
from audit.subject_access import SubjectAccessReport
from gateway.access import (
    PersonAccess,
    PurposeContext,
    audit_event,
    check_purpose,
    decide_for_person,
    decide_records,
    write_audit,
)
from gateway.disclosure import REFUSAL_TEXT, disclose, withheld_list
from gateway.resolution import Resolution, resolve
from gateway.tokens import Caller
from gateway.users import IG_PURPOSE, IG_ROLES  # one definition, shared with `users add`
from linkage.index.reader import PersonRecord
from linkage.review.decisions import DecisionStore, decisions_path_for
from linkage.review.queue import pair_side_by_side, review_queue
from policies import AccessRequest, BreakGlassPolicy, Decision

__all__ = [
    "ADDRESS_FIELDS",
    "IDENTITY_FIELDS",
    "IG_PURPOSE",
    "IG_ROLES",
    "REVIEW_PURPOSE",
    "CandidateView",
    "ChildView",
    "FamilyView",
    "InvolvementsView",
    "PairView",
    "PersonView",
    "QueueView",
    "Refused",
    "anomaly_context",
    "break_glass_offer",
    "candidates_view",
    "child_view",
    "family_view",
    "group_by_agency",
    "ig_gate",
    "involvements_view",
    "person_view",
    "review_decide",
    "review_pair",
    "review_queue_view",
    "subject_access_for",
]

#: The purpose under which record links are reviewed; no other purpose may read or settle a pair.
REVIEW_PURPOSE = "identity-review"
IDENTITY_FIELDS = ("nhs_number", "upn", "local_id", "given_name", "middle_names", "family_name",
                   "dob", "sex", "former_upn", "former_family_name", "expected_dob")
#: The review pair's address fields (a UPRN is the address's own identifier).
ADDRESS_FIELDS = ("postcode", "address", "uprn")


class Refused(HTTPException):
    """A request refused after its refusal was audited; the text says nothing about why."""

    def __init__(self, status: int = 403, text: str = REFUSAL_TEXT) -> None:
        super().__init__(status, text)


# --- a person's records, involvements and family ------------------------------------------------


@dataclass(frozen=True)
class PersonView:
    requested_id: str
    access: PersonAccess
    records: list[dict[str, Any]]

    @property
    def permitted(self) -> bool:
        return self.access.decision.effect == "permit"

    @property
    def withheld(self) -> list[dict[str, str]]:
        return withheld_list(self.access.decision)


@dataclass(frozen=True)
class InvolvementsView:
    access: PersonAccess
    involved: list[dict[str, Any]]

    @property
    def permitted(self) -> bool:
        return self.access.decision.effect == "permit"


@dataclass(frozen=True)
class FamilyView:
    access: PersonAccess
    permitted: bool
    #: Members shown (the subject among them), each a row of ``family_of``.
    members: list[dict[str, Any]]
    #: How many other members were left out because their own decision refused them.
    members_withheld: int = 0

    @property
    def families(self) -> list[dict[str, Any]]:
        ids = sorted({m["family_id"] for m in self.members})
        return [{"family_id": f, "members": [m for m in self.members if m["family_id"] == f]}
                for f in ids]


def _status(decision: Decision) -> int:
    return 200 if decision.effect == "permit" else 403


def _subject_event(request: Request, caller: Caller, ctx: PurposeContext, access: PersonAccess,
                   record_count: int, detail: str | None) -> AuditEvent:
    return audit_event(request, caller, ctx, "PatientRead", status=_status(access.decision),
                       subject=access.person_id, decision=access.decision,
                       record_count=record_count, detail=detail)


def person_view(request: Request, caller: Caller, ctx: PurposeContext, person_id: str,
                categories: frozenset[str] | None = None,
                detail: str | None = None) -> PersonView:
    """A person's linked records, limited to what the purpose permits."""
    access = decide_for_person(request, caller, ctx, person_id, categories=categories)
    released = disclose(access.records, access.decision) \
        if access.decision.effect == "permit" else []
    write_audit(request, [_subject_event(request, caller, ctx, access, len(released), detail)])
    return PersonView(person_id, access, released)


def _involved(access: PersonAccess) -> list[dict[str, Any]]:
    involved: dict[str, dict[str, Any]] = {}
    if access.decision.effect != "permit":
        return []
    for record in access.records:
        allowed = access.decision.permitted.get(record.agency, frozenset())
        if "involvements" not in allowed:
            continue
        entry = involved.setdefault(record.agency, {"agency": record.agency, "records": [],
                                                    "contacts": {}})
        entry["records"].append({"source": record.source, "record_id": record.record_id,
                                 "match_grade": record.match_grade})
        if "professionals" in allowed:
            for column, value in record.attributes.items():
                if record.attribute_categories.get(column) == "professionals" and value:
                    entry["contacts"].setdefault(column, sorted(
                        {*entry["contacts"].get(column, []), str(value)}))
    return list(involved.values())


def involvements_view(request: Request, caller: Caller, ctx: PurposeContext,
                      person_id: str) -> InvolvementsView:
    """Who knows this child: each agency involved and, where permitted, named contacts."""
    access = decide_for_person(request, caller, ctx, person_id,
                               categories=frozenset({"involvements", "professionals"}))
    involved = _involved(access)
    count = sum(len(e["records"]) for e in involved)
    write_audit(request, [_subject_event(request, caller, ctx, access, count, "involvements")])
    return InvolvementsView(access, involved)


def _family_members(request: Request, caller: Caller, ctx: PurposeContext,
                    access: PersonAccess, member_detail: str,
                    categories: frozenset[str] = frozenset({"family"}),
                    ) -> tuple[list[dict[str, Any]], int, list[AuditEvent]]:
    """The subject's family members this caller may see, each by a decision of their own.

    A member is another person disclosed: their ID, their role, how they were inferred. So each
    is decided on their own records — their markers, their agencies, the caller's relationship
    with them — and audited under that decision. A member refused is left out and only counted:
    naming them, even as "withheld", would say an adopted child has a birth family here.
    Break-glass for the subject does not reach the members."""
    rows = request.app.state.index.family_of(access.person_id)
    index = request.app.state.index
    verdict: dict[str, Decision] = {}
    held: dict[str, list[PersonRecord]] = {}
    for person in dict.fromkeys(m["person_id"] for m in rows):
        if person != access.person_id:
            held[person] = index.records(person)
            verdict[person] = decide_records(request, caller, ctx, held[person],
                                             categories | {"family"}, break_glass=False)
    shown = {p for p, d in verdict.items() if _permits(d, "family")}
    events = [audit_event(request, caller, ctx, "PatientRead", status=200, subject=person,
                          decision=decision, detail=member_detail,
                          outcome="permit" if person in shown else "deny")
              for person, decision in verdict.items()]
    # A member's own identity, when their own decision releases it (the household picture names
    # the people in it); the subject's comes from the subject's records.
    members = [{**m, "identity": _identities(held[m["person_id"]], verdict[m["person_id"]])}
               if m["person_id"] in shown and "identity" in categories else m
               for m in rows if m["person_id"] == access.person_id or m["person_id"] in shown]
    return members, len(verdict) - len(shown), events


def _identities(records: list[PersonRecord], decision: Decision) -> list[dict[str, Any]]:
    return [r["identity"] for r in disclose(records, decision) if r.get("identity")]


def _permits(decision: Decision, category: str) -> bool:
    return decision.effect == "permit" and any(category in c for c in decision.permitted.values())


def family_view(request: Request, caller: Caller, ctx: PurposeContext,
                person_id: str) -> FamilyView:
    """The person's family and household, one audit event per person disclosed or refused."""
    access = decide_for_person(request, caller, ctx, person_id, categories=frozenset({"family"}))
    allowed = _permits(access.decision, "family")
    members: list[dict[str, Any]] = []
    withheld = 0
    events: list[AuditEvent] = []
    if allowed:
        members, withheld, events = _family_members(request, caller, ctx, access,
                                                    "member in family view")
    head = audit_event(request, caller, ctx, "PatientRead", status=200 if allowed else 403,
                       subject=access.person_id, decision=access.decision,
                       record_count=len(members), detail="family view")
    write_audit(request, [head, *events])
    return FamilyView(access, allowed, members, withheld)


@dataclass(frozen=True)
class ChildView:
    """Everything the child page shows, decided once and audited in one batch."""

    person: PersonView
    involved: list[dict[str, Any]]
    family: list[dict[str, Any]]
    members_withheld: int
    #: Break-glass the agreement would allow here, when the user has not invoked it.
    break_glass: BreakGlassPolicy | None = field(default=None)


def child_view(request: Request, caller: Caller, ctx: PurposeContext, person_id: str,
               detail: str = "child page") -> ChildView:
    """The child page's data: records, who is involved, family — one decision for the child,
    one for each family member, and one batch of audit events written before any of it is sent.
    ``detail`` tells the screen from its print view in the trail."""
    access = decide_for_person(request, caller, ctx, person_id)
    permitted = access.decision.effect == "permit"
    released = disclose(access.records, access.decision) if permitted else []
    involved = [{"agency": e["agency"], "records": len(e["records"]),
                 "contacts": sorted((c, v) for c, values in e["contacts"].items() for v in values)}
                for e in sorted(_involved(access), key=lambda e: e["agency"])]
    members: list[dict[str, Any]] = []
    withheld = 0
    events: list[AuditEvent] = []
    if _permits(access.decision, "family"):
        members, withheld, events = _family_members(request, caller, ctx, access,
                                                    f"member on a {detail}",
                                                    frozenset({"family", "identity"}))
    write_audit(request, [_subject_event(request, caller, ctx, access, len(released),
                                         detail), *events])
    return ChildView(PersonView(person_id, access, released), involved, members, withheld,
                     break_glass_offer(request, caller, ctx, access.decision))


def break_glass_offer(request: Request, caller: Caller, ctx: PurposeContext,
                      decision: Decision | None = None) -> BreakGlassPolicy | None:
    """The break-glass provision this user could invoke here, or None: the one statement of who
    may break the glass (the agreement defining this purpose allows it, for this role), used by
    the offer on the child page and by the form that switches it on."""
    glass = request.app.state.policies.break_glass_for(ctx.purpose)
    if glass is None or caller.role not in glass.roles or ctx.break_glass:
        return None
    if decision is not None and decision.effect == "permit" and not decision.withheld:
        return None
    return glass


@dataclass(frozen=True)
class CandidateView:
    resolution: Resolution
    #: The candidate's records as the decision releases them (identity, address, agencies).
    records: list[dict[str, Any]]


#: What a candidate card may show, so that two children with similar names can be told apart.
CANDIDATE_CATEGORIES = frozenset({"identity", "address", "involvements"})


def candidates_view(request: Request, caller: Caller, ctx: PurposeContext,
                    query: dict[str, Any], top: int) -> list[CandidateView]:
    """Find-a-child candidates with what their cards may show: decided, disclosed and audited
    once per candidate by ``resolve`` (for these categories)."""
    found = resolve(request, caller, ctx, query, top=top, categories=CANDIDATE_CATEGORIES)
    return [CandidateView(r, r.released) for r in found]


# --- clerical review ----------------------------------------------------------------------------


@dataclass(frozen=True)
class QueueView:
    items: list[dict[str, Any]]
    decision: Decision
    #: Queued pairs left out because the policy refused one of their persons.
    items_withheld: int = 0


@dataclass(frozen=True)
class PairView:
    left: str
    right: str
    person_left: str
    person_right: str
    fields: list[dict[str, Any]]
    decision: Decision


def _review_gate(request: Request, caller: Caller, ctx: PurposeContext, event_type: str) -> None:
    """Reviewing reads two children's records side by side and binds the next link run: only
    under the agreement's review purpose, whatever other purposes the caller holds."""
    check_purpose(request, caller, ctx, event_type, None)
    if ctx.purpose != REVIEW_PURPOSE:
        write_audit(request, [audit_event(request, caller, ctx, event_type, status=403,
                                          detail=f"review outside {REVIEW_PURPOSE}")])
        raise Refused(403)


def _may_review(request: Request, caller: Caller, ctx: PurposeContext,
                event_type: str) -> Decision:
    """Whether this role may review at all (the clauses for identity and address, no subject)."""
    agencies = frozenset(request.app.state.policies.parties_for(ctx.purpose)) \
        or frozenset({caller.agency})
    decision = request.app.state.policies.decide(_bare_request(caller, ctx, agencies))
    if decision.effect != "permit":
        write_audit(request, [audit_event(request, caller, ctx, event_type, status=403,
                                          decision=decision, detail="review not permitted")])
        raise Refused(403)
    return decision


def _bare_request(caller: Caller, ctx: PurposeContext,
                  agencies: frozenset[str]) -> AccessRequest:
    return AccessRequest(purpose=ctx.purpose, role=caller.role, party=caller.agency,
                         client_id=caller.client_id, user_id=caller.user_id,
                         source_parties=agencies,
                         requested_categories=frozenset({"identity", "address"}),
                         justification=ctx.justification, reference=ctx.reference)


def _pair_records(request: Request, persons: list[str]) -> list[PersonRecord]:
    index = request.app.state.index
    return [r for p in dict.fromkeys(persons) for r in index.records(p)]


def _pair_decision(request: Request, caller: Caller, ctx: PurposeContext,
                   persons: list[str]) -> Decision:
    """Decided on every record of both persons: a marker on either person's records (adoption,
    gender recognition) keeps the pair from a reviewer as it would from any other caller."""
    return decide_records(request, caller, ctx, _pair_records(request, persons),
                          frozenset({"identity", "address"}), break_glass=False)


def _both_identified(decision: Decision, agencies: tuple[str, str]) -> bool:
    return decision.effect == "permit" and all(
        "identity" in decision.permitted.get(a, frozenset()) for a in agencies)


def review_queue_view(request: Request, caller: Caller, ctx: PurposeContext,
                      limit: int) -> QueueView:
    """Uncertain pairs, children first, then by impact; a pair whose persons the policy refuses
    is left out and counted. One audit event per person listed (and per person left out)."""
    _review_gate(request, caller, ctx, "PatientQuery")
    overall = _may_review(request, caller, ctx, "PatientQuery")
    index = request.app.state.index
    decided = DecisionStore(decisions_path_for(request.app.state.settings.db_path)).active()
    queued = review_queue(index.cursor(), limit=limit, decided=decided,
                          today=request.app.state.policies.today())
    owners = index.agencies_of([*queued["unique_id_l"].tolist(),
                                *queued["unique_id_r"].tolist()]) if len(queued) else {}
    items: list[dict[str, Any]] = []
    shown: dict[str, Decision] = {}
    refused: dict[str, Decision] = {}
    for r in queued.itertuples():
        decision = _pair_decision(request, caller, ctx, [r.person_l, r.person_r])
        agencies = (owners[r.unique_id_l][0], owners[r.unique_id_r][0])
        if not _both_identified(decision, agencies):
            for person in (r.person_l, r.person_r):
                refused.setdefault(person, decision)
            continue
        for person in (r.person_l, r.person_r):
            shown.setdefault(person, decision)
        items.append({
            "item": len(items) + 1, "left": r.unique_id_l, "right": r.unique_id_r,
            "person_left": r.person_l, "person_right": r.person_r,
            "match_probability": round(float(r.match_probability), 6), "reason": r.reason,
            "records_affected": int(r.records_affected), "involves_child": bool(r.involves_child),
        })
    events = [audit_event(request, caller, ctx, "PatientQuery", status=200, subject=p,
                          decision=d, detail="review queue") for p, d in shown.items()]
    events += [audit_event(request, caller, ctx, "PatientQuery", status=200, subject=p,
                           decision=d, outcome="deny", detail="review queue: pair withheld")
               for p, d in refused.items() if p not in shown]
    write_audit(request, events or [audit_event(request, caller, ctx, "PatientQuery",
                                                status=200, decision=overall,
                                                detail="review queue")])
    return QueueView(items, overall, len(queued) - len(items))


def _queued_pair(request: Request, caller: Caller, ctx: PurposeContext, left: str, right: str,
                 event_type: str) -> tuple[dict[str, tuple[str, str]], list[str], Decision]:
    """The pair's owners, persons and decision, refused (audited) unless it is a pair the review
    queue holds and the policy lets this reviewer see both. An unknown key and a pair that is not
    queued get the same answer, so record keys cannot be probed, and both are in the trail."""
    index = request.app.state.index
    owners = index.agencies_of([left, right])
    if left == right or left not in owners or right not in owners \
            or not _is_queued(request, left, right):
        write_audit(request, [audit_event(request, caller, ctx, event_type, status=404,
                                          detail="review: not a queued pair")])
        raise Refused(404, "no such pair in the review queue")
    persons = [owners[left][1], owners[right][1]]
    decision = _pair_decision(request, caller, ctx, persons)
    if not _both_identified(decision, (owners[left][0], owners[right][0])):
        write_audit(request, [audit_event(request, caller, ctx, event_type, status=403,
                                          subject=p, decision=decision, detail="review pair")
                              for p in dict.fromkeys(persons)])
        raise Refused(403)
    return owners, persons, decision


def _is_queued(request: Request, left: str, right: str) -> bool:
    """Whether the link run put this pair in the review queue (decided pairs included, so a
    reviewer can change their mind)."""
    queued = review_queue(request.app.state.index.cursor(), limit=1_000_000,
                          today=request.app.state.policies.today())
    pairs = set(zip(queued["unique_id_l"], queued["unique_id_r"], strict=True))
    return (left, right) in pairs or (right, left) in pairs


def review_pair(request: Request, caller: Caller, ctx: PurposeContext, left: str,
                right: str, event_type: str = "PatientRead",
                detail: str = "review pair") -> PairView:
    """Two queued records side by side, only the fields the decision releases for both."""
    _review_gate(request, caller, ctx, event_type)
    owners, persons, decision = _queued_pair(request, caller, ctx, left, right, event_type)
    both = [decision.permitted.get(owners[k][0], frozenset()) for k in (left, right)]
    shown = {"agency"}
    if all("identity" in p for p in both):
        shown |= set(IDENTITY_FIELDS)
    if all("address" in p for p in both):
        shown |= set(ADDRESS_FIELDS)
    table = pair_side_by_side(request.app.state.index.cursor(), left, right)
    fields = [{"field": r.field, "left": None if r.left != r.left else r.left,
               "right": None if r.right != r.right else r.right, "comparison": r.comparison}
              for r in table.itertuples() if r.field in shown]
    write_audit(request, [audit_event(request, caller, ctx, event_type, status=200, subject=p,
                                      decision=decision, detail=detail)
                          for p in dict.fromkeys(persons)])
    return PairView(left, right, persons[0], persons[1], fields, decision)


def review_decide(request: Request, caller: Caller, ctx: PurposeContext, left: str, right: str,
                  verdict: str, reason: str) -> Any:
    """Record same / different / unsure for a queued pair; it binds every later link run, so
    its audit event is written first: a decision nobody can account for must not bind a run."""
    _review_gate(request, caller, ctx, "ReviewDecision")
    _, persons, decision = _queued_pair(request, caller, ctx, left, right, "ReviewDecision")
    write_audit(request, [audit_event(request, caller, ctx, "ReviewDecision", status=201,
                                      action="C", subject=p, decision=decision,
                                      detail=f"review decision: {verdict}")
                          for p in dict.fromkeys(persons)])
    return DecisionStore(decisions_path_for(request.app.state.settings.db_path)).record(
        left, right, verdict, caller.user_id or caller.client_id, caller.agency, reason)


# --- information governance ---------------------------------------------------------------------


def ig_gate(request: Request, caller: Caller, ctx: PurposeContext, subject: str | None,
            detail: str) -> None:
    """Reading the audit trail: only IG roles, only under the IG oversight purpose, and the read
    (or the refusal) itself recorded, exactly once."""
    check_purpose(request, caller, ctx, "AuthorizationDecision", subject)
    allowed = caller.role in IG_ROLES and ctx.purpose == IG_PURPOSE
    write_audit(request, [audit_event(request, caller, ctx, "AuthorizationDecision",
                                      status=200 if allowed else 403, subject=subject,
                                      detail=detail if allowed else f"{detail} (refused)")])
    if not allowed:
        raise Refused(403, "the audit trail is for information governance roles under the "
                           f"{IG_PURPOSE} purpose")


def subject_access_for(request: Request, person_id: str) -> SubjectAccessReport:
    """The child's report from the gateway's trail, deferrals decided by whether the index
    shows their case open (the API and the IG pages answer with the same report)."""
    # Deferrals were set from the decision's date; they lapse against the same clock.
    index = request.app.state.index
    return subject_access_report(request.app.state.audit.cursor(), person_id,
                                 case_open=index.case_open(person_id),
                                 former_ids=index.former_ids(person_id),
                                 today=request.app.state.policies.today())


def anomaly_context(request: Request, cursor: Any) -> AnomalyContext:
    """What the anomaly rules know beyond the trail: open cases, the staff register, families."""
    index = request.app.state.index
    return AnomalyContext(open_cases=index.open_case_persons(),
                          staff=read_staff_register(cursor) or None, families=index.families())


def group_by_agency(records: list[dict[str, Any]]) -> list[tuple[str, list[dict[str, Any]]]]:
    """Released records grouped by the agency that holds them, in agency order (the child page)."""
    grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for record in records:
        grouped[record["agency"]].append(record)
    return sorted(grouped.items())
