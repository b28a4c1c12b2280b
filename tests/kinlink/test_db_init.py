"""`kinlink db init`: the gateway's database role can do its whole job and nothing more."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import psycopg
import pytest
from typer.testing import CliRunner

from audit import AuditEvent, AuditTrail
from gateway.clients import ClientRegistry
from gateway.one_time import SharedReplayCache
from gateway.users import StaffRegistry
from kinlink.cli import app
from linkage.index.reader import IdentityIndex
from linkage.review.decisions import DecisionStore
from linkage.synth import generate_population
from stores.database import PostgresLocation, close_pools

runner = CliRunner()


def test_the_gateway_role_serves_audits_and_registers_but_changes_nothing_else(
        postgres_url: str, postgres_admin_url: str, tmp_path: Path) -> None:
    role = f"gw_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(postgres_admin_url, autocommit=True) as admin:
        admin.execute(f"CREATE ROLE {role} LOGIN")
    with psycopg.connect(postgres_url, autocommit=True) as owner:
        owner.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")   # as PostgreSQL 15 ships
    try:
        ready = runner.invoke(app, ["db", "init", "--db", postgres_url, "--gateway-role", role])
        assert ready.exit_code == 0, ready.output
        generate_population(tmp_path / "extracts", families=20, seed=8)   # published after init
        linked = runner.invoke(app, ["link", "--sources", str(tmp_path / "extracts"),
                                     "--db", postgres_url])
        assert linked.exit_code == 0, linked.output
        gateway = PostgresLocation(postgres_url.replace("postgres@", f"{role}@", 1))

        index = IdentityIndex(gateway)
        person = index.cursor().execute("SELECT person_id FROM record_links LIMIT 1").fetchone()[0]
        assert index.records(person)
        client, secret = ClientRegistry(gateway).add("c", "police", "r", ["mash-triage"])
        assert ClientRegistry(gateway).authenticate(client.client_id, secret) == client
        StaffRegistry(gateway).add("sam", "Sam", "social_care", "r", ["s47-enquiry"], "pw-1234567")
        assert SharedReplayCache(gateway, "dpop-proof", 60).check_and_add("j1", time.time())
        left, right = index.cursor().execute(
            "SELECT unique_id FROM source_records ORDER BY 1 LIMIT 2").fetchall()
        DecisionStore(gateway).record(left[0], right[0], "different", "sam", "social_care",
                                      "different school and GP")
        trail = AuditTrail.open(gateway, key_path=tmp_path / "audit.key")
        assert trail.append([AuditEvent(event_type="PatientRead", outcome="permit")])[0].seq == 0
        trail.close()

        close_pools()
        with psycopg.connect(gateway.url, autocommit=True) as con:
            schema = con.execute("SELECT schema_name FROM index_generations").fetchone()[0]
            for statement in (
                    "UPDATE audit_events SET outcome = 'deny'",
                    f"DELETE FROM {schema}.record_links",
                    f"INSERT INTO {schema}.persons SELECT * FROM {schema}.persons LIMIT 1",
                    "UPDATE review_decisions SET decision = 'same'",
                    "UPDATE index_current SET generation = 0",
                    "CREATE TABLE sneaky (a int)"):
                with pytest.raises(psycopg.errors.InsufficientPrivilege):
                    con.execute(statement)
    finally:
        close_pools()
        with psycopg.connect(postgres_url, autocommit=True) as owner:
            owner.execute(f"DROP OWNED BY {role}")
        with psycopg.connect(postgres_admin_url, autocommit=True) as admin:
            admin.execute(f"DROP ROLE {role}")
