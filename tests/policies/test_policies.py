"""Agreements validate with errors naming file and field; decisions follow the decision order."""

import datetime as dt
import shutil
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from kinlink.cli import app
from policies import (
    DEFAULT_POLICY_DIR,
    AccessRequest,
    BreakGlassRequest,
    PolicyError,
    SubjectFacts,
    load_policies,
)
from policies.matrix import diff_matrices, sharing_matrix

runner = CliRunner()
AT = dt.date(2026, 6, 1)


@pytest.fixture(scope="module")
def bundle():
    return load_policies()


def edited(tmp_path: Path, change) -> Path:
    data = yaml.safe_load((DEFAULT_POLICY_DIR / "mash.yaml").read_text())
    change(data)
    (tmp_path / "mash.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    return tmp_path


@pytest.mark.parametrize(
    ("change", "where"),
    [
        (lambda d: d.pop("review_by"), "(top level): 'review_by' is a required property"),
        (lambda d: d["rules"][2].__setitem__("effect", "allow"), "rules[2].effect"),
        (lambda d: d["rules"][1]["purposes"].append("s48-enquiry"), "rules[1].purposes[2]"),
        (lambda d: d.__setitem__("review_by", "next year"), "review_by"),
        (lambda d: d["purposes"][0].__setitem__("consent", 3), "purposes[0].consent"),
        (lambda d: d["rules"][0].__setitem__("id", d["rules"][1]["id"]), "used twice"),
    ],
)
def test_schema_and_reference_errors_name_the_file_and_field(
    tmp_path: Path, change, where: str
) -> None:
    directory = edited(tmp_path, change)
    with pytest.raises(PolicyError) as info:
        load_policies(directory)
    assert str(directory / "mash.yaml") in str(info.value) and where in str(info.value)


def test_broken_yaml_is_named(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text("rules: [\n")
    with pytest.raises(PolicyError, match=r"bad\.yaml: not valid YAML"):
        load_policies(tmp_path)


def request(**kw) -> AccessRequest:
    base = dict(
        purpose="s47-enquiry",
        role="mash-social-worker",
        party="social_care",
        source_parties=frozenset({"health", "police"}),
        at=AT,
        justification="Section 47 enquiry opened after a referral",
    )
    base.update(kw)
    return AccessRequest(**base)


def test_default_deny_and_unknown_purpose(bundle) -> None:
    assert bundle.decide(request(purpose="gossip")).effect == "deny"
    decision = bundle.decide(request(role="health-visitor"))
    assert decision.effect == "deny" and "purpose-not-allowed" in decision.reasons[0]


def test_every_category_not_released_is_withheld_with_its_clause(bundle) -> None:
    decision = bundle.decide(request(role="mash-health-practitioner"))
    released = {(p, c) for p, cats in decision.permitted.items() for c in cats}
    withheld = {(w.source_party, w.category) for w in decision.withheld}
    supplied = {
        (p, c.code)
        for p in ("health", "police")
        for c in bundle.agreements[0].categories.values()
        if p in c.parties
    }
    assert released | withheld == supplied and not released & withheld
    assert all(w.clause for w in decision.withheld)


def test_deny_overrides_permit_and_markers_come_first(bundle) -> None:
    decision = bundle.decide(
        request(
            purpose="early-help",
            role="early-help-worker",
            subject=SubjectFacts(consent="given", legitimate_relationship=True),
            source_parties=frozenset({"police"}),
        )
    )
    assert decision.effect == "deny" and "MASH-6.9" in decision.matched_rules
    adopted = bundle.decide(
        request(
            subject=SubjectFacts(restricted_markers=frozenset({"adoption"})),
            break_glass=BreakGlassRequest("x" * 80),
        )
    )
    assert adopted.effect == "deny" and not adopted.break_glass


def test_minimisation_is_requested_intersect_permitted(bundle) -> None:
    decision = bundle.decide(request(requested_categories=frozenset({"identity", "send"})))
    assert decision.permitted == {
        "health": frozenset({"identity"}),
        "police": frozenset({"identity"}),
    }


def test_decision_carries_the_policy_identity_and_lawful_basis(bundle) -> None:
    decision = bundle.decide(request())
    assert decision.policy_bundle_id == "wessex-mash-isa" and len(decision.policy_hash) == 64
    assert "uk-gdpr-6-1-e" in decision.lawful_basis and decision.purpose_of_use == "THREAT"
    assert decision.subject_access.startswith("defer_until:")


def test_the_shipped_cases_pass_and_a_wrong_case_fails(tmp_path: Path) -> None:
    result = runner.invoke(app, ["policies", "test"])
    assert result.exit_code == 0, result.output
    directory = tmp_path / "p"
    shutil.copytree(DEFAULT_POLICY_DIR, directory)
    case = directory / "tests" / "mash-cases.yaml"
    case.write_text(case.read_text().replace("effect: deny}", "effect: permit}", 1))
    result = runner.invoke(app, ["policies", "test", str(directory)])
    assert result.exit_code == 1 and "1 failed" in result.output


def test_explain_and_diff(bundle, tmp_path: Path) -> None:
    matrix = sharing_matrix(bundle, "s47-enquiry")
    assert any(
        c.category == "criminal-offence"
        and c.role == "mash-police-officer"
        and c.outcome == "permit"
        and c.clause == "MASH-4.3"
        for c in matrix
    )
    narrower = edited(tmp_path, lambda d: d["rules"][2]["roles"].remove("mash-social-worker"))
    changes = diff_matrices(sharing_matrix(bundle), sharing_matrix(load_policies(narrower)))
    assert changes and all(kind == "withdrawn" for kind, _ in changes)
    assert {c.role for _, c in changes} == {"mash-social-worker"}
    result = runner.invoke(
        app, ["policies", "explain", "--purpose", "mash-triage", "--format", "csv"]
    )
    assert result.exit_code == 0 and result.output.startswith("purpose,role,source party")


def test_the_bundle_judges_agreements_at_the_date_it_is_given() -> None:
    """A request that names no date is judged at the bundle's date (the gateway's
    ``policy_date``), so a test or a rehearsal gives the same answer whatever the calendar says;
    the shipped agreement is refused once past its review date."""
    in_force = load_policies(as_of=dt.date(2026, 11, 25))
    assert in_force.decide(request(at=None)).effect == "permit"
    overdue = load_policies(as_of=dt.date(2027, 3, 2))
    decision = overdue.decide(request(at=None))
    assert decision.effect == "deny" and decision.reasons[0].startswith("agreement-expired")
