"""The sharing agreement as typed values, and the request and decision that flow through it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "AccessRequest",
    "Agreement",
    "BreakGlassPolicy",
    "BreakGlassRequest",
    "Category",
    "Decision",
    "Marker",
    "PolicyBundle",
    "Purpose",
    "Rule",
    "SubjectFacts",
    "Withheld",
]


@dataclass(frozen=True)
class Purpose:
    code: str
    name: str
    statutory_basis: str
    consent: str
    purpose_of_use: str
    urgent: bool = False

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Purpose:
        return cls(
            d["code"],
            d["name"],
            d["statutory_basis"],
            d["consent"],
            d["purpose_of_use"],
            bool(d.get("urgent", False)),
        )


@dataclass(frozen=True)
class Category:
    code: str
    name: str
    parties: tuple[str, ...]
    special: str = "none"

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Category:
        return cls(d["code"], d["name"], tuple(d["parties"]), d.get("special", "none"))


@dataclass(frozen=True)
class Marker:
    code: str
    effect: str
    redact: tuple[str, ...]
    break_glass_overrides: bool
    second_approver: bool

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Marker:
        return cls(
            d["code"],
            d["effect"],
            tuple(d.get("redact", ())),
            d["break_glass_overrides"],
            bool(d.get("second_approver", False)),
        )


@dataclass(frozen=True)
class Rule:
    id: str
    effect: Literal["permit", "deny"]
    purposes: tuple[str, ...]
    roles: tuple[str, ...]
    source_parties: tuple[str, ...]
    categories: tuple[str, ...]
    requester_parties: tuple[str, ...] | None
    lawful_basis: tuple[str, ...]
    consent_handling: str | None
    override_reasons: tuple[str, ...]
    legitimate_relationship: bool
    case_status: tuple[str, ...] | None
    subject_age_max: int | None
    obligations: dict[str, Any]
    title: str = ""

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Rule:
        consent = d.get("consent") or {}
        conditions = d.get("conditions") or {}
        return cls(
            id=d["id"],
            effect=d["effect"],
            purposes=tuple(d["purposes"]),
            roles=tuple(d["roles"]),
            source_parties=tuple(d["source_parties"]),
            categories=tuple(d["categories"]),
            requester_parties=tuple(d["requester_parties"]) if "requester_parties" in d else None,
            lawful_basis=tuple(d.get("lawful_basis", ())),
            consent_handling=consent.get("handling"),
            override_reasons=tuple(consent.get("override_reasons", ())),
            legitimate_relationship=bool(conditions.get("legitimate_relationship", False)),
            case_status=tuple(conditions["case_status"]) if "case_status" in conditions else None,
            subject_age_max=conditions.get("subject_age_max"),
            obligations=dict(d.get("obligations") or {}),
            title=d.get("title", ""),
        )

    def applies_to(self, purpose: str, role: str, party: str) -> bool:
        return (
            purpose in self.purposes
            and ("*" in self.roles or role in self.roles)
            and (self.requester_parties is None or party in self.requester_parties)
        )


@dataclass(frozen=True)
class BreakGlassPolicy:
    purposes: tuple[str, ...]
    roles: tuple[str, ...]
    max_minutes: int
    never_overrides: tuple[str, ...]
    justification_min_length: int
    review_within_days: int
    reviewer_role: str
    notify: tuple[str, ...] = ()

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> BreakGlassPolicy:
        return cls(
            tuple(d["purposes"]),
            tuple(d["roles"]),
            d["max_minutes"],
            tuple(d["never_overrides"]),
            d["justification_min_length"],
            d["review_within_days"],
            d["reviewer_role"],
            tuple(d.get("notify", ())),
        )


@dataclass(frozen=True)
class Agreement:
    id: str
    version: str
    title: str
    source: str
    parties: tuple[str, ...]
    effective_from: dt.date
    review_by: dt.date
    purposes: dict[str, Purpose]
    categories: dict[str, Category]
    markers: dict[str, Marker]
    rules: tuple[Rule, ...]
    break_glass: BreakGlassPolicy | None
    content_hash: str
    raw: dict[str, Any] = field(repr=False, compare=False, default_factory=dict)


@dataclass(frozen=True)
class SubjectFacts:
    age: int | None = None
    restricted_markers: frozenset[str] = frozenset()
    consent: Literal["given", "refused", "not_sought", "unknown"] = "unknown"
    legitimate_relationship: bool | None = None
    case_status: str | None = None


@dataclass(frozen=True)
class BreakGlassRequest:
    justification: str
    minutes: int = 60


@dataclass(frozen=True)
class AccessRequest:
    purpose: str
    role: str
    party: str
    source_parties: frozenset[str]
    client_id: str = ""
    user_id: str | None = None
    requested_categories: frozenset[str] | None = None
    subject: SubjectFacts = field(default_factory=SubjectFacts)
    justification: str | None = None
    reference: str | None = None
    consent_override_reason: str | None = None
    break_glass: BreakGlassRequest | None = None
    at: dt.date | None = None


@dataclass(frozen=True)
class Withheld:
    source_party: str
    category: str
    clause: str
    reason: str


@dataclass
class Decision:
    effect: Literal["permit", "deny"]
    permitted: dict[str, frozenset[str]]
    withheld: list[Withheld]
    matched_rules: list[str]
    reasons: list[str]
    lawful_basis: list[str] = field(default_factory=list)
    obligations: list[str] = field(default_factory=list)
    redactions: list[str] = field(default_factory=list)
    consent_status: str = "unknown"
    consent_override_reason: str | None = None
    break_glass: bool = False
    subject_access: str = "standard"
    purpose_of_use: str | None = None
    policy_bundle_id: str = ""
    policy_version: str = ""
    policy_hash: str = ""

    @property
    def categories_released(self) -> list[str]:
        return sorted({c for cats in self.permitted.values() for c in cats})


@dataclass(frozen=True)
class PolicyBundle:
    agreements: tuple[Agreement, ...]

    def purpose(self, code: str) -> Purpose | None:
        agreement = self.agreement_for(code)
        return agreement.purposes[code] if agreement else None

    def agreement_for(self, purpose: str) -> Agreement | None:
        """The agreement that defines ``purpose`` (the loader refuses a purpose defined twice)."""
        return next((a for a in self.agreements if purpose in a.purposes), None)

    def break_glass_for(self, purpose: str) -> BreakGlassPolicy | None:
        """The break-glass provision that covers ``purpose``: its own agreement's, never the
        first agreement's whatever the purpose."""
        agreement = self.agreement_for(purpose)
        glass = agreement.break_glass if agreement else None
        return glass if glass and purpose in glass.purposes else None

    def parties_for(self, purpose: str) -> tuple[str, ...]:
        agreement = self.agreement_for(purpose)
        return agreement.parties if agreement else ()

    def roles(self) -> frozenset[str]:
        """Every role some clause names (``*`` aside): the roles a client may be given."""
        return frozenset(r for a in self.agreements for rule in a.rules for r in rule.roles
                         if r != "*")

    def purpose_codes(self) -> frozenset[str]:
        return frozenset(c for a in self.agreements for c in a.purposes)

    def purposes_for(self, role: str, party: str) -> list[Purpose]:
        codes = {
            p
            for a in self.agreements
            for r in a.rules
            if r.effect == "permit"
            and ("*" in r.roles or role in r.roles)
            and (r.requester_parties is None or party in r.requester_parties)
            for p in r.purposes
        }
        return [p for a in self.agreements for c, p in a.purposes.items() if c in codes]

    def decide(self, request: AccessRequest) -> Decision:
        from policies.decision import decide

        return decide(self, request)
