"""One access decision, in the order ``shared/domain/information-governance.md`` sets out.

1. the purpose must exist and the agreement be in force; 2. some clause must allow this purpose for
this role; 3. restricted markers first (deny-always wins; an unknown marker denies; break-glass
unlocks a marker only where the agreement says it may); 4. permit clauses, deny overriding permit;
5. consent; 6. legitimate relationship (a self-claimed one raises an IG alert); 7. break-glass only
if 4–6 denied and the agreement allows it, and only for what some clause grants for the purpose;
8. minimise to requested ∩ permitted. Every category not released is listed as withheld with the
clause that withheld it — nothing goes silently missing.

:func:`decide` reads as that list: each step is a function that looks at the request and returns
what it found; only :func:`decide` puts the findings together into the :class:`Decision`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from policies.model import (
    AccessRequest,
    Agreement,
    Decision,
    PolicyBundle,
    Rule,
    Withheld,
)

__all__ = ["PARA_18_REASONS", "decide"]

#: DPA 2018 Sch 1 para 18(2): the only reasons to process without consent for safeguarding.
PARA_18_REASONS = ("cannot-be-given", "cannot-reasonably-be-obtained", "would-prejudice-protection")

Cell = tuple[str, str]  # (source party, category)


@dataclass
class _Cell:
    permitted_by: list[str]
    denied_by: str | None = None
    refused: str | None = None  # why a permitting clause's condition failed


@dataclass(frozen=True)
class _Markers:
    """What step 3 found: a marker that denies outright, or the redactions and obligations."""

    denial: str | None = None
    denied_by: str | None = None
    redacted: frozenset[str] = frozenset()
    redactions: tuple[str, ...] = ()
    obligations: tuple[str, ...] = ()
    #: Markers break-glass set aside (the agreement lets it, for this marker).
    overridden: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Condition:
    """One clause's conditions checked against the request: why they fail, or what passing
    them brings (a consent override used, an IG alert)."""

    failure: str | None = None
    consent_override: str | None = None
    alerts: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Clauses:
    cells: dict[Cell, _Cell]
    consent_override: str | None
    alerts: tuple[str, ...]

    @property
    def granted(self) -> set[Cell]:
        return {key for key, cell in self.cells.items() if cell.permitted_by and not cell.denied_by}


@dataclass(frozen=True)
class _Glass:
    """What step 7 found: the cells break-glass adds, or why it was refused (or not asked)."""

    granted: frozenset[Cell] = frozenset()
    used: bool = False
    obligations: tuple[str, ...] = ()
    reason: str | None = None


@dataclass
class _Minimised:
    permitted: dict[str, frozenset[str]]
    withheld: list[Withheld] = field(default_factory=list)
    matched_rules: list[str] = field(default_factory=list)


def decide(bundle: PolicyBundle, request: AccessRequest) -> Decision:
    agreement = bundle.agreement_for(request.purpose)
    if agreement is None:
        return _refused(Decision("deny", {}, [], [], []),
                        f"unknown-purpose: {request.purpose!r} is in no sharing agreement")
    decision = _frame(agreement, request)
    today = request.at or bundle.today()

    # 1. The agreement must be in force.
    if (why := _not_in_force(agreement, today)) is not None:
        return _refused(decision, why)

    # 2. Is this purpose open to this requester at all?
    applicable = [r for r in agreement.rules
                  if r.applies_to(request.purpose, request.role, request.party)]
    if (why := _purpose_closed(applicable, request)) is not None:
        return _refused(decision, why)

    # 3. Restricted markers first.
    glass_refusal = _break_glass_refusal(agreement, request)
    markers = _markers(agreement, request, glass_refusal is None)
    if markers.denial is not None:
        decision.withheld = [Withheld(p, c, f"marker:{markers.denied_by}",
                                      f"restricted record ({markers.denied_by})")
                             for p in sorted(request.source_parties)
                             for c in _supplies(agreement, p)]
        return _refused(decision, markers.denial)

    # 4–6. Clauses, category by category, deny overriding permit; consent; relationship.
    clauses = _clauses(agreement, applicable, request)

    # 7. Break-glass, only when the clauses gave nothing asked for and the agreement allows it.
    glass = _break_glass(agreement, request, clauses, glass_refusal)
    if markers.overridden and not glass.used:
        glass = _Glass(used=True, obligations=_glass_obligations(agreement, request))
    granted = clauses.granted | glass.granted

    # 8. Minimise: requested ∩ permitted, redactions applied.
    minimised = _minimise(clauses.cells, granted, markers.redacted, request.requested_categories)
    lawful_basis, obligations, subject_access = _clause_consequences(
        applicable, minimised, today)

    decision.permitted = minimised.permitted
    decision.withheld = minimised.withheld
    decision.matched_rules = (["break-glass"] if glass.used else []) + minimised.matched_rules
    decision.redactions = list(markers.redactions)
    decision.consent_override_reason = clauses.consent_override
    decision.lawful_basis = lawful_basis
    decision.subject_access = subject_access
    decision.break_glass = glass.used
    decision.obligations = _unique([*markers.obligations, *clauses.alerts, *glass.obligations,
                                    *obligations])
    decision.reasons = _reasons(markers, glass)
    decision.effect = "permit" if decision.permitted else "deny"
    if decision.effect == "permit":
        decision.reasons.append("permitted by " + ", ".join(decision.matched_rules))
    elif not decision.reasons:
        decision.reasons.append("default-deny: no clause permits any requested category")
    return decision


# --- the steps ----------------------------------------------------------------------------------


def _frame(agreement: Agreement, request: AccessRequest) -> Decision:
    """A denial stamped with the agreement it was made under, before any step has run."""
    return Decision(
        effect="deny", permitted={}, withheld=[], matched_rules=[], reasons=[],
        policy_bundle_id=agreement.id, policy_version=agreement.version,
        policy_hash=agreement.content_hash,
        purpose_of_use=agreement.purposes[request.purpose].purpose_of_use,
        consent_status=request.subject.consent,
    )


def _refused(decision: Decision, reason: str) -> Decision:
    decision.effect = "deny"
    decision.permitted = {}
    decision.reasons.append(reason)
    return decision


def _not_in_force(agreement: Agreement, today: dt.date) -> str | None:
    if today > agreement.review_by:
        return (f"agreement-expired: {agreement.id} was due for review by "
                f"{agreement.review_by.isoformat()}")
    if today < agreement.effective_from:
        return f"agreement-not-in-force until {agreement.effective_from.isoformat()}"
    return None


def _purpose_closed(applicable: list[Rule], request: AccessRequest) -> str | None:
    if any(r.effect == "permit" for r in applicable) or request.break_glass is not None:
        return None
    return (f"purpose-not-allowed: no clause lets role {request.role!r} "
            f"use purpose {request.purpose!r}")


def _markers(agreement: Agreement, request: AccessRequest, glass_valid: bool) -> _Markers:
    """Every marker on the subject's records, deny markers first. A code the agreement does not
    define denies: a marker spelt another way must not fail open. Break-glass sets a marker
    aside only if the marker allows it and the break-glass provision does not forbid it."""
    glass = agreement.break_glass
    redacted: set[str] = set()
    redactions: list[str] = []
    obligations: list[str] = []
    overridden: list[str] = []
    for code in sorted(request.subject.restricted_markers):
        marker = agreement.markers.get(code)
        if marker is None:
            return _Markers(denial=f"restricted-marker:{code}: not defined in {agreement.id}; "
                                   "an unknown marker is never disclosed", denied_by=code)
        if (glass_valid and glass is not None and marker.break_glass_overrides
                and code not in glass.never_overrides):
            overridden.append(code)
            continue
        if marker.effect == "deny":
            return _Markers(denial=f"restricted-marker:{code}: never disclosed, "
                                   "break-glass cannot override", denied_by=code)
        redacted.update(marker.redact)
        redactions.extend(f"{code}:{c}" for c in marker.redact)
        if marker.second_approver:
            obligations.append(f"second-approver:{code}")
    return _Markers(None, None, frozenset(redacted), tuple(redactions), tuple(obligations),
                    tuple(overridden))


def _clauses(agreement: Agreement, applicable: list[Rule], request: AccessRequest) -> _Clauses:
    cells: dict[Cell, _Cell] = {
        (party, category): _Cell(permitted_by=[])
        for party in sorted(request.source_parties) for category in _supplies(agreement, party)
    }
    consent = agreement.purposes[request.purpose].consent
    override: str | None = None
    alerts: list[str] = []
    for rule in applicable:
        condition = _condition(rule, request, consent)
        override = override or condition.consent_override
        alerts.extend(a for a in condition.alerts if a not in alerts)
        for party in rule.source_parties:
            for category in rule.categories:
                cell = cells.get((party, category))
                if cell is None:
                    continue
                if rule.effect == "deny":
                    cell.denied_by = cell.denied_by or rule.id
                elif condition.failure is None:
                    cell.permitted_by.append(rule.id)
                else:
                    cell.refused = cell.refused or f"{rule.id}:{condition.failure}"
    return _Clauses(cells, override, tuple(alerts))


def _condition(rule: Rule, request: AccessRequest, purpose_consent: str) -> _Condition:
    subject = request.subject
    if (rule.subject_age_max is not None and subject.age is not None
            and subject.age >= rule.subject_age_max):
        return _Condition(f"subject is {subject.age}, clause covers under {rule.subject_age_max}")
    if rule.case_status is not None and subject.case_status not in rule.case_status:
        return _Condition("case status not covered")
    handling = rule.consent_handling or purpose_consent
    override = request.consent_override_reason
    # A clause that says nothing about consent inherits its purpose's model; where consent is
    # only "expected", DPA 2018 Sch 1 para 18's three reasons are the lawful overrides.
    allowed = (rule.override_reasons if rule.consent_handling
               else (PARA_18_REASONS if handling == "expected" else ()))
    overridden = bool(override and override in allowed)
    if handling == "required" and subject.consent != "given" and not overridden:
        return _Condition("consent required and not given")
    if handling == "expected" and subject.consent == "refused" and not overridden:
        return _Condition("consent refused and no allowed override reason")
    used = override if overridden and subject.consent != "given" else None
    minimum = rule.obligations.get("justification_min_length")
    if minimum and len((request.justification or "").strip()) < minimum:
        return _Condition(f"justification of at least {minimum} characters required", used)
    alerts: tuple[str, ...] = ()
    if rule.legitimate_relationship:
        if subject.legitimate_relationship is False:
            return _Condition("no legitimate relationship with the subject", used)
        if subject.legitimate_relationship is None:
            alerts = ("ig-alert:self-claimed-relationship",)
    return _Condition(None, used, alerts)


def _break_glass(agreement: Agreement, request: AccessRequest, clauses: _Clauses,
                 refusal: str | None) -> _Glass:
    """Emergency access when the clauses gave nothing asked for. It opens only cells some permit
    clause grants for this purpose (to any role, on any condition) and no clause denies: never a
    category the agreement does not share for this purpose at all."""
    wanted = request.requested_categories
    if request.break_glass is None or any(wanted is None or c in wanted
                                          for _, c in clauses.granted):
        return _Glass()
    if refusal is not None:
        return _Glass(reason=f"break-glass refused: {refusal}")
    shared = {(p, c) for r in agreement.rules
              if r.effect == "permit" and request.purpose in r.purposes
              for p in r.source_parties for c in r.categories}
    opened = frozenset(key for key, cell in clauses.cells.items()
                       if key in shared and not cell.denied_by
                       and (wanted is None or key[1] in wanted))
    if not opened:
        return _Glass(reason="break-glass refused: no clause shares any of it for this purpose")
    return _Glass(opened, True, _glass_obligations(agreement, request))


def _glass_obligations(agreement: Agreement, request: AccessRequest) -> tuple[str, ...]:
    """What every use of break-glass owes: notice, a retrospective review, a time limit."""
    glass, asked = agreement.break_glass, request.break_glass
    assert glass is not None and asked is not None
    return (
        *(f"notify:{n}" for n in glass.notify),
        f"retrospective-review:{glass.reviewer_role}:within-{glass.review_within_days}-days",
        f"expires-after-minutes:{min(asked.minutes, glass.max_minutes)}",
    )


def _break_glass_refusal(agreement: Agreement, request: AccessRequest) -> str | None:
    """Why break-glass is not available for this request (None: it is, if asked for)."""
    bg = agreement.break_glass
    if request.break_glass is None:
        return "not requested"
    if bg is None:
        return "this agreement has no break-glass provision"
    if request.purpose not in bg.purposes:
        return f"not available for purpose {request.purpose!r}"
    if request.role not in bg.roles:
        return f"not available to role {request.role!r}"
    if len(request.break_glass.justification.strip()) < bg.justification_min_length:
        return f"justification of at least {bg.justification_min_length} characters required"
    return None


def _minimise(cells: dict[Cell, _Cell], granted: set[Cell], redacted: frozenset[str],
              wanted: frozenset[str] | None) -> _Minimised:
    permitted: dict[str, set[str]] = {}
    out = _Minimised({})
    for (party, category), cell in sorted(cells.items()):
        if (party, category) in granted and category not in redacted \
                and (wanted is None or category in wanted):
            permitted.setdefault(party, set()).add(category)
            out.matched_rules.extend(r for r in cell.permitted_by if r not in out.matched_rules)
            continue
        clause, reason = _why_withheld(party, category, cell, granted, redacted)
        out.withheld.append(Withheld(party, category, clause, reason))
    out.permitted = {p: frozenset(c) for p, c in permitted.items()}
    return out


def _why_withheld(party: str, category: str, cell: _Cell, granted: set[Cell],
                  redacted: frozenset[str]) -> tuple[str, str]:
    if cell.denied_by:
        return cell.denied_by, "a clause denies this category for this purpose"
    if category in redacted:
        return "marker", "redacted for a restricted record"
    if (party, category) in granted:
        return "minimised", "not requested"
    if cell.refused:
        clause, _, failure = cell.refused.partition(":")
        return clause, failure
    return "default-deny", "no clause permits this category for this purpose and role"


def _clause_consequences(applicable: list[Rule], minimised: _Minimised,
                         today: dt.date) -> tuple[list[str], list[str], str]:
    """The lawful bases and obligations of the clauses that released something, and the deny
    clauses that withheld something (named among the matched rules)."""
    lawful: list[str] = []
    obligations: list[str] = []
    subject_access = "standard"
    for rule in applicable:
        if rule.id in minimised.matched_rules:
            lawful.extend(b for b in rule.lawful_basis if b not in lawful)
            for name, value in rule.obligations.items():
                if name == "subject_access" and value == "defer_while_open":
                    subject_access = f"defer_until:{(today + dt.timedelta(days=90)).isoformat()}"
                elif value not in (False, None):
                    obligations.append(f"{name}:{value}")
        elif rule.effect == "deny" and any(w.clause == rule.id for w in minimised.withheld):
            minimised.matched_rules.append(rule.id)
    return lawful, obligations, subject_access


def _reasons(markers: _Markers, glass: _Glass) -> list[str]:
    reasons = [f"break-glass over marker {code}" for code in markers.overridden]
    if glass.granted:
        reasons.append("break-glass: clauses denied; emergency access granted and reported")
    elif glass.reason:
        reasons.append(glass.reason)
    return reasons


def _supplies(agreement: Agreement, party: str) -> list[str]:
    return [c.code for c in agreement.categories.values() if party in c.parties]


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))
