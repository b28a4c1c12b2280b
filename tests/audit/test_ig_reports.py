"""IG tools over a constructed trail: search, subject access with deferral, each anomaly rule
(firing on its pattern and not on ordinary work) and FHIR export. The witness: test_witness.py."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from audit import (
    AuditEvent,
    AuditQuery,
    AuditTrail,
    audit_path_for,
    fhir_audit_events,
    run_anomaly_rules,
    search_events,
    subject_access_report,
)
from kinlink.cli import app

runner = CliRunner()
MONDAY = dt.datetime(2026, 11, 16, 10, 0, tzinfo=dt.UTC)
# The moment the reports are asked about: the day after the fixture's last events. Never the wall
# clock, so the findings are the same whatever today is.
AS_OF = MONDAY + dt.timedelta(days=15)


def read(subject: str, when: dt.datetime, **kw: object) -> AuditEvent:
    fields = dict(event_type="PatientRead", outcome="permit", subject_person_id=subject,
                  user_id="u-normal", client_id="c-1", agency="social_care",
                  purpose="s47-enquiry", recorded_at=when, http_status=200,
                  categories_released=["identity"], lawful_basis=["uk-gdpr-6-1-e"])
    fields.update(kw)
    return AuditEvent(**fields)  # type: ignore[arg-type]


@pytest.fixture
def trail(tmp_path: Path) -> tuple[Path, AuditTrail]:
    db = tmp_path / "kinlink.duckdb"
    t = AuditTrail.open(audit_path_for(db))
    events = []
    # Ordinary work: two users reading a few children on weekday office hours for 12 days.
    for day in range(12):
        for k in range(3):
            when = MONDAY + dt.timedelta(days=day % 5 + 7 * (day // 5), minutes=10 * k)
            events.append(read(f"P{k}", when))
            events.append(read(f"P{k}", when, user_id="u-peer"))
    later = MONDAY + dt.timedelta(days=14)
    events += [read("P9", later.replace(hour=2), user_id="u-night")]                 # 02:00
    events += [read(f"P{100 + i}", later, user_id="u-spike") for i in range(60)]      # a spike
    events += [read("P7", later, user_id="u-bg", break_glass=True)]
    events += [read(f"PX{i}", later + dt.timedelta(minutes=i), user_id="u-probe", outcome="deny",
                    http_status=404) for i in range(6)]
    events += [read("P8", later, user_id="u-consent", consent_override_reason="cannot-be-given")
               for _ in range(5)]
    events += [read("P6", later, user_id="u-wrong", outcome="deny", http_status=403,
                    detail="purpose not granted to client", client_id="c-wrong")]
    events += [read("P5", later, user_id="u-adopt", outcome="deny", http_status=403,
                    reasons=["restricted-marker:adoption: never disclosed"])]
    events += [read(f"PQ{i}", later, user_id="u-search", event_type="PatientQuery")
               for i in range(12)]
    # Subject access: one open-enquiry deferral, one past deferral, one exemption.
    events += [read("PSAR", MONDAY, subject_access="defer_until:2999-01-01"),
               read("PSAR", MONDAY, subject_access="defer_until:2000-01-01", agency="health"),
               read("PSAR", MONDAY, subject_access="exempt:crime-prevention"),
               read("PSAR", MONDAY, agency="police", purpose="mash-triage")]
    t.append(events)
    t.checkpoint()
    return db, t


def test_search_filters(trail: tuple[Path, AuditTrail]) -> None:
    _, t = trail
    con = t.cursor()
    assert {e["user_id"] for e in search_events(con, AuditQuery(user="u-probe"))} == {"u-probe"}
    assert len(search_events(con, AuditQuery(subject="PSAR"))) == 4
    assert len(search_events(con, AuditQuery(outcome="deny", purpose="s47-enquiry"))) == 8
    assert search_events(con, AuditQuery(client="c-wrong"))[0]["subject_person_id"] == "P6"
    newest = search_events(con, AuditQuery(limit=3))
    assert [e["seq"] for e in newest] == sorted([e["seq"] for e in newest], reverse=True)
    window = search_events(con, AuditQuery(since=MONDAY, until=MONDAY + dt.timedelta(hours=1),
                                           limit=1000))
    assert window and all(MONDAY.isoformat()[:13] in e["recorded_at"] for e in window)


def test_subject_access_report_honours_deferral(trail: tuple[Path, AuditTrail]) -> None:
    _, t = trail
    report = subject_access_report(t.cursor(), "PSAR", today=dt.date(2026, 11, 25))
    assert report.deferred == 1 and report.exempt == 1
    assert sorted(e["organisation"] for e in report.entries) == ["health", "police"]
    assert all("user" not in json.dumps(e) for e in report.entries)


def test_each_anomaly_rule_fires_on_its_pattern_only(trail: tuple[Path, AuditTrail]) -> None:
    _, t = trail
    findings = run_anomaly_rules(t.cursor(), since=MONDAY - dt.timedelta(days=1), now=AS_OF)
    by_rule: dict[str, set[str | None]] = {}
    for f in findings:
        by_rule.setdefault(f.rule, set()).add(f.who)
    assert by_rule["out-of-hours"] == {"u-night"}
    assert by_rule["volume-spike"] == {"u-spike"}
    assert by_rule["break-glass"] == {"u-bg"}
    assert by_rule["id-probing"] == {"u-probe"}
    assert by_rule["consent-override-frequency"] == {"u-consent"}
    assert by_rule["purpose-mismatch"] == {"c-wrong"}
    assert by_rule["restricted-marker-attempts"] == {"u-adopt"}
    assert by_rule["searches-without-follow-on"] == {"u-search"}
    flagged = {w for ws in by_rule.values() for w in ws}
    assert "u-normal" not in flagged and "u-peer" not in flagged
    assert "overdue-break-glass-review" not in by_rule


def test_break_glass_becomes_overdue_relative_to_the_moment_asked_about(
    trail: tuple[Path, AuditTrail]
) -> None:
    _, t = trail
    since = MONDAY - dt.timedelta(days=1)
    week_later = AS_OF + dt.timedelta(days=7)
    overdue = [f for f in run_anomaly_rules(t.cursor(), since, now=week_later)
               if f.rule.endswith("break-glass-review") or f.rule == "break-glass"]
    assert [(f.rule, f.who) for f in overdue] == [("overdue-break-glass-review", "u-bg")]


def test_fhir_export_is_balp_shaped(trail: tuple[Path, AuditTrail]) -> None:
    _, t = trail
    resources = list(fhir_audit_events(t.cursor()))
    assert len(resources) > 100
    for r in resources:
        assert r["resourceType"] == "AuditEvent" and r["type"]["code"] == "rest"
        assert r["recorded"] and r["action"] in "CRUDE" and r["outcome"] in ("0", "4", "8")
        assert any(a.get("requestor") for a in r["agent"])
        assert r["source"]["observer"]
    reads = [r for r in resources if r["entity"] and r["entity"][0]["role"]["code"] == "1"]
    assert reads and reads[0]["entity"][0]["what"]["identifier"]["value"].startswith("P")
    denied = [r for r in resources if r["outcome"] == "4"]
    assert denied


def test_cli_reports(trail: tuple[Path, AuditTrail], tmp_path: Path) -> None:
    db, t = trail
    t.close()
    result = runner.invoke(app, ["audit", "sar", "--person", "PSAR", "--db", str(db),
                                 "--format", "csv"])
    assert result.exit_code == 0 and "police" in result.output and "u-normal" not in result.output
    result = runner.invoke(app, ["audit", "anomalies", "--db", str(db), "--since", "2026-11-01",
                                 "--at", AS_OF.isoformat()])
    assert result.exit_code == 0 and "u-spike" in result.output and "not checked" in result.output
    assert "break-glass" in result.output and "overdue" not in result.output
    result = runner.invoke(app, ["audit", "search", "--db", str(db), "--user", "u-bg", "--json"])
    assert result.exit_code == 0 and json.loads(result.output)[0]["break_glass"] is True
    out = tmp_path / "audit.ndjson"
    result = runner.invoke(app, ["audit", "export", "--db", str(db), "--out", str(out)])
    assert result.exit_code == 0
    assert all(json.loads(line)["resourceType"] == "AuditEvent" for line in out.open())
    bad = runner.invoke(app, ["audit", "search", "--db", str(db), "--since", "yesterday"])
    assert bad.exit_code == 2 and "--since" in bad.output


def test_context_rules_staff_lookups_open_cases_and_break_glass_reviews(tmp_path: Path) -> None:
    from audit.anomalies import AnomalyContext, not_checked
    from audit.staff import add_staff, read_staff_register, record_break_glass_review

    db = tmp_path / "kinlink.duckdb"
    t = AuditTrail.open(audit_path_for(db))
    night = dt.datetime(2026, 11, 18, 2, 0, tzinfo=dt.UTC)
    old = MONDAY - dt.timedelta(days=5)
    t.append([
        read("P-self", MONDAY, user_id="u-self"), read("P-mum", MONDAY, user_id="u-self"),
        read("P-coll", MONDAY, user_id="u-self"), read("P-other", MONDAY, user_id="u-self"),
        read("P-case", night, user_id="u-duty"),            # at night, but the case is open
        read("P-nocase", night, user_id="u-duty"),
        read("P-bg1", old, user_id="u-bg", break_glass=True),
        read("P-bg2", old, user_id="u-bg", break_glass=True),
    ])
    add_staff(t.cursor(), "u-self", "P-self")
    add_staff(t.cursor(), "u-colleague", "P-coll")
    staff = read_staff_register(t.cursor())
    context = AnomalyContext(open_cases=frozenset({"P-case"}), staff=staff,
                             families={"P-self": frozenset({"P-mum"})})
    assert not_checked(context) == {}
    since = old - dt.timedelta(days=1)
    findings = run_anomaly_rules(t.cursor(), since, context, now=AS_OF)
    lookups = {f.detail for f in findings if f.rule == "self-family-colleague-lookups"}
    assert lookups == {"1 reads of own record", "1 reads of a family member's record",
                       "1 reads of a colleague's record"}
    night_finding = [f for f in findings if f.rule == "out-of-hours" and f.who == "u-duty"]
    assert [f.count for f in night_finding] == [1]           # P-case explained, P-nocase not
    overdue = [f for f in findings if f.rule == "overdue-break-glass-review"]
    assert overdue and overdue[0].count == 2
    seqs = [r[0] for r in t.cursor().execute(
        "SELECT seq FROM audit_events WHERE subject_person_id LIKE 'P-bg%' ORDER BY seq"
    ).fetchall()]
    record_break_glass_review(t, seqs[0], "ig-1", "justified: child missing overnight")
    with pytest.raises(ValueError):
        record_break_glass_review(t, 0, "ig-1", "not a break-glass event at all")
    after = [f for f in run_anomaly_rules(t.cursor(), since, context, now=AS_OF)
             if f.rule == "overdue-break-glass-review"]
    assert after[0].count == 1
    assert "self-family-colleague-lookups" in not_checked(None)


@pytest.mark.parametrize(("flag", "case_open", "expected"), [
    ("standard", True, None),
    ("exempt:crime-prevention", False, "exempt"),
    ("defer_while_open", None, "deferred"),     # case state unknown: withhold
    ("defer_while_open", True, "deferred"),
    ("defer_while_open", False, None),          # the case has closed: tell
    ("defer_until:2026-12-01", None, "deferred"),
    ("defer_until:2026-11-01", None, None),     # the date has passed
    ("defer_until:2026-11-01", True, "deferred"),  # ...but the enquiry is still open
    ("defer_until:soon", None, "deferred"),     # unreadable date fails closed
    ("something-new", False, "deferred"),       # unknown flag fails closed
])
def test_deferral_rule(flag: str, case_open: bool | None, expected: str | None) -> None:
    from audit.subject_access import access_withheld

    assert access_withheld(flag, dt.date(2026, 11, 25), case_open) == expected


def test_subject_access_report_withholds_defer_while_open_until_the_case_closes(
    tmp_path: Path,
) -> None:
    t = AuditTrail.open(audit_path_for(tmp_path / "kinlink.duckdb"))
    t.append([read("PDWO", MONDAY, agency="police", subject_access="defer_while_open"),
              read("PDWO", MONDAY, agency="health"),
              read("PDWO", MONDAY, agency="education", outcome="deny", http_status=403)])
    today = dt.date(2026, 11, 25)
    open_case = subject_access_report(t.cursor(), "PDWO", today=today, case_open=True)
    assert open_case.deferred == 1
    assert [e["organisation"] for e in open_case.entries] == ["health"]   # refusal disclosed nothing
    closed = subject_access_report(t.cursor(), "PDWO", today=today, case_open=False)
    assert closed.deferred == 0
    assert sorted(e["organisation"] for e in closed.entries) == ["health", "police"]
    t.close()
    result = runner.invoke(app, ["audit", "sar", "--person", "PDWO", "--format", "json",
                                 "--db", str(tmp_path / "kinlink.duckdb")])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["deferred"] == 1      # no index to ask: stays withheld


def test_search_pages_newest_first_through_the_cli(trail: tuple[Path, AuditTrail]) -> None:
    db, t = trail
    total = len(search_events(t.cursor(), AuditQuery(user="u-spike", limit=1000)))
    t.close()
    pages = []
    for offset in range(0, total + 25, 25):
        result = runner.invoke(app, ["audit", "search", "--db", str(db), "--user", "u-spike",
                                     "--limit", "25", "--offset", str(offset), "--json"])
        assert result.exit_code == 0, result.output
        pages.append([e["seq"] for e in json.loads(result.output)])
    seqs = [s for page in pages for s in page]
    assert total == 60 and len(seqs) == 60 and pages[-1] == []
    assert seqs == sorted(seqs, reverse=True) and len(set(seqs)) == 60


def test_out_of_hours_is_per_team_on_the_local_clock(tmp_path: Path) -> None:
    from audit.anomalies import AnomalyContext, WorkingHours

    t = AuditTrail.open(audit_path_for(tmp_path / "kinlink.duckdb"))
    summer = dt.datetime(2026, 7, 1, tzinfo=dt.UTC)          # a Wednesday in British Summer Time
    saturday = dt.datetime(2026, 7, 4, 11, 0, tzinfo=dt.UTC)
    t.append([
        read("P1", summer.replace(hour=6, minute=30), user_id="u-early"),   # 07:30 BST: in hours
        read("P2", summer.replace(hour=18, minute=30), user_id="u-late"),   # 19:30 BST: out
        read("P3", summer.replace(hour=3), user_id="u-edt", role="edt-social-worker"),
        read("P4", saturday, user_id="u-edt", role="edt-social-worker"),
        read("P5", summer.replace(hour=3), user_id="u-police", agency="police", role="officer"),
        read("P6", saturday, user_id="u-school", agency="education", role="dsl"),
        read("P7", summer.replace(hour=17, minute=30), user_id="u-school", agency="education",
             role="dsl"),                                                    # 18:30 BST: out
    ])
    context = AnomalyContext(working_hours={"edt-social-worker": WorkingHours(0, 24, True),
                                            "police": WorkingHours(0, 24, True),
                                            "education": WorkingHours(8, 18)})
    found = {f.who: f.count for f in run_anomaly_rules(t.cursor(), summer, context)
             if f.rule == "out-of-hours"}
    assert found == {"u-late": 1, "u-school": 2}
    utc = AnomalyContext(timezone="UTC")
    found_utc = {f.who for f in run_anomaly_rules(t.cursor(), summer, utc)
                 if f.rule == "out-of-hours"}
    assert "u-early" in found_utc and "u-late" not in found_utc   # the clock matters
    t.close()
    with pytest.raises(ValueError):
        WorkingHours(19, 7)


def test_anomalies_command_takes_team_hours_and_names_bad_fields(
    trail: tuple[Path, AuditTrail], tmp_path: Path
) -> None:
    db, t = trail
    t.close()
    args = ["audit", "anomalies", "--db", str(db), "--since", "2026-11-01", "--json"]
    night_owls = {f["who"] for f in json.loads(runner.invoke(app, args).output)
                  if f["rule"] == "out-of-hours"}
    assert night_owls == {"u-night"}
    hours = tmp_path / "hours.yaml"
    hours.write_text("social_care: {start: 0, end: 24, weekends: true}\n")
    result = runner.invoke(app, [*args, "--hours", str(hours)])
    assert result.exit_code == 0, result.output
    assert not [f for f in json.loads(result.output) if f["rule"] == "out-of-hours"]
    hours.write_text("social_care: {start: 8, end: late}\n")
    bad = runner.invoke(app, [*args, "--hours", str(hours)])
    assert bad.exit_code == 2 and "social_care.end" in bad.output and "hours.yaml" in bad.output
