"""``kinlink clients add|list``, ``kinlink keys rotate`` and the demo's clients."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gateway.clients import ClientRegistry
from gateway.demo import DEMO_CLIENTS, ensure_demo_clients, example_person
from gateway.keys import KeyStore
from gateway.settings import GatewaySettings
from kinlink.cli import app
from tests.gateway.conftest import copy_index

runner = CliRunner()


def test_clients_add_prints_working_credentials(tmp_path: Path) -> None:
    db = tmp_path / "kinlink.duckdb"
    result = runner.invoke(app, ["clients", "add", "school-system", "--agency", "education",
                                 "--role", "school-dsl", "--purposes", "education-welfare",
                                 "--db", str(db)])
    assert result.exit_code == 0, result.output
    creds = json.loads(result.output)
    registry = ClientRegistry(GatewaySettings(db_path=db).clients_path)
    client = registry.authenticate(creds["client_id"], creds["client_secret"])
    assert client is not None and client.purposes == ("education-welfare",)
    assert registry.authenticate(creds["client_id"], "guess") is None
    listed = runner.invoke(app, ["clients", "list", "--db", str(db)])
    assert creds["client_id"] in listed.output and creds["client_secret"] not in listed.output


def test_clients_add_refuses_an_unknown_purpose(tmp_path: Path) -> None:
    result = runner.invoke(app, ["clients", "add", "x", "--agency", "police", "--role", "r",
                                 "--purposes", "s47-enquiry,nosiness",
                                 "--db", str(tmp_path / "k.duckdb")])
    assert result.exit_code == 2 and "nosiness" in result.output


@pytest.mark.parametrize(("option", "value", "known"), [
    ("--role", "mash-health", "mash-health-practitioner"),
    ("--agency", "helth", "health"),
])
def test_clients_add_refuses_a_role_or_agency_no_agreement_defines(
        tmp_path: Path, option: str, value: str, known: str) -> None:
    """Such a client would be denied everything; the typo is named with the names that exist."""
    args = {"--agency": "health", "--role": "mash-health-practitioner", option: value}
    result = runner.invoke(app, ["clients", "add", "x", *[x for kv in args.items() for x in kv],
                                 "--purposes", "s47-enquiry", "--db", str(tmp_path / "k.duckdb")])
    assert result.exit_code == 2, result.output
    assert repr(value) in result.output and known in result.output
    assert not (tmp_path / "k.clients.duckdb").exists() or not ClientRegistry(
        GatewaySettings(db_path=tmp_path / "k.duckdb").clients_path).list()


def test_keys_rotate_keeps_the_previous_key_published(tmp_path: Path) -> None:
    db = tmp_path / "kinlink.duckdb"
    keys = KeyStore(GatewaySettings(db_path=db).keys_dir)
    first = keys.active()
    result = runner.invoke(app, ["keys", "rotate", "--db", str(db)])
    assert result.exit_code == 0
    kids = [k["kid"] for k in keys.jwks()["keys"]]
    assert first.kid in kids and keys.active().kid != first.kid
    assert stat.S_IMODE((keys.directory / f"{keys.active().kid}.pem").stat().st_mode) == 0o600


def test_demo_clients_are_minted_once_and_work(linked_population: Path, tmp_path: Path) -> None:
    db = copy_index(linked_population, tmp_path)
    settings = GatewaySettings(db_path=db)
    first = ensure_demo_clients(settings)
    assert set(first) == {c.name for c in DEMO_CLIENTS}
    again = ensure_demo_clients(settings)
    assert again == first
    registry = ClientRegistry(settings.clients_path)
    for entry in first.values():
        assert registry.authenticate(entry["client_id"], entry["client_secret"]) is not None
    assert example_person(db) is not None


def test_demo_staff_can_sign_in(linked_population: Path, tmp_path: Path) -> None:
    from gateway.demo import ensure_demo_staff
    from gateway.users import StaffRegistry

    db = copy_index(linked_population, tmp_path)
    settings = GatewaySettings(db_path=db)
    passwords = ensure_demo_staff(settings)
    assert ensure_demo_staff(settings) == passwords
    registry = StaffRegistry(settings.users_path)
    user = registry.authenticate("social.worker", passwords["social.worker"])
    assert user is not None and user.role == "mash-social-worker"
    assert registry.authenticate("social.worker", "wrong") is None
