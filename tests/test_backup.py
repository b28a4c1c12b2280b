"""Backup and restore of a whole install, with the audit trail verified on the restored copy."""

from __future__ import annotations

from pathlib import Path

import duckdb
from typer.testing import CliRunner

from audit import AuditEvent, AuditTrail, audit_path_for
from gateway.clients import ClientRegistry
from gateway.keys import KeyStore
from gateway.settings import GatewaySettings
from kinlink.cli import app
from linkage.synth import generate_population
from tests.conftest import POLICY_DATE

runner = CliRunner()


def test_backup_restore_and_a_tampered_backup(tmp_path: Path) -> None:
    generate_population(tmp_path / "extracts", families=60, seed=4)
    db = tmp_path / "live" / "kinlink.duckdb"
    assert runner.invoke(app, ["link", "--sources", str(tmp_path / "extracts"),
                               "--db", str(db)]).exit_code == 0
    settings = GatewaySettings(db_path=db)
    ClientRegistry(settings.clients_path).add("c", "police", "r", ["mash-triage"])
    KeyStore(settings.keys_dir).active()
    trail = AuditTrail.open(audit_path_for(db))
    trail.append([AuditEvent(event_type="PatientRead", outcome="permit",
                             subject_person_id=f"P{i}") for i in range(20)])
    trail.checkpoint()
    held = runner.invoke(app, ["backup", "--db", str(db), "--out", str(tmp_path / "b")])
    assert held.exit_code != 0 and "held by a running process" in held.output
    trail.close()

    made = runner.invoke(app, ["backup", "--db", str(db), "--out", str(tmp_path / "b")])
    assert made.exit_code == 0, made.output
    backup = next((tmp_path / "b").iterdir())
    assert (backup / "kinlink.keys").is_dir() and (backup / "kinlink.audit.signing-key").exists()

    restored = tmp_path / "restored" / "site.duckdb"
    result = runner.invoke(app, ["restore", "--from", str(backup), "--db", str(restored)])
    assert result.exit_code == 0, result.output
    assert "audit trail verified: 20 events" in result.output
    with duckdb.connect(str(db), read_only=True) as a, \
            duckdb.connect(str(restored), read_only=True) as b:
        query = "SELECT unique_id, person_id FROM record_links ORDER BY 1"
        assert a.execute(query).fetchall() == b.execute(query).fetchall()
    again = runner.invoke(app, ["restore", "--from", str(backup), "--db", str(restored)])
    assert again.exit_code == 2 and "--force" in again.output

    # A backup altered after it was taken is refused before anything is copied.
    with duckdb.connect(str(backup / "kinlink.audit.duckdb")) as con:
        con.execute("UPDATE audit_events SET subject_person_id = 'PX' WHERE seq = 3")
    tampered = runner.invoke(app, ["restore", "--from", str(backup),
                                   "--db", str(tmp_path / "other" / "x.duckdb")])
    assert tampered.exit_code == 1 and "does not match its hash" in tampered.output


