"""Audit: the append-only, tamper-evident trail of every disclosure decision."""

from audit.anomalies import Finding, run_anomaly_rules
from audit.events import AuditEvent
from audit.fhir_export import fhir_audit_events, to_fhir
from audit.search import AuditQuery, search_events
from audit.subject_access import SubjectAccessReport, subject_access_report
from audit.trail import AppendReceipt, AuditTrail, AuditUnavailable, audit_path_for
from audit.verify import VerifyResult, verify_trail
from audit.witness import WitnessRefusal, WitnessState, witness_checkpoint

__all__ = [
    "AppendReceipt",
    "AuditEvent",
    "AuditQuery",
    "AuditTrail",
    "AuditUnavailable",
    "Finding",
    "SubjectAccessReport",
    "VerifyResult",
    "WitnessRefusal",
    "WitnessState",
    "audit_path_for",
    "fhir_audit_events",
    "run_anomaly_rules",
    "search_events",
    "subject_access_report",
    "to_fhir",
    "verify_trail",
    "witness_checkpoint",
]
