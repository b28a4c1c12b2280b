"""The designated officer's journey in a real browser (Debian's chromium, Playwright) against a
real ``kinlink serve`` (issue 17 item 1): a social worker opens a child's page, once under
break-glass; the health agency's IG officer then finds, from the service navigation, who looked
at health's records about that child, filters by the child with no person ID in any URL, with
axe-core finding nothing serious or critical, and the same with JavaScript switched off."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser

from gateway.users import StaffRegistry
from tests.gateway.conftest import Gateway
from tests.web.conftest import keep_screenshot
from tests.web.test_pages import axe_violations, browser, child_details, sign_in, site

__all__ = ["browser", "site"]

REASON = "Child missing overnight; police need the GP and school contacts now"


@pytest.fixture(scope="module")
def looked(site: Gateway, browser: Browser) -> Iterator[dict[str, str]]:
    """Health's IG officer, and the disclosures health is told of: a social worker's triage
    view of a child, then one under break-glass."""
    StaffRegistry(site.db.with_name("kinlink.users.duckdb")).add(
        "h.caldicott", "Hana Caldicott", "health", "ig-officer", ["ig-oversight"],
        password="designated officer password")
    child = child_details(site)
    person = child["person"]
    context = browser.new_context()
    page = context.new_page()
    sign_in(page, site, "s.worker", "correct horse battery", "mash-triage")
    page.goto(f"{site.base}/child/{person}")
    assert "Who knows this child" in page.inner_text("main")
    page.click("a:has-text('Change purpose')")
    page.check("input[value='s47-enquiry']")
    page.click("button:has-text('Continue')")
    page.goto(f"{site.base}/child/{person}")
    page.click("summary:has-text('immediate risk')")
    page.fill("#reason", REASON)
    page.click("button:has-text('Use break-glass')")
    page.wait_for_url(f"**/child/{person}")
    assert "Break-glass is on" in page.inner_text("body")
    context.close()
    yield child


def test_the_designated_officer_sees_who_looked_at_a_child(
        site: Gateway, browser: Browser, looked: dict[str, str]) -> None:
    child = looked
    context = browser.new_context(bypass_csp=True)   # only so axe can be injected
    page = context.new_page()
    urls: list[str] = []
    page.on("request", lambda r: urls.append(r.url))
    sign_in(page, site, "h.caldicott", "designated officer password", "ig-oversight")
    page.wait_for_url("**/ig")
    page.click("nav[aria-label=Menu] >> text=Who looked at our records")
    page.wait_for_url("**/ig/notifications")
    assert page.locator("nav [aria-current=true]").inner_text() == "Who looked at our records"
    found = {"ig-notifications": axe_violations(page)}
    keep_screenshot(page, "20-ig-notifications")
    table = page.locator("#notifications tbody tr")
    assert table.count() >= 2
    who = {table.nth(i).locator("td").nth(2).inner_text() for i in range(table.count())}
    assert all(w == "Children's social care, MASH social worker, user s.worker" for w in who), who
    page.fill("#person", child["person"])
    page.keyboard.press("Enter")                      # the form submits from the keyboard
    page.wait_for_selector("caption:has-text('matching')")
    rows = page.locator("#notifications tbody tr")
    assert rows.count() >= 2
    for i in range(rows.count()):
        assert rows.nth(i).locator("td").nth(1).inner_text() == child["person"]
    how = page.inner_text("#notifications tbody")
    assert "Break-glass" in how and "Under the agreement" in how
    assert "MASH-3.1" in how and "Identity" in how
    assert REASON not in page.content() and child["given"] not in page.inner_text("main")
    found["ig-notifications-filtered"] = axe_violations(page)
    keep_screenshot(page, "21-ig-notifications-child")
    page.fill("#person", "")
    page.fill("#since", "not a date")
    page.click("button:has-text('Show notifications')")
    assert "There is a problem" in page.inner_text("main")
    found["ig-notifications-error"] = axe_violations(page)
    assert all(child["person"] not in url for url in urls), "a person ID travelled in a URL"
    assert {k: v for k, v in found.items() if v} == {}
    context.close()


def test_the_officers_page_works_with_javascript_switched_off(
        site: Gateway, browser: Browser, looked: dict[str, str]) -> None:
    child = looked
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    sign_in(page, site, "h.caldicott", "designated officer password", "ig-oversight")
    page.wait_for_url("**/ig")
    page.click("a:has-text('Who looked at our records')")
    page.fill("#person", child["person"])
    page.fill("#since", "2000-01-01")
    page.click("button:has-text('Show notifications')")
    assert "matching, newest first" in page.inner_text("main")
    rows = page.locator("#notifications tbody tr")
    assert rows.count() >= 1
    assert rows.first.locator("td").nth(1).inner_text() == child["person"]
    context.close()
