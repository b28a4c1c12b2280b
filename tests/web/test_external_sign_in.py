"""Staff sign in to the pages through an external OpenID provider (a real oidc-provider on
loopback): authorization code with PKCE, the provider's own sign-in pages, back to kinlink with a
token the gateway validates through the configured claims adapter."""

from __future__ import annotations

import os
import shutil
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from playwright.sync_api import sync_playwright

from tests.gateway.conftest import Gateway, copy_index, free_port, start_gateway
from tests.gateway.test_external_issuer import AUDIENCE, _start_provider
from tests.web.test_pages import axe_violations


@pytest.fixture(scope="module")
def council_site(linked_population: Path,
                 tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    directory = tmp_path_factory.mktemp("council-pages")
    port = free_port()
    process, issuer = _start_provider(AUDIENCE, f"http://127.0.0.1:{port}/auth/callback")
    issuers = directory / "issuers.yaml"
    issuers.write_text(yaml.safe_dump({"issuers": [{
        "issuer": issuer, "audience": AUDIENCE, "algorithms": ["ES256"],
        "claims": {"client_id": "client_id", "agency": "council_agency", "role": "council_role",
                   "purposes": "council_purposes", "user": "sub"},
        "pages": {"name": "Wessex County Council staff sign-in", "client_id": "kinlink-pages",
                  "client_secret_env": "TEST_PAGES_SECRET", "scope": "openid kinlink"}}]}))
    os.environ["KINLINK_ISSUERS"] = str(issuers)
    os.environ["TEST_PAGES_SECRET"] = "pages-secret"
    try:
        gateway = start_gateway(copy_index(linked_population, directory),
                                directory / "server.log", port=port)
    finally:
        del os.environ["KINLINK_ISSUERS"]
    yield gateway
    gateway.stop()
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=10)


def test_staff_sign_in_through_the_council_identity_provider(council_site: Gateway) -> None:
    chromium = shutil.which("chromium")
    assert chromium, "Debian's chromium is required (.ci/run installs it)"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        page = browser.new_page(bypass_csp=True)
        page.goto(council_site.base + "/")
        page.click("a:has-text('Sign in')")
        page.wait_for_selector("h1:has-text('How do you want to sign in?')")
        assert axe_violations(page) == []
        page.click("a:has-text('Wessex County Council staff sign-in')")
        page.wait_for_selector("input[name=login]")           # the provider's own page
        page.fill("input[name=login]", "pat.officer")
        page.fill("input[name=password]", "anything")
        page.click("button[type=submit]")
        page.wait_for_selector("button[type=submit]")         # the provider's consent page
        page.click("button[type=submit]")
        page.wait_for_url(f"{council_site.base}/purpose")
        banner = page.inner_text("body")
        assert "pat.officer" in banner and "MASH police officer" in banner   # the role, in words
        assert page.locator("input[value='s47-enquiry']").count() == 1
        browser.close()


def test_an_unreachable_sign_in_provider_is_a_clear_page_not_a_crash(
        linked_population: Path, tmp_path: Path) -> None:
    """The council's provider is down (nothing listens at its address): staff get a page saying
    so (503), and the gateway keeps serving."""
    closed = free_port()
    issuers = tmp_path / "issuers.yaml"
    issuers.write_text(yaml.safe_dump({"issuers": [{
        "issuer": f"http://127.0.0.1:{closed}/oidc", "audience": AUDIENCE,
        "algorithms": ["ES256"],
        "claims": {"client_id": "client_id", "agency": "council_agency", "role": "council_role",
                   "purposes": "council_purposes", "user": "sub"},
        "pages": {"name": "Wessex County Council staff sign-in", "client_id": "kinlink-pages",
                  "client_secret": "unused", "scope": "openid"}}]}))
    os.environ["KINLINK_ISSUERS"] = str(issuers)
    try:
        gateway = start_gateway(copy_index(linked_population, tmp_path), tmp_path / "server.log")
    finally:
        del os.environ["KINLINK_ISSUERS"]
    try:
        import httpx

        with httpx.Client(base_url=gateway.base) as client:
            client.get("/sign-in")
            answer = client.get("/sign-in/issuer/0")
            assert answer.status_code == 503
            assert "Sign-in is not available" in answer.text
            assert client.get("/healthz").status_code == 200
    finally:
        gateway.stop()
