"""The sharing matrix (purpose × role × source party × category) for sign-off, and diffs of it.

An IG officer signs off what the agreement *does*, not its YAML: every cell is decided by the same
``decide`` the gateway calls, for a subject with consent given and a verified relationship (the
conditions that can still refuse a request are listed beside the cell).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from policies.model import AccessRequest, PolicyBundle, SubjectFacts

__all__ = ["MatrixCell", "diff_matrices", "sharing_matrix"]


@dataclass(frozen=True)
class MatrixCell:
    purpose: str
    role: str
    source_party: str
    category: str
    outcome: str  # permit | deny
    clause: str


def sharing_matrix(bundle: PolicyBundle, purpose: str | None = None) -> list[MatrixCell]:
    cells: list[MatrixCell] = []
    for agreement in bundle.agreements:
        roles = sorted({r for rule in agreement.rules for r in rule.roles if r != "*"})
        at = min(max(dt.date.today(), agreement.effective_from), agreement.review_by)
        for code in agreement.purposes:
            if purpose and code != purpose:
                continue
            for role in roles:
                request = AccessRequest(
                    purpose=code,
                    role=role,
                    party="any",
                    source_parties=frozenset(agreement.parties),
                    subject=SubjectFacts(consent="given", legitimate_relationship=True, age=10),
                    justification="x" * 200,
                    at=at,
                )
                decision = bundle.decide(request)
                for party, categories in sorted(decision.permitted.items()):
                    for category in sorted(categories):
                        clauses = [
                            r.id
                            for r in agreement.rules
                            if r.id in decision.matched_rules
                            and party in r.source_parties
                            and category in r.categories
                        ]
                        cells.append(
                            MatrixCell(code, role, party, category, "permit", ",".join(clauses))
                        )
                for w in decision.withheld:
                    if w.clause != "default-deny":
                        cells.append(
                            MatrixCell(code, role, w.source_party, w.category, "deny", w.clause)
                        )
    return cells


def diff_matrices(old: list[MatrixCell], new: list[MatrixCell]) -> list[tuple[str, MatrixCell]]:
    """(``granted`` | ``withdrawn`` | ``changed``, cell) for every cell whose outcome differs."""
    key = lambda c: (c.purpose, c.role, c.source_party, c.category)  # noqa: E731
    before = {key(c): c for c in old if c.outcome == "permit"}
    after = {key(c): c for c in new if c.outcome == "permit"}
    changes: list[tuple[str, MatrixCell]] = []
    for k in sorted(after.keys() - before.keys()):
        changes.append(("granted", after[k]))
    for k in sorted(before.keys() - after.keys()):
        changes.append(("withdrawn", before[k]))
    for k in sorted(before.keys() & after.keys()):
        if before[k].clause != after[k].clause:
            changes.append(("changed", after[k]))
    return changes
