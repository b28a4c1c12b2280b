"""Policies: purpose-based sharing agreements as declarative files, and the decisions made from them."""

from policies.loader import DEFAULT_POLICY_DIR, PolicyError, load_policies
from policies.model import (
    AccessRequest,
    BreakGlassPolicy,
    BreakGlassRequest,
    Decision,
    PolicyBundle,
    SubjectFacts,
    Withheld,
)

__all__ = [
    "DEFAULT_POLICY_DIR",
    "AccessRequest",
    "BreakGlassPolicy",
    "BreakGlassRequest",
    "Decision",
    "PolicyBundle",
    "PolicyError",
    "SubjectFacts",
    "Withheld",
    "load_policies",
]
