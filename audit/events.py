"""The audit event: one subject, one decision, shaped after FHIR AuditEvent (IHE BALP).

Every field an IG officer needs to answer "who looked at this child's records, when and why" is
here, plus what the policy decided and on which clauses. A token is recorded by its ``jti`` only.
Events are hashed as canonical JSON, so the same event always has the same leaf hash.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["AuditEvent", "canonical_json"]

EventType = Literal[
    "PatientQuery",
    "PatientRead",
    "PrivacyDisclosure",
    "AuthorizationDecision",
    "BreakGlass",
    "ReviewDecision",
    #: A staff account was added, changed or disabled (DICOM 110137 "User Security Attributes
    #: Changed"): who may sign in is itself part of the accountability record.
    "StaffAccountChange",
]


class AuditEvent(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    event_type: EventType
    action: Literal["C", "R", "U", "D", "E"] = "R"
    outcome: Literal["permit", "deny", "error"]
    recorded_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    request_id: str | None = None
    #: The IHE transaction the request was, when it was one (``ITI-119``: a PDQm $match).
    transaction: str | None = None
    client_id: str | None = None
    #: The client's network address as the gateway saw the connection (BALP agent.network).
    client_network: str | None = None
    user_id: str | None = None
    agency: str | None = None
    role: str | None = None
    token_jti: str | None = None
    purpose: str | None = None
    purpose_of_use: str | None = None
    justification: str | None = None
    reference: str | None = None
    subject_person_id: str | None = None
    query: dict[str, Any] | None = None
    source_agencies: list[str] = Field(default_factory=list)
    categories_released: list[str] = Field(default_factory=list)
    record_count: int = 0
    redactions: list[str] = Field(default_factory=list)
    policy_bundle_id: str | None = None
    policy_version: str | None = None
    policy_hash: str | None = None
    matched_rules: list[str] = Field(default_factory=list)
    #: The decision's reasons, as the policy engine words them (e.g. a restricted marker).
    reasons: list[str] = Field(default_factory=list)
    lawful_basis: list[str] = Field(default_factory=list)
    consent_status: str | None = None
    consent_override_reason: str | None = None
    break_glass: bool = False
    obligations: list[str] = Field(default_factory=list)
    subject_access: str = "standard"
    http_status: int | None = None
    detail: str | None = None


def canonical_json(value: dict[str, Any]) -> bytes:
    """Sorted keys, no whitespace, UTF-8: one byte string per event, whoever serialises it."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
    ).encode("utf-8")
