"""Staff accounts outside the demo: ``kinlink users add | list | disable`` on a fresh install,
checked against the agreements, each change an audit event, and a disabled user's open session
ending at their next request."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from playwright.sync_api import Browser
from typer.testing import CliRunner

from audit.fhir_export import to_fhir
from gateway.users import StaffRegistry
from kinlink.cli import app
from tests.gateway.conftest import copy_index, read_audit, start_gateway
from tests.web.test_pages import axe_violations, browser

__all__ = ["browser"]

runner = CliRunner()


def users(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["users", *args])
    return result.exit_code, result.output


@pytest.fixture()
def fresh(tmp_path: Path) -> Path:
    """A directory where nothing has been set up: no users, no trail."""
    return tmp_path / "kinlink.duckdb"


def test_add_generates_a_password_once_and_it_signs_in(fresh: Path) -> None:
    code, out = users("add", "a.patel", "--agency", "police", "--role", "mash-police-officer",
                      "--db", str(fresh))
    assert code == 0, out
    password = out.rsplit(": ", 1)[1].strip()
    assert len(password) >= 12
    registry = StaffRegistry(fresh.with_name("kinlink.users.duckdb"))
    user = registry.authenticate("a.patel", password)
    assert user is not None and user.role == "mash-police-officer"
    # The purposes are the ones the agreements give this role, not a list typed by hand.
    assert set(user.purposes) == {"s47-enquiry", "strategy-discussion", "mash-triage",
                                  "s17-child-in-need", "missing-child"}
    code, listed = users("list", "--db", str(fresh))
    assert "a.patel" in listed and "enabled" in listed and password not in listed


def test_roles_agencies_and_purposes_are_checked_against_the_agreements(fresh: Path) -> None:
    code, out = users("add", "x", "--agency", "social_care", "--role", "mash-socialworker",
                      "--db", str(fresh))
    assert code == 2 and "'mash-socialworker' is in no clause" in out
    code, out = users("add", "x", "--agency", "fire_service", "--role", "mash-social-worker",
                      "--db", str(fresh))
    assert code == 2 and "'fire_service' is not a party" in out
    code, out = users("add", "x", "--agency", "social_care", "--role", "linkage-reviewer",
                      "--purposes", "identity-review,s47-enquiry", "--db", str(fresh))
    assert code == 2 and "'s47-enquiry' is not one the agreements allow" in out
    code, out = users("add", "x", "--agency", "social_care", "--role", "ig-officer",
                      "--db", str(fresh))
    assert code == 0 and "purposes: ig-oversight" in out
    code, out = users("add", "x", "--agency", "social_care", "--role", "ig-officer",
                      "--db", str(fresh))
    assert code == 2 and "already registered" in out
    refused = [e for e in read_audit(fresh) if e["event_type"] == "StaffAccountChange"]
    assert len(refused) == 1, "only the one change made is recorded"


def test_a_short_password_file_is_refused_naming_the_file_and_line(fresh: Path,
                                                                   tmp_path: Path) -> None:
    short = tmp_path / "pw.txt"
    short.write_text("tooshort\n")
    code, out = users("add", "b", "--agency", "health", "--role", "mash-health-practitioner",
                      "--password-file", str(short), "--db", str(fresh))
    assert code == 2 and f"{short}: line 1" in out
    assert not fresh.with_name("kinlink.users.duckdb").exists()   # nothing half-written


def test_every_change_is_an_audit_event_without_the_password(fresh: Path, tmp_path: Path) -> None:
    secret = tmp_path / "pw.txt"
    secret.write_text("a long enough passphrase\n")
    assert users("add", "c.jones", "--agency", "health", "--role", "mash-health-practitioner",
                 "--password-file", str(secret), "--db", str(fresh))[0] == 0
    assert users("disable", "c.jones", "--db", str(fresh))[0] == 0
    code, out = users("disable", "c.jones", "--db", str(fresh))
    assert code == 2 and "already disabled" in out
    code, out = users("disable", "nobody", "--db", str(fresh))
    assert code == 2 and "no user 'nobody'" in out
    events = [e for e in read_audit(fresh) if e["event_type"] == "StaffAccountChange"]
    assert [(e["action"], e["reference"]) for e in events] == [("C", "c.jones"), ("U", "c.jones")]
    assert all(str(e["user_id"]).startswith("os:") for e in events)
    assert not any("passphrase" in str(e) for e in events)
    assert to_fhir(1, events[1])["type"]["code"] == "110137"
    registry = StaffRegistry(fresh.with_name("kinlink.users.duckdb"))
    assert registry.authenticate("c.jones", "a long enough passphrase") is None
    assert "disabled 20" in users("list", "--db", str(fresh))[1]


def test_users_add_then_sign_in_through_the_pages_and_disable_ends_the_session(
        linked_population: Path, tmp_path: Path, browser: Browser) -> None:
    db = copy_index(linked_population, tmp_path / "install")
    secret = tmp_path / "pw.txt"
    secret.write_text("a fresh install password\n")
    code, out = users("add", "d.new", "--agency", "social_care", "--role", "mash-social-worker",
                      "--password-file", str(secret), "--display-name", "Dee New", "--db", str(db))
    assert code == 0, out
    gateway = start_gateway(db, tmp_path / "server.log")
    try:
        context = browser.new_context(bypass_csp=True)
        page = context.new_page()
        page.goto(gateway.base + "/sign-in")
        page.fill("#username", "d.new")
        page.fill("#password", "a fresh install password")
        page.click("button:has-text('Sign in')")
        page.wait_for_url("**/purpose")
        page.check("input[value='mash-triage']")
        page.click("button:has-text('Continue')")
        page.wait_for_url("**/find")
        assert "d.new" in page.inner_text("#signed-in-as")
        assert axe_violations(page) == []
        # While a DuckDB server holds the trail, the command refuses and changes nothing.
        code, out = users("disable", "d.new", "--db", str(db))
        assert code == 2 and "Nothing was changed" in out
        assert StaffRegistry(db.with_name("kinlink.users.duckdb")).is_active("d.new")
        # Disabled in the register (as the command does once it can write the trail), the open
        # session ends at its next request, without a restart.
        StaffRegistry(db.with_name("kinlink.users.duckdb")).disable(
            "d.new", datetime(2026, 12, 3, 9, 0, tzinfo=UTC))
        page.goto(gateway.base + "/find")
        assert "/oauth/authorize" in page.url
        page.fill("#username", "d.new")
        page.fill("#password", "a fresh install password")
        page.click("button:has-text('Sign in')")
        assert "Enter a correct username and password" in page.inner_text("main")
        context.close()
    finally:
        gateway.stop()
