"""The layout every page shares (GOV.UK Frontend 6 service navigation, no crown, system font):
each section is offered by the purposes the user's token grants, sign-out sits in the navigation,
and who is signed in and why is on every page."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Browser

from gateway.users import StaffRegistry
from gateway.web.pages import STYLES
from tests.gateway.conftest import Gateway
from tests.web.test_pages import axe_violations, browser, sign_in, site

__all__ = ["browser", "site"]


def test_the_stylesheet_uses_a_system_font_and_never_gds_transport() -> None:
    css = (STYLES / "kinlink.min.css").read_text()
    assert "GDS Transport" not in css and "@font-face" not in css
    assert "font-family:system-ui" in css


def test_navigation_follows_the_purposes_granted(site: Gateway, browser: Browser) -> None:
    StaffRegistry(site.db.with_name("kinlink.users.duckdb")).add(
        "i.layout", "Ivy Layout", "social_care", "ig-officer", ["ig-oversight"],
        password="layout checking password")
    seen: dict[str, list[str]] = {}
    for user, password, purpose in (("s.worker", "correct horse battery", "mash-triage"),
                                    ("i.layout", "layout checking password", "ig-oversight")):
        context = browser.new_context(bypass_csp=True)
        page = context.new_page()
        sign_in(page, site, user, password, purpose)
        page.wait_for_url("**/find" if purpose == "mash-triage" else "**/ig")
        nav = page.locator("nav[aria-label=Menu]")
        seen[user] = [t.strip() for t in nav.locator("li").all_inner_texts()]
        assert nav.locator("[aria-current=true]").count() == 1
        banner = page.inner_text("#signed-in-as")
        assert user in banner and "Purpose:" in banner
        assert page.locator(".govuk-header__logotype, .govuk-header__homepage-link").count() == 0
        font = page.evaluate("getComputedStyle(document.querySelector('h1')).fontFamily")
        assert "GDS Transport" not in font and "system-ui" in font
        assert axe_violations(page) == []
        if user == "s.worker":
            page.screenshot(path=str(Path(__file__).parent / "artefacts" / "00-layout.png"))
            page.click("nav >> text=Sign out")
            page.wait_for_url(f"{site.base}/")
            assert page.locator("nav[aria-label=Menu]").count() == 0
        context.close()
    assert seen["s.worker"] == ["Find a child", "Sign out"]
    assert seen["i.layout"] == ["Information governance", "Who looked at our records", "Sign out"]