def test_postgresql_backup_is_restored_into_a_new_database_and_verified(
        tmp_path: Path, postgres_url: str, postgres_admin_url: str) -> None:
    """pg_dump of a live install (index generations, audit trail, registers) and its key files;
    the restore goes into an empty database and verifies the trail with the restored key; a
    backup whose audit key was swapped is refused by its manifest."""
    import uuid

    import psycopg

    from linkage.index import connect_index

    generate_population(tmp_path / "extracts", families=30, seed=4)
    assert runner.invoke(app, ["link", "--sources", str(tmp_path / "extracts"),
                               "--db", postgres_url]).exit_code == 0
    key = tmp_path / "audit.signing-key"
    trail = AuditTrail.open(postgres_url, key_path=key)   # the gateway keeps running
    trail.append([AuditEvent(event_type="PatientRead", outcome="permit",
                             subject_person_id=f"P{i}") for i in range(12)])
    trail.checkpoint()
    ClientRegistry(postgres_url).add("c", "police", "r", ["mash-triage"])
    keys = tmp_path / "keys"
    KeyStore(keys).active()
    made = runner.invoke(app, ["backup", "--db", postgres_url, "--out", str(tmp_path / "b"),
                               "--audit-key", str(key), "--keys-dir", str(keys)])
    assert made.exit_code == 0, made.output
    trail.close()
    backup = next((tmp_path / "b").iterdir())
    assert (backup / "database.dump").stat().st_size > 0 and any((backup / "keys").iterdir())

    base = postgres_admin_url.rsplit("/", 1)[0]
    targets = []
    try:
        for _ in range(2):
            name = f"restore_{uuid.uuid4().hex[:8]}"
            with psycopg.connect(postgres_admin_url, autocommit=True) as admin:
                admin.execute(f'CREATE DATABASE "{name}"')
            targets.append(f"{base}/{name}")
        restored = runner.invoke(app, ["restore", "--from", str(backup), "--db", targets[0]])
        said = " ".join(restored.output.split())
        assert restored.exit_code == 0 and "audit trail verified: 12 events" in said, said
        with connect_index(targets[0]) as copy, connect_index(postgres_url) as live:
            query = "SELECT person_id, unique_id FROM record_links ORDER BY 2"
            assert copy.execute(query).fetchall() == live.execute(query).fetchall()
        again = runner.invoke(app, ["restore", "--from", str(backup), "--db", targets[0]])
        assert again.exit_code == 1 and "not empty" in " ".join(again.output.split())

        (backup / "audit.signing-key").write_bytes(b"x" * 32)   # a different key
        swapped = runner.invoke(app, ["restore", "--from", str(backup), "--db", targets[1]])
        assert swapped.exit_code == 1 and "does not match its hash" in " ".join(
            swapped.output.split())
    finally:
        from stores.database import close_pools

        close_pools()
        with psycopg.connect(postgres_admin_url, autocommit=True) as admin:
            for target in targets:
                admin.execute(f'DROP DATABASE IF EXISTS "{target.rsplit("/", 1)[1]}" WITH (FORCE)')


def test_a_restored_install_signs_its_staff_in_and_keeps_their_sessions(tmp_path: Path) -> None:
    """The staff register and the session secret travel with a backup: a user signs in on the
    restored copy with the same password, a session begun before the backup still holds there,
    and the restored trail verifies."""
    from urllib.parse import parse_qs, urlsplit

    from fastapi.testclient import TestClient

    from gateway.app import create_app
    from gateway.users import StaffRegistry

    generate_population(tmp_path / "extracts", families=20, seed=4)
    db = tmp_path / "live" / "kinlink.duckdb"
    assert runner.invoke(app, ["link", "--sources", str(tmp_path / "extracts"),
                               "--db", str(db)]).exit_code == 0
    settings = GatewaySettings(db_path=db, issuer="http://testserver", policy_date=POLICY_DATE)
    StaffRegistry(settings.users_path).add("u", "U", "social_care", "mash-social-worker",
                                           ["mash-triage"], password="pw-pw-pw-pw")

    def sign_in(client: TestClient) -> None:
        start = client.get("/sign-in", follow_redirects=False)
        params = {k: v[0] for k, v in parse_qs(urlsplit(start.headers["location"]).query).items()}
        form = {k: params[k] for k in ("client_id", "redirect_uri", "code_challenge", "state")}
        done = client.post("/oauth/authorize",
                           data={**form, "username": "u", "password": "pw-pw-pw-pw"})
        assert done.status_code == 200 and done.url.path == "/purpose"

    with TestClient(create_app(settings)) as live:
        sign_in(live)
        cookies = dict(live.cookies)
    made = runner.invoke(app, ["backup", "--db", str(db), "--out", str(tmp_path / "b")])
    assert made.exit_code == 0, repr(made.output)
    backup = next((tmp_path / "b").iterdir())
    assert (backup / "kinlink.users.duckdb").is_file()
    assert (backup / "kinlink.keys" / "session.secret").is_file()

    restored = tmp_path / "empty" / "site.duckdb"
    result = runner.invoke(app, ["restore", "--from", str(backup), "--db", str(restored)])
    assert result.exit_code == 0, result.output
    assert "audit trail verified" in " ".join(result.output.split())
    copy = GatewaySettings(db_path=restored, issuer="http://testserver", policy_date=POLICY_DATE)
    with TestClient(create_app(copy)) as fresh:
        sign_in(fresh)
    with TestClient(create_app(copy), cookies=cookies) as carried:
        assert carried.get("/purpose", follow_redirects=False).status_code == 200
