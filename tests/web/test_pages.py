"""The pages in a real browser (Debian's chromium driven by Playwright) against a real
``kinlink serve``: the find-a-child journey by keyboard alone, what is withheld is shown as
withheld, security headers, no personal data in URLs, and axe-core finds no serious or critical
accessibility violations on any page visited."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from gateway.users import StaffRegistry
from gateway.web.pages import HERE
from tests.conftest import POLICY_DATE
from tests.gateway.conftest import Gateway, copy_index, start_gateway
from tests.web.conftest import keep_screenshot

AXE = HERE / "frontend" / "node_modules" / "axe-core" / "axe.min.js"
JUSTIFICATION = "Section 47 enquiry opened after a referral from the school"


@pytest.fixture(scope="module")
def site(linked_population: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    directory = tmp_path_factory.mktemp("pages")
    db = copy_index(linked_population, directory)
    StaffRegistry(db.with_name("kinlink.users.duckdb")).add(
        "s.worker", "Sam Worker", "social_care", "mash-social-worker",
        ["s47-enquiry", "mash-triage"], password="correct horse battery")
    gateway = start_gateway(db, directory / "server.log")
    yield gateway
    gateway.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    chromium = shutil.which("chromium")
    assert chromium, "Debian's chromium is required (.ci/run installs it)"
    assert AXE.exists(), "axe-core is required: npm ci --prefix gateway/web/frontend"
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        yield launched
        launched.close()


def axe_violations(page: Page) -> list[dict[str, object]]:
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => (await axe.run(document)).violations")
    return [v for v in result if v.get("impact") in ("serious", "critical")]


def child_details(site: Gateway) -> dict[str, str]:
    with duckdb.connect(str(site.db), read_only=True) as con:
        row = con.execute(
            """SELECT s.given_name, s.family_name, s.dob, l.person_id
               FROM source_records s JOIN record_links l USING (unique_id)
               WHERE l.person_id IN (SELECT l2.person_id FROM record_links l2
                                     JOIN source_records s2 USING (unique_id)
                                     GROUP BY 1 HAVING count(DISTINCT s2.agency) = 4)
                 AND s.dob > '2010-01-01' AND s.given_name IS NOT NULL
               ORDER BY l.person_id LIMIT 1""").fetchall()[0]
    return dict(zip(("given", "family", "dob", "person"), row, strict=True))


def test_find_a_child_by_keyboard_alone(site: Gateway, browser: Browser) -> None:
    child = child_details(site)
    context = browser.new_context(bypass_csp=True)   # only so axe can be injected
    page = context.new_page()
    urls: list[str] = []
    responses: list[tuple[str, dict[str, str]]] = []
    page.on("request", lambda r: urls.append(r.url))
    page.on("response", lambda r: responses.append((r.url, r.headers)))
    violations: dict[str, list[dict[str, object]]] = {}

    def check(name: str) -> None:
        keep_screenshot(page, name)
        violations[name] = axe_violations(page)

    page.goto(site.base + "/")
    check("01-start")
    page.keyboard.press("Tab")                 # skip link
    page.keyboard.press("Tab")                 # service name
    page.keyboard.press("Tab")                 # the start button
    page.keyboard.press("Enter")
    page.wait_for_url("**/oauth/authorize**")
    check("02-sign-in")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    page.keyboard.type("s.worker")
    page.keyboard.press("Tab")
    page.keyboard.type("correct horse battery")
    page.keyboard.press("Enter")
    page.wait_for_url("**/purpose")
    check("03-purpose")
    page.focus("#purpose")                     # first radio; arrow keys move the choice
    page.keyboard.press("Space")
    page.keyboard.press("Tab")
    page.keyboard.type("REF-2026-0042")
    page.keyboard.press("Tab")
    page.keyboard.type(JUSTIFICATION)
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    page.wait_for_url("**/find")
    check("04-find")
    page.focus("#given_name")
    page.keyboard.type(child["given"])
    page.keyboard.press("Tab")
    page.keyboard.type(child["family"])
    page.keyboard.press("Tab")
    page.keyboard.type(child["dob"])
    page.keyboard.press("Enter")
    page.wait_for_selector("h1:has-text('Possible matches')")
    check("05-results")
    assert child["person"] in page.content()
    assert page.locator("svg[role=img] title").count() >= 1
    link = page.locator(f"a[href='/child/{child['person']}']")
    link.focus()
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/child/{child['person']}")
    check("06-child")
    text = page.inner_text("main")
    assert "Health" in text and "Police" in text
    assert "Purpose: " in page.inner_text("body")
    # Nothing is loaded from another host, and personal data never travelled in a URL.
    assert all(url.startswith(site.base) for url in urls), [u for u in urls
                                                            if not u.startswith(site.base)]
    for url in urls:
        for value in (child["given"], child["family"], child["dob"], JUSTIFICATION):
            assert value.lower() not in url.lower(), url
    child_headers = next(h for u, h in responses if u.endswith(f"/child/{child['person']}"))
    assert "frame-ancestors 'none'" in child_headers["content-security-policy"]
    assert "'unsafe-inline'" not in child_headers["content-security-policy"]
    assert child_headers["cache-control"] == "no-store"
    cookie = next(c for c in context.cookies() if c["name"] == "kinlink_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    assert {name: v for name, v in violations.items() if v} == {}
    context.close()


def test_a_purpose_that_withholds_shows_what_is_withheld(site: Gateway, browser: Browser) -> None:
    child = child_details(site)
    context = browser.new_context()
    page = context.new_page()
    page.goto(site.base + "/sign-in")
    page.fill("#username", "s.worker")
    page.fill("#password", "correct horse battery")
    page.click("button:has-text('Sign in')")
    page.wait_for_url("**/purpose")
    page.check("input[value='mash-triage']")
    page.click("button:has-text('Continue')")
    page.goto(f"{site.base}/child/{child['person']}")
    withheld = page.inner_text("#withheld")
    assert "cp-plan" in withheld and "default-deny" in withheld, "the page must say so"
    records = page.inner_text("#records")
    assert "Child protection plan" not in records and "Health safeguarding" not in records
    context.close()


def test_pages_refuse_without_sign_in_and_forms_need_csrf(site: Gateway, browser: Browser) -> None:
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{site.base}/find")
    assert "/oauth/authorize" in page.url                 # sent to sign in
    assert page.request.post(f"{site.base}/find", form={"given_name": "x"},
                             max_redirects=0).status == 303
    sign_in(page, site, "s.worker", "correct horse battery", "mash-triage")
    page.wait_for_url("**/find")
    forged = page.request.post(f"{site.base}/find", form={"given_name": "x"}, max_redirects=0)
    assert forged.status == 403                            # signed in, but no CSRF token
    wrong = page.request.post(f"{site.base}/find", max_redirects=0,
                              form={"given_name": "x", "csrf": "guessed"})
    assert wrong.status == 403
    page.click("button:has-text('Sign out')")
    page.wait_for_url(f"{site.base}/")
    page.goto(f"{site.base}/find")
    assert "/oauth/authorize" in page.url                 # signed out: back to sign in
    context.close()


def sign_in(page: Page, site: Gateway, user: str, password: str, purpose: str) -> None:
    page.goto(site.base + "/sign-in")
    page.fill("#username", user)
    page.fill("#password", password)
    page.click("button:has-text('Sign in')")
    page.wait_for_url("**/purpose")
    page.check(f"input[value='{purpose}']")
    page.click("button:has-text('Continue')")


def test_ig_pages(site: Gateway, browser: Browser, tmp_path: Path) -> None:
    StaffRegistry(site.db.with_name("kinlink.users.duckdb")).add(
        "i.governance", "Ivy Governance", "social_care", "ig-officer", ["ig-oversight"],
        password="another correct horse")
    child = child_details(site)
    context = browser.new_context(bypass_csp=True)
    page = context.new_page()
    sign_in(page, site, "i.governance", "another correct horse", "ig-oversight")
    page.wait_for_url("**/ig")
    found: dict[str, list[dict[str, object]]] = {"ig-home": axe_violations(page)}
    page.click("a:has-text('Search the audit trail')")
    page.fill("#subject", child["person"])
    page.fill("#since", "2000-01-01")
    page.click("button:has-text('Search')")
    assert "events, newest first" in page.inner_text("main")
    found["ig-audit"] = axe_violations(page)
    keep_screenshot(page, "07-ig-audit")
    page.goto(f"{site.base}/ig/subject-access/{child['person']}")
    assert "Who has seen the records" in page.inner_text("main")
    found["ig-sar"] = axe_violations(page)
    keep_screenshot(page, "10-ig-subject-access")
    href = page.get_attribute("a:has-text('Download as CSV')", "href")
    download = page.request.get(site.base + str(href))   # the browser's own session
    assert download.headers["content-disposition"].startswith("attachment")
    assert download.text().startswith("date,organisation,purpose")
    page.goto(f"{site.base}/ig/anomalies")
    assert "Anomaly report" in page.inner_text("main")
    found["ig-anomalies"] = axe_violations(page)
    keep_screenshot(page, "11-ig-anomalies")
    page.goto(f"{site.base}/ig/integrity")
    assert "Intact" in page.inner_text("main")
    found["ig-integrity"] = axe_violations(page)
    keep_screenshot(page, "12-ig-integrity")
    page.goto(f"{site.base}/ig/policies")
    assert "MASH-4.2" in page.inner_text("main")
    found["ig-policies"] = axe_violations(page)
    keep_screenshot(page, "13-ig-sharing-matrix")
    from policies import DEFAULT_POLICY_DIR

    proposed = tmp_path / "proposed.yaml"
    proposed.write_text((DEFAULT_POLICY_DIR / "mash.yaml").read_text().replace(
        "categories: [professionals, case-status, police-involvement]",
        "categories: [professionals, case-status]"))
    page.set_input_files("#proposed", str(proposed))
    page.click("button:has-text('Show what it changes')")
    changes = page.inner_text("main")
    assert "withdrawn" in changes and "police-involvement" in changes
    found["ig-policy-diff"] = axe_violations(page)
    keep_screenshot(page, "14-ig-policy-diff")
    assert {k: v for k, v in found.items() if v} == {}
    context.close()


def test_a_social_worker_cannot_open_ig_pages(site: Gateway, browser: Browser) -> None:
    context = browser.new_context()
    page = context.new_page()
    sign_in(page, site, "s.worker", "correct horse battery", "mash-triage")
    response = page.goto(f"{site.base}/ig/audit")
    assert response is not None and response.status == 403
    context.close()


def test_review_pages_decide_a_pair(site: Gateway, browser: Browser) -> None:
    from linkage.review.decisions import DecisionStore, decisions_path_for

    StaffRegistry(site.db.with_name("kinlink.users.duckdb")).add(
        "r.reviewer", "Robin Reviewer", "social_care", "linkage-reviewer", ["identity-review"],
        password="reviewing all day long")
    context = browser.new_context(bypass_csp=True)
    page = context.new_page()
    sign_in(page, site, "r.reviewer", "reviewing all day long", "identity-review")
    page.wait_for_url("**/review")
    assert "Record links to review" in page.inner_text("main")
    found = {"review-queue": axe_violations(page)}
    keep_screenshot(page, "08-review-queue")
    page.locator("button:has-text('Review')").first.click()
    page.wait_for_selector("h1:has-text('Are these the same person?')")
    assert page.locator(".govuk-tag").count() >= 3          # agree / differ / missing tags
    assert page.locator("svg[role=img]").count() == 1
    found["review-pair"] = axe_violations(page)
    keep_screenshot(page, "09-review-pair")
    page.check("input[value='different']")
    page.fill("#reason", "different mothers and schools on the two records")
    page.click("button:has-text('Record decision')")
    page.wait_for_url("**/review")
    stored = DecisionStore(decisions_path_for(site.db)).active()
    assert (stored["decided_by"] == "r.reviewer").any()
    assert {k: v for k, v in found.items() if v} == {}
    context.close()


def test_break_glass_is_explicit_shown_everywhere_and_audited(site: Gateway,
                                                              browser: Browser) -> None:
    child = child_details(site)
    context = browser.new_context(bypass_csp=True)
    page = context.new_page()
    sign_in(page, site, "s.worker", "correct horse battery", "s47-enquiry")   # no justification
    page.goto(f"{site.base}/child/{child['person']}")
    assert "Break-glass is on" not in page.inner_text("body")
    page.click("summary:has-text('immediate risk')")
    page.fill("#reason", "short")
    page.click("button:has-text('Use break-glass')")
    assert "Break-glass is not available" in page.inner_text("main")
    assert axe_violations(page) == []                     # the error page too
    page.goto(f"{site.base}/child/{child['person']}")
    page.click("summary:has-text('immediate risk')")
    page.fill("#reason", "Child missing overnight; police need the GP and school contacts now")
    page.click("button:has-text('Use break-glass')")
    page.wait_for_url(f"**/child/{child['person']}")
    assert "Break-glass is on" in page.inner_text("body")
    assert axe_violations(page) == []
    keep_screenshot(page, "15-break-glass")
    page.goto(f"{site.base}/find")
    assert "Break-glass is on" in page.inner_text("body")      # on every page while on
    page.click("button:has-text('End break-glass now')")
    assert "Break-glass is on" not in page.inner_text("body")
    context.close()


def test_find_a_child_with_javascript_switched_off(site: Gateway, browser: Browser) -> None:
    child = child_details(site)
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    sign_in(page, site, "s.worker", "correct horse battery", "mash-triage")
    page.wait_for_url("**/find")
    page.fill("#given_name", child["given"])
    page.fill("#family_name", child["family"])
    page.fill("#dob", child["dob"])
    page.click("button:has-text('Search')")
    page.click(f"a[href='/child/{child['person']}']")
    assert "Who knows this child" in page.inner_text("main")
    assert "Member since" in page.inner_text("main")
    # Summary first and the household picture need no script either.
    assert page.locator("#summary").is_visible()
    assert page.locator("#household svg[role=img]").count() == 1
    page.click("a:has-text('Print view for a strategy discussion')")
    assert "OFFICIAL-SENSITIVE" in page.inner_text("main")
    context.close()


CATEGORY_LABELS = {  # the data dictionary's labels for the synthetic extracts' columns
    "professionals": ("GP practice", "Health visitor", "Allocated social worker"),
    "safeguarding-flags": ("Health safeguarding concern recorded",),
    "education-attendance": ("School (URN)", "Attendance this year (%)"),
    "send": ("Special educational needs",),
    "case-status": ("Social care case",),
    "cp-plan": ("Child protection plan",),
    "police-involvement": ("Police incidents involving the child",),
    "criminal-offence": ("Offence recorded",),
}
#: The summary card's flag for each category that raises one.
FLAGS = {"cp-plan": "Child protection plan", "case-status": "Child in need (open case)",
         "safeguarding-flags": "Health safeguarding concern",
         "police-involvement": "Police involvement", "send": "Special educational needs"}


@pytest.fixture(scope="module")
def triage_page(site: Gateway, browser: Browser) -> Iterator[dict[str, object]]:
    """The child page as a social worker sees it for MASH triage, part by part."""
    child = child_details(site)
    context = browser.new_context()
    page = context.new_page()
    sign_in(page, site, "s.worker", "correct horse battery", "mash-triage")
    page.goto(f"{site.base}/child/{child['person']}")
    rows = page.locator("#summary .govuk-summary-list__row")
    summary = {rows.nth(i).locator("dt").inner_text().strip():
               rows.nth(i).locator("dd").inner_text().strip() for i in range(rows.count())}
    parts = {"records": page.inner_text("#records"), "who": page.inner_text("#who-knows"),
             "household": page.inner_text("#household") if page.locator("#household").count()
             else "", "withheld": page.inner_text("#withheld"), "summary": summary}
    context.close()
    yield parts


@pytest.mark.parametrize("category", sorted(CATEGORY_LABELS))
def test_each_withheld_category_is_never_shown(site: Gateway, triage_page: dict[str, Any],
                                               category: str) -> None:
    """Records, who-knows, the household and the summary card, for every data category: a
    category the purpose withholds is said to be withheld and never shown or summarised."""
    from policies import AccessRequest, load_policies

    decision = load_policies(as_of=POLICY_DATE).decide(AccessRequest(
        purpose="mash-triage", role="mash-social-worker", party="social_care",
        source_parties=frozenset({"health", "education", "social_care", "police"})))
    permitted = any(category in cats for cats in decision.permitted.values())
    shown = "\n".join((triage_page["records"], triage_page["who"], triage_page["household"]))
    flag = triage_page["summary"].get(FLAGS.get(category, ""), "")
    if permitted:
        assert category not in {w.category for w in decision.withheld
                                if w.source_party in decision.permitted}
        if category in FLAGS:
            assert not flag.startswith("Withheld"), flag
    else:
        assert not any(label in shown for label in CATEGORY_LABELS[category]), (category, shown)
        assert category in triage_page["withheld"], f"{category} withheld but not said to be"
        if category in FLAGS:
            assert flag.startswith("Withheld") and "Yes" not in flag and "No" not in flag, flag


def test_zz_every_page_view_of_personal_data_was_audited_first(site: Gateway) -> None:
    from tests.gateway.conftest import read_audit

    site.stop()
    events = read_audit(site.db)
    child_pages = [e for e in events if e.get("detail") == "child page"]
    assert child_pages and all(e["purpose"] and e["user_id"] for e in child_pages)
    # Exactly one child-page event for each child page the server answered.
    answered = [line for line in site.log_text().splitlines()
                if '"route": "/child/{person_id}"' in line
                and ('"status": 200' in line or '"status": 403' in line)]
    assert len(answered) == len(child_pages), (len(answered), len(child_pages))
    assert any(e["break_glass"] for e in child_pages), "break-glass views are flagged"
    searches = [e for e in events if e["event_type"] == "PatientQuery" and e.get("query")]
    assert searches, "each find-a-child search is audited with its query"
    family = [e for e in events if e.get("detail") == "member on a child page"]
    assert family, "each family member shown is audited as a subject"
    ig_reads = [e for e in events if e["event_type"] == "AuthorizationDecision"]
    assert {e.get("detail") for e in ig_reads} >= {"audit search page", "subject-access report page"}
    # Exactly one audit event for each IG page the server answered (permitted or refused).
    ig_answered = [line for line in site.log_text().splitlines()
                   if '"route": "/ig' in line and ('"status": 200' in line
                                                   or '"status": 403' in line)]
    assert len(ig_answered) == len(ig_reads), (len(ig_answered), len(ig_reads))
    reviews = [e for e in events if e["event_type"] == "ReviewDecision"]
    assert reviews and all(e["outcome"] == "permit" for e in reviews)
