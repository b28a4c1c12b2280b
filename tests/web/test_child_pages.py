"""The pages a MASH worker chooses, in Debian's chromium against a real ``kinlink serve``:
candidates people can tell apart, the child page summary first with the household as a picture,
the print view for a strategy discussion, and IG's charts — each axe-clean, each audited once
per subject shown, and the household never drawing a member the purpose withholds."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from playwright.sync_api import Browser, Page

from gateway.users import StaffRegistry
from tests.gateway.conftest import Gateway, copy_index, read_audit, start_gateway
from tests.web.conftest import keep_screenshot
from tests.web.test_pages import (
    JUSTIFICATION,
    axe_violations,
    browser,
    child_details,
    sign_in,
)

__all__ = ["browser"]

@pytest.fixture(scope="module")
def site(linked_population: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    directory = tmp_path_factory.mktemp("child-pages")
    db = copy_index(linked_population, directory)
    registry = StaffRegistry(db.with_name("kinlink.users.duckdb"))
    registry.add("s.worker", "Sam Worker", "social_care", "mash-social-worker",
                 ["s47-enquiry", "mash-triage", "strategy-discussion"],
                 password="correct horse battery")
    registry.add("r.reviewer", "Robin Reviewer", "social_care", "linkage-reviewer",
                 ["identity-review"], password="reviewing all day long")
    registry.add("i.governance", "Ivy Governance", "social_care", "ig-officer",
                 ["ig-oversight"], password="another correct horse")
    gateway = start_gateway(db, directory / "server.log")
    yield gateway
    gateway.stop()


def s47_page(site: Gateway, browser: Browser, javascript: bool = True) -> Page:
    context = browser.new_context(bypass_csp=True, java_script_enabled=javascript)
    page = context.new_page()
    page.goto(site.base + "/sign-in")
    page.fill("#username", "s.worker")
    page.fill("#password", "correct horse battery")
    page.click("button:has-text('Sign in')")
    page.wait_for_url("**/purpose")
    page.check("input[value='s47-enquiry']")
    page.fill("#reference", "REF-2026-0042")
    page.fill("#justification", JUSTIFICATION)
    page.click("button:has-text('Continue')")
    page.wait_for_url("**/find")
    return page


def test_candidates_can_be_told_apart(site: Gateway, browser: Browser) -> None:
    child = child_details(site)
    page = s47_page(site, browser)
    page.fill("#family_name", child["family"])
    page.fill("#dob", child["dob"])
    page.click("button:has-text('Search')")
    page.wait_for_selector("h1:has-text('Possible matches')")
    card = page.locator(".govuk-summary-card", has=page.locator(
        f"a[href='/child/{child['person']}']"))
    text = card.inner_text()
    assert child["given"] in text and child["family"] in text and child["dob"] in text
    assert re.search(r"Age\s+\d+", text), text
    assert re.search(r"Area\s+[A-Z]{1,2}\d[A-Z\d]? postcode district", text), text
    assert "Health" in text and "Police" in text                 # who knows them
    assert re.search(r"(Certain|Probable|Possible)\s+[\d.]+% likely", text), text
    # The waterfall is one click away, and every chart has its own accessible name.
    assert card.locator("details svg[role=img]").count() == 1
    titles = page.locator("svg[role=img] title").evaluate_all("ts => ts.map(t => t.id)")
    assert len(titles) == len(set(titles))
    card.locator("summary").click()
    assert card.locator("details table").is_visible()
    assert axe_violations(page) == []
    keep_screenshot(page, "05-results")
    page.context.close()


def test_a_triage_search_says_what_the_card_withholds(site: Gateway, browser: Browser) -> None:
    child = child_details(site)
    context = browser.new_context()
    page = context.new_page()
    sign_in(page, site, "s.worker", "correct horse battery", "mash-triage")
    page.fill("#family_name", child["family"])
    page.fill("#dob", child["dob"])
    page.click("button:has-text('Search')")
    card = page.locator(".govuk-summary-card", has=page.locator(
        f"a[href='/child/{child['person']}']")).inner_text()
    # Triage sees identity, address and involvements (MASH-3.1), nothing of the records.
    assert child["given"] in card and "Known to" in card
    context.close()


def test_the_child_page_is_summary_first_with_the_household_as_a_picture(
        site: Gateway, browser: Browser) -> None:
    child = child_details(site)
    page = s47_page(site, browser)
    page.goto(f"{site.base}/child/{child['person']}")
    main = page.inner_text("main")
    assert main.index("Summary") < main.index("Who knows this child") < main.index("Records")
    summary = page.inner_text("#summary")
    assert child["given"] in summary and child["dob"] in summary
    assert re.search(r"\(age \d+\)", summary)
    nhs = re.search(r"NHS number\s+(\S.*)", summary)
    assert nhs and re.fullmatch(r"\d{3} \d{3} \d{4}", nhs.group(1).strip()), summary
    for flag in ("Child protection plan", "Health safeguarding concern", "Police involvement"):
        assert re.search(rf"{flag}\s+(Yes|No|Not recorded)", summary), (flag, summary)
    who = page.inner_text("#who-knows")
    assert "Health" in who and "Police" in who and "GP practice:" in who
    # The household: a picture with its table twin, the child marked in both.
    svg = page.locator("#household svg[role=img]")
    assert svg.count() == 1 and "Household picture" in (svg.locator("title").text_content() or "")
    assert "this child" in page.inner_text("#household table")
    font = svg.evaluate("s => getComputedStyle(s.querySelector('text')).fontFamily")
    assert font.startswith("system-ui") and "GDS" not in font and "Times" not in font, font
    # Records carry the data dictionary's labels, not column names.
    records = page.inner_text("#records")
    assert "Date of birth" in records and "Dob" not in records and "Nhs number" not in records
    assert axe_violations(page) == []
    keep_screenshot(page, "06-child")
    page.context.close()


def test_disagreements_between_agencies_are_highlighted(site: Gateway, browser: Browser) -> None:
    """A child whose agencies spell the family name differently gets the warning and the table
    saying who records which."""
    with duckdb.connect(str(site.db), read_only=True) as con:
        row = con.execute(
            """SELECT l.person_id FROM record_links l JOIN source_records s USING (unique_id)
               WHERE s.dob > '2010-01-01' GROUP BY 1
               HAVING count(DISTINCT lower(s.family_name)) > 1 ORDER BY 1 LIMIT 1""").fetchone()
    assert row, "the population has a child recorded under two family names"
    page = s47_page(site, browser)
    page.goto(f"{site.base}/child/{row[0]}")
    assert "records disagree about name" in page.inner_text("main")
    table = page.inner_text("#disagreements + table")
    assert table.count("\n") >= 2
    assert page.locator(".kinlink-disagree").count() >= 2
    assert axe_violations(page) == []
    keep_screenshot(page, "16-child-disagreements")
    page.context.close()


def _family_with_refused_member(db: Path) -> tuple[str, str]:
    """(a person to open, a member of their household whose adoption marker refuses them)."""
    with duckdb.connect(str(db), read_only=True) as con:
        row = con.execute(
            """WITH marked AS (
                   SELECT DISTINCT l.person_id FROM record_links l JOIN source_records s
                   USING (unique_id)
                   WHERE json_extract_string(s.attributes, '$.restriction') = 'adoption')
               SELECT o.person_id, m.person_id FROM marked k
               JOIN family_members m ON m.person_id = k.person_id
               JOIN family_members o ON o.family_id = m.family_id
                    AND o.person_id NOT IN (SELECT person_id FROM marked)
               ORDER BY 1 LIMIT 1""").fetchone()
    assert row, "the population has an adopted child in a household with others"
    return row[0], row[1]


def test_a_household_member_the_purpose_refuses_is_counted_not_drawn(
        site: Gateway, browser: Browser) -> None:
    subject, refused = _family_with_refused_member(site.db)
    page = s47_page(site, browser)
    page.goto(f"{site.base}/child/{subject}")
    household = page.inner_text("#household")
    assert re.search(r"\d+ other members? (is|are) not shown for your purpose", household)
    assert refused not in page.content()                  # not a box, a link, or an ID
    assert "not shown for your purpose" in (page.locator("#household svg title").text_content() or "")
    page.context.close()


def test_without_the_family_category_no_household_is_drawn(site: Gateway,
                                                           browser: Browser) -> None:
    """Identity review releases identity and address only: the page has no household at all,
    and no other member's ID appears anywhere on it."""
    subject, _ = _family_with_refused_member(site.db)
    with duckdb.connect(str(site.db), read_only=True) as con:
        members = [r[0] for r in con.execute(
            """SELECT DISTINCT o.person_id FROM family_members m JOIN family_members o
               USING (family_id) WHERE m.person_id = ? AND o.person_id <> ?""",
            [subject, subject]).fetchall()]
    assert members
    context = browser.new_context(bypass_csp=True)
    page = context.new_page()
    sign_in(page, site, "r.reviewer", "reviewing all day long", "identity-review")
    page.goto(f"{site.base}/child/{subject}")
    assert page.locator("#household").count() == 0
    html = page.content()
    assert not [m for m in members if m in html]
    assert "family" in page.inner_text("#withheld")
    assert axe_violations(page) == []
    context.close()


