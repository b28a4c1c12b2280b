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
