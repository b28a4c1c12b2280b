"""One access decision, in the order ``shared/domain/information-governance.md`` sets out.

1. the purpose must exist and the agreement be in force; 2. some clause must allow this purpose for
this role; 3. restricted markers first (deny-always wins; break-glass never unlocks adoption or
gender recognition); 4. permit clauses, deny overriding permit; 5. consent; 6. legitimate
relationship (a self-claimed one raises an IG alert); 7. break-glass only if 4–6 denied and the
agreement allows it; 8. minimise to requested ∩ permitted. Every category not released is listed as
withheld with the clause that withheld it — nothing goes silently missing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

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


@dataclass
class _Cell:
    permitted_by: list[str]
    denied_by: str | None = None
    refused: str | None = None  # why a permitting clause's condition failed


def _deny(decision: Decision, reason: str) -> Decision:
    decision.effect = "deny"
    decision.permitted = {}
    decision.reasons.append(reason)
    return decision


def _supplies(agreement: Agreement, party: str) -> list[str]:
    return [c.code for c in agreement.categories.values() if party in c.parties]


def decide(bundle: PolicyBundle, request: AccessRequest) -> Decision:
    agreement = next((a for a in bundle.agreements if request.purpose in a.purposes), None)
    decision = Decision(effect="deny", permitted={}, withheld=[], matched_rules=[], reasons=[])
    if agreement is None:
        return _deny(decision, f"unknown-purpose: {request.purpose!r} is in no sharing agreement")
    purpose = agreement.purposes[request.purpose]
    decision.policy_bundle_id = agreement.id
    decision.policy_version = agreement.version
    decision.policy_hash = agreement.content_hash
    decision.purpose_of_use = purpose.purpose_of_use
    decision.consent_status = request.subject.consent

    today = request.at or bundle.today()
    if today > agreement.review_by:
        return _deny(
            decision,
            f"agreement-expired: {agreement.id} was due for review by "
            f"{agreement.review_by.isoformat()}",
        )
    if today < agreement.effective_from:
        return _deny(
            decision, f"agreement-not-in-force until {agreement.effective_from.isoformat()}"
        )

    # 2. Is this purpose open to this requester at all?
    applicable = [
        r for r in agreement.rules if r.applies_to(request.purpose, request.role, request.party)
    ]
    if not any(r.effect == "permit" for r in applicable) and request.break_glass is None:
        return _deny(
            decision,
            f"purpose-not-allowed: no clause lets role {request.role!r} "
            f"use purpose {request.purpose!r}",
        )

    # 3. Restricted markers first.
    redacted: set[str] = set()
    for code in sorted(request.subject.restricted_markers):
        marker = agreement.markers.get(code)
        if marker is None:
            continue
        if marker.effect == "deny":
            decision.withheld = [
                Withheld(p, c, f"marker:{code}", f"restricted record ({code})")
                for p in sorted(request.source_parties)
                for c in _supplies(agreement, p)
            ]
            return _deny(
                decision, f"restricted-marker:{code}: never disclosed, break-glass cannot override"
            )
        redacted.update(marker.redact)
        decision.redactions.extend(f"{code}:{c}" for c in marker.redact)
        if marker.second_approver:
            decision.obligations.append(f"second-approver:{code}")

    # 4–6. Clauses, category by category, deny overriding permit.
    cells: dict[tuple[str, str], _Cell] = {}
    for party in sorted(request.source_parties):
        for category in _supplies(agreement, party):
            cells[(party, category)] = _Cell(permitted_by=[])
    for rule in applicable:
        failure = _condition_failure(rule, request, purpose.consent, decision)
        for party in rule.source_parties:
            for category in rule.categories:
                cell = cells.get((party, category))
                if cell is None:
                    continue
                if rule.effect == "deny":
                    cell.denied_by = cell.denied_by or rule.id
                elif failure is None:
                    cell.permitted_by.append(rule.id)
                else:
                    cell.refused = cell.refused or f"{rule.id}:{failure}"

    granted = {key for key, cell in cells.items() if cell.permitted_by and not cell.denied_by}

    # 7. Break-glass, only when the clauses gave nothing asked for and the agreement allows it.
    wanted = request.requested_categories
    if (
        not any(wanted is None or c in wanted for _, c in granted)
        and request.break_glass is not None
    ):
        reason = _break_glass_refusal(agreement, request)
        if reason is None:
            granted = {key for key, cell in cells.items() if not cell.denied_by}
            decision.break_glass = True
            decision.matched_rules.append("break-glass")
            bg = agreement.break_glass
            assert bg is not None
            decision.obligations.extend(
                [
                    *(f"notify:{n}" for n in bg.notify),
                    f"retrospective-review:{bg.reviewer_role}:within-{bg.review_within_days}-days",
                    f"expires-after-minutes:{min(request.break_glass.minutes, bg.max_minutes)}",
                ]
            )
            decision.reasons.append(
                "break-glass: clauses denied; emergency access granted and reported"
            )
        else:
            decision.reasons.append(f"break-glass refused: {reason}")

    # 8. Minimise: requested ∩ permitted, redactions applied.
    permitted: dict[str, set[str]] = {}
    for (party, category), cell in sorted(cells.items()):
        if (
            (party, category) in granted
            and category not in redacted
            and (request.requested_categories is None or category in request.requested_categories)
        ):
            permitted.setdefault(party, set()).add(category)
            for rule_id in cell.permitted_by:
                if rule_id not in decision.matched_rules:
                    decision.matched_rules.append(rule_id)
            continue
        if cell.denied_by:
            why = (cell.denied_by, "a clause denies this category for this purpose")
        elif category in redacted:
            why = ("marker", "redacted for a restricted record")
        elif (party, category) in granted:
            why = ("minimised", "not requested")
        elif cell.refused:
            clause, _, failure = cell.refused.partition(":")
            why = (clause, failure)
        else:
            why = ("default-deny", "no clause permits this category for this purpose and role")
        decision.withheld.append(Withheld(party, category, why[0], why[1]))

    decision.permitted = {p: frozenset(c) for p, c in permitted.items()}
    for rule in applicable:
        if rule.id in decision.matched_rules:
            decision.lawful_basis.extend(
                b for b in rule.lawful_basis if b not in decision.lawful_basis
            )
            for name, value in rule.obligations.items():
                if name == "subject_access" and value == "defer_while_open":
                    decision.subject_access = (
                        f"defer_until:{(today + dt.timedelta(days=90)).isoformat()}"
                    )
                elif value not in (False, None) and f"{name}:{value}" not in decision.obligations:
                    decision.obligations.append(f"{name}:{value}")
        elif rule.effect == "deny" and any(w.clause == rule.id for w in decision.withheld):
            decision.matched_rules.append(rule.id)
    decision.effect = "permit" if decision.permitted else "deny"
    if decision.effect == "permit":
        decision.reasons.append("permitted by " + ", ".join(r for r in decision.matched_rules))
    elif not decision.reasons:
        decision.reasons.append("default-deny: no clause permits any requested category")
    return decision


def _condition_failure(
    rule: Rule, request: AccessRequest, purpose_consent: str, decision: Decision
) -> str | None:
    subject = request.subject
    if (
        rule.subject_age_max is not None
        and subject.age is not None
        and subject.age >= rule.subject_age_max
    ):
        return f"subject is {subject.age}, clause covers under {rule.subject_age_max}"
    if rule.case_status is not None and subject.case_status not in rule.case_status:
        return "case status not covered"
    handling = rule.consent_handling or purpose_consent
    override = request.consent_override_reason
    # A clause that says nothing about consent inherits its purpose's model; where consent is
    # only "expected", DPA 2018 Sch 1 para 18's three reasons are the lawful overrides.
    allowed = (
        rule.override_reasons
        if rule.consent_handling
        else (PARA_18_REASONS if handling == "expected" else ())
    )
    overridden = bool(override and override in allowed)
    if handling == "required" and subject.consent != "given" and not overridden:
        return "consent required and not given"
    if handling == "expected" and subject.consent == "refused" and not overridden:
        return "consent refused and no allowed override reason"
    if override and override in allowed and subject.consent != "given":
        decision.consent_override_reason = override
    minimum = rule.obligations.get("justification_min_length")
    if minimum and len((request.justification or "").strip()) < minimum:
        return f"justification of at least {minimum} characters required"
    if rule.legitimate_relationship:
        if subject.legitimate_relationship is False:
            return "no legitimate relationship with the subject"
        if (
            subject.legitimate_relationship is None
            and "ig-alert:self-claimed-relationship" not in decision.obligations
        ):
            decision.obligations.append("ig-alert:self-claimed-relationship")
    return None


def _break_glass_refusal(agreement: Agreement, request: AccessRequest) -> str | None:
    bg = agreement.break_glass
    if bg is None:
        return "this agreement has no break-glass provision"
    if request.purpose not in bg.purposes:
        return f"not available for purpose {request.purpose!r}"
    if request.role not in bg.roles:
        return f"not available to role {request.role!r}"
    assert request.break_glass is not None
    if len(request.break_glass.justification.strip()) < bg.justification_min_length:
        return f"justification of at least {bg.justification_min_length} characters required"
    return None