def test_the_print_view_is_marked_and_names_purpose_reference_and_printer(
        site: Gateway, browser: Browser) -> None:
    child = child_details(site)
    page = s47_page(site, browser)
    page.goto(f"{site.base}/child/{child['person']}")
    page.click("a:has-text('Print view for a strategy discussion')")
    page.wait_for_url(f"**/child/{child['person']}/print")
    context_text = page.inner_text("#print-context")
    assert "Child protection enquiry" in context_text and "REF-2026-0042" in context_text
    assert "s.worker" in context_text
    assert page.inner_text("main").count("OFFICIAL-SENSITIVE") == 2
    assert "/print" in page.url and child["given"].lower() not in page.url.lower()
    assert axe_violations(page) == []
    keep_screenshot(page, "17-child-print")
    page.emulate_media(media="print")
    assert not page.locator(".govuk-service-navigation").is_visible()
    assert not page.locator(".kinlink-no-print").first.is_visible()
    assert page.locator("#summary").is_visible()
    pdf = page.pdf(format="A4")
    assert pdf.startswith(b"%PDF") and len(pdf) > 10_000
    page.context.close()


def test_ig_sees_access_patterns_as_charts_with_tables(site: Gateway, browser: Browser) -> None:
    context = browser.new_context(bypass_csp=True)
    page = context.new_page()
    sign_in(page, site, "i.governance", "another correct horse", "ig-oversight")
    page.wait_for_url("**/ig")
    page.click("a:has-text('Access patterns')")
    page.wait_for_url("**/ig/activity")
    assert page.locator("svg[role=img]").count() == 4
    agency = page.locator("#by-agency table")
    # The earlier tests read children's records as a social worker: today's row counts them.
    totals = agency.locator("tbody tr td:last-child").all_inner_texts()
    assert totals and sum(int(t) for t in totals) > 0
    assert "Children's social care" in agency.inner_text()
    assert axe_violations(page) == []
    keep_screenshot(page, "18-ig-activity")
    page.goto(f"{site.base}/ig/anomalies")
    assert page.locator("#findings svg[role=img]").count() == 1
    assert axe_violations(page) == []
    keep_screenshot(page, "11-ig-anomalies")
    # The subject-access report prints as a clean document: no navigation, no links out.
    page.goto(f"{site.base}/ig/subject-access/{child_details(site)['person']}")
    page.emulate_media(media="print")
    assert not page.locator(".govuk-service-navigation").is_visible()
    assert page.locator("table").first.is_visible()
    assert page.pdf(format="A4").startswith(b"%PDF")
    context.close()


