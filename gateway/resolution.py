"""Identity resolution for the API and FHIR: match, decide per candidate, audit each, answer.

A candidate is itself a disclosure (that a child is known, and which of the query's details agree
with the record), so each one goes through the policy for the ``identity`` category, and each
returned or withheld candidate gets its own audit event, with the query, before the answer leaves.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import HTTPException, Request

from audit import AuditEvent
from gateway.access import PurposeContext, audit_event, check_purpose, decide_records, write_audit
from gateway.disclosure import disclose
from gateway.tokens import Caller
from linkage.index.reader import PersonRecord
from linkage.index.replica import current_number
from linkage.realtime import Candidate, Matcher
from policies import Decision
from stores.database import PostgresLocation, StoreLocation, parse_location

__all__ = ["MatcherHolder", "Resolution", "resolve"]


class MatcherHolder:
    """The matcher for the current index, loaded on first use and again after a link run (a
    new file, or a new PostgreSQL generation)."""

    def __init__(self, location: Path | str | StoreLocation, recheck_seconds: float = 1.0) -> None:
        self.location = parse_location(location)
        self.recheck_seconds = recheck_seconds
        self._lock = threading.Lock()
        self._matcher: Matcher | None = None
        self._stamp: object = None
        self._checked = 0.0

    def _current_stamp(self) -> object:
        if isinstance(self.location, PostgresLocation):
            return current_number(self.location)
        stat = os.stat(self.location.path)
        return (stat.st_ino, stat.st_mtime_ns)

    def get(self) -> Matcher:
        """The matcher, looking for a new index at most every ``recheck_seconds`` (as the
        identity index does): on PostgreSQL each look is a round trip, not to be paid per
        resolution request."""
        matcher = self._matcher
        if matcher is not None and time.monotonic() - self._checked < self.recheck_seconds:
            return matcher
        stamp = self._current_stamp()
        self._checked = time.monotonic()
        with self._lock:
            if self._matcher is None or stamp != self._stamp:
                self._matcher = Matcher.load(self.location)
                self._stamp = stamp
            return self._matcher


@dataclass(frozen=True)
class Resolution:
    candidate: Candidate
    decision: Decision
    #: The person's records as the decision releases them (identity and address at most).
    released: list[dict[str, Any]] = field(default_factory=list)


#: What a candidate carries unless the caller asks for more: who the child is and where they
#: live, each only as permitted.
CANDIDATE_CATEGORIES = frozenset({"identity", "address"})
IDENTITY = frozenset({"identity"})


def _decide(request: Request, caller: Caller, ctx: PurposeContext, person_id: str,
            categories: frozenset[str]) -> tuple[Decision, list[PersonRecord]]:
    """The candidate's decision for ``categories`` (identity at least), on the same facts as a
    person view (markers, relationship), never break-glass: a search is not an emergency read."""
    records = request.app.state.index.records(person_id)
    return decide_records(request, caller, ctx, records, categories | IDENTITY,
                          break_glass=False), records


def resolve(request: Request, caller: Caller, ctx: PurposeContext, query: dict[str, Any],
            top: int, min_probability: float = 0.5,
            categories: frozenset[str] = CANDIDATE_CATEGORIES,
            ihe_transaction: str | None = None) -> list[Resolution]:
    """Candidates the caller may see, best first; every candidate considered is audited (with
    ``ihe_transaction`` naming the IHE transaction, ITI-119 for a FHIR $match).

    ``categories`` beyond identity (the pages ask for involvements too, so candidates can be told
    apart) are decided with it, and the audit event records what the decision released."""
    check_purpose(request, caller, ctx, "PatientQuery", None)
    try:
        matcher = request.app.state.matcher.get()
    except FileNotFoundError as exc:
        raise HTTPException(503, "no identity index to match against") from exc
    candidates = matcher.match(query, top=top, min_probability=min_probability)
    shown: list[Resolution] = []
    events: list[AuditEvent] = []
    recorded_query = {k: v for k, v in query.items() if v not in (None, "")}
    for candidate in candidates:
        decision, records = _decide(request, caller, ctx, candidate.person_id, categories)
        allowed = decision.effect == "permit" and any(
            "identity" in cats for cats in decision.permitted.values())
        events.append(audit_event(
            request, caller, ctx, "PatientQuery", status=200,
            outcome="permit" if allowed else "deny", subject=candidate.person_id,
            decision=decision, query=recorded_query,
            detail=_detail(candidate)))
        if allowed:
            shown.append(Resolution(candidate, decision, disclose(records, decision)))
    if not events:
        events.append(audit_event(request, caller, ctx, "PatientQuery", status=200,
                                  query=recorded_query, detail="resolution: no candidate"))
    if ihe_transaction is not None:
        events = [e.model_copy(update={"transaction": ihe_transaction}) for e in events]
    write_audit(request, events)
    for item in shown:
        request.app.state.metrics.match_grades.labels(item.candidate.grade).inc()
    return shown


def _detail(candidate: Candidate) -> str:
    """What the audit says of a candidate: its grade and, where one applied, the constraint or
    the rival that kept it from being certain."""
    notes: list[str] = [candidate.grade]
    if candidate.constraint:
        notes.append(f"constraint {candidate.constraint}")
    if candidate.ambiguous_with:
        notes.append("ambiguous with " + ", ".join(candidate.ambiguous_with))
    return f"resolution candidate ({'; '.join(notes)})"
