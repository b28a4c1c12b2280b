"""Audit: the append-only, tamper-evident trail of every disclosure decision."""

from audit.anomalies import Finding, run_anomaly_rules
from audit.cosignature import (
    Cosignature,
    cosign,
    parse_verifier_key,
    verifier_key,
    verify_cosignature,
)
from audit.events import AuditEvent
from audit.fhir_export import fhir_audit_events, to_fhir
from audit.search import AuditQuery, search_events
from audit.subject_access import SubjectAccessReport, access_withheld, subject_access_report
from audit.trail import AppendReceipt, AuditTrail, AuditUnavailable, audit_path_for
from audit.verify import VerifyResult, verify_trail
from audit.witness import (
    WitnessRefusal,
    WitnessState,
    check_and_cosign,
    log_consistency,
    witness_checkpoint,
)

__all__ = [
    "AppendReceipt",
    "AuditEvent",
    "AuditQuery",
    "AuditTrail",
    "AuditUnavailable",
    "Cosignature",
    "Finding",
    "SubjectAccessReport",
    "VerifyResult",
    "WitnessRefusal",
    "WitnessState",
    "access_withheld",
    "audit_path_for",
    "check_and_cosign",
    "cosign",
    "fhir_audit_events",
    "log_consistency",
    "parse_verifier_key",
    "run_anomaly_rules",
    "search_events",
    "subject_access_report",
    "to_fhir",
    "verifier_key",
    "verify_cosignature",
    "verify_trail",
    "witness_checkpoint",
]