def test_zz_exactly_one_audit_event_per_subject_shown(site: Gateway) -> None:
    site.stop()
    events = read_audit(site.db)
    log = site.log_text().splitlines()

    def answered(route: str) -> int:
        return sum(1 for line in log if f'"route": "{route}"' in line
                   and ('"status": 200' in line or '"status": 403' in line))

    prints = [e for e in events if e.get("detail") == "child page print"]
    assert prints and len(prints) == answered("/child/{person_id}/print")
    assert all(e["purpose"] == "s47-enquiry" and e["reference"] == "REF-2026-0042"
               and e["user_id"] == "s.worker" for e in prints)
    pages = [e for e in events if e.get("detail") == "child page"]
    assert len(pages) == answered("/child/{person_id}")
    # Each child page names each household member once: no subject twice in one page's batch.
    for detail in ("member on a child page", "member on a child page print"):
        members = Counter((e["token_jti"], e["subject_person_id"])
                          for e in events if e.get("detail") == detail)
        assert members and max(members.values()) == 1, detail
    candidates = [e for e in events if str(e.get("detail", "")).startswith("resolution candidate")]
    assert candidates and all(set(e["categories_released"]) <= {"identity", "address",
                                                                "involvements"}
                              for e in candidates if e["outcome"] == "permit")
    activity = [e for e in events if e.get("detail") == "access activity page"]
    assert len(activity) == answered("/ig/activity")
