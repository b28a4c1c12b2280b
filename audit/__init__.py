"""Audit: the append-only, tamper-evident trail of every disclosure decision."""

from audit.events import AuditEvent
from audit.trail import AppendReceipt, AuditTrail, AuditUnavailable, audit_path_for
from audit.verify import VerifyResult, verify_trail

__all__ = [
    "AppendReceipt",
    "AuditEvent",
    "AuditTrail",
    "AuditUnavailable",
    "VerifyResult",
    "audit_path_for",
    "verify_trail",
]
