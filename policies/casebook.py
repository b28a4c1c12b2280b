"""Policy test cases kept beside the agreements: a request and the decision it must get.

The cases are how an IG officer proves an edit does what the sharing agreement says: each names
the request, the expected effect and (optionally) exactly which categories each party releases, which
are withheld by which clause, and which clauses decide.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from policies.loader import PolicyError
from policies.model import AccessRequest, BreakGlassRequest, PolicyBundle, SubjectFacts

__all__ = ["CaseResult", "run_cases"]


@dataclass(frozen=True)
class CaseResult:
    file: str
    name: str
    passed: bool
    problems: tuple[str, ...]


def _request(spec: dict[str, Any]) -> AccessRequest:
    subject = spec.get("subject", {})
    bg = spec.get("break_glass")
    at = spec.get("at")
    return AccessRequest(
        purpose=spec["purpose"],
        role=spec["role"],
        party=spec.get("party", "social_care"),
        source_parties=frozenset(
            spec.get("source_parties", ["health", "education", "social_care", "police"])
        ),
        requested_categories=frozenset(spec["requested"]) if "requested" in spec else None,
        subject=SubjectFacts(
            age=subject.get("age"),
            restricted_markers=frozenset(subject.get("markers", [])),
            consent=subject.get("consent", "unknown"),
            legitimate_relationship=subject.get("legitimate_relationship"),
            case_status=subject.get("case_status"),
        ),
        justification=spec.get("justification"),
        consent_override_reason=spec.get("consent_override_reason"),
        break_glass=BreakGlassRequest(bg["justification"]) if bg else None,
        at=at
        if isinstance(at, dt.date)
        else (dt.date.fromisoformat(at) if at else dt.date(2026, 6, 1)),
    )


def run_cases(bundle: PolicyBundle, directory: Path) -> list[CaseResult]:
    results: list[CaseResult] = []
    files = sorted(directory.glob("*.yaml"))
    if not files:
        raise PolicyError(f"{directory}: no policy test cases (*.yaml)")
    for path in files:
        cases = yaml.safe_load(path.read_text(encoding="utf-8")) or []
        for i, case in enumerate(cases):
            name = case.get("name", f"case {i}")
            try:
                decision = bundle.decide(_request(case["request"]))
            except (KeyError, TypeError, ValueError) as exc:
                results.append(
                    CaseResult(str(path), name, False, (f"[{i}] malformed case: {exc}",))
                )
                continue
            expect = case["expect"]
            problems: list[str] = []
            if decision.effect != expect["effect"]:
                problems.append(
                    f"effect {decision.effect}, expected {expect['effect']} ({decision.reasons})"
                )
            for party, categories in (expect.get("permitted") or {}).items():
                got = sorted(decision.permitted.get(party, frozenset()))
                if got != sorted(categories):
                    problems.append(f"{party} released {got}, expected {sorted(categories)}")
            for item in expect.get("withheld", []):
                party, category, clause = item.split(":", 2)
                if not any(
                    w.source_party == party and w.category == category and w.clause == clause
                    for w in decision.withheld
                ):
                    problems.append(f"expected {category} from {party} withheld by {clause}")
            for rule in expect.get("matched_rules", []):
                if rule not in decision.matched_rules:
                    problems.append(
                        f"expected clause {rule} to decide; got {decision.matched_rules}"
                    )
            if "break_glass" in expect and decision.break_glass != expect["break_glass"]:
                problems.append(f"break_glass {decision.break_glass}")
            for obligation in expect.get("obligations", []):
                if not any(o.startswith(obligation) for o in decision.obligations):
                    problems.append(f"expected obligation {obligation}; got {decision.obligations}")
            results.append(CaseResult(str(path), name, not problems, tuple(problems)))
    return results
