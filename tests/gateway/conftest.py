"""A small linked population and a real ``kinlink serve`` process over it, shared by the gateway tests."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import httpx
import pytest
from typer.testing import CliRunner

from gateway.clients import ClientRegistry
from gateway.keys import KeyStore
from gateway.settings import GatewaySettings
from kinlink.cli import app
from linkage.synth import generate_population
from tests.conftest import POLICY_DATE

JUSTIFICATION = "Section 47 enquiry opened after a referral from the child's school"


@dataclass
class Credentials:
    client_id: str
    client_secret: str


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Gateway:
    """A running ``kinlink serve`` subprocess on a loopback port, its log captured to a file."""

    db: Path
    port: int
    log_path: Path
    process: subprocess.Popen[bytes]
    clients: dict[str, Credentials] = field(default_factory=dict)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def settings(self) -> GatewaySettings:
        return GatewaySettings(db_path=self.db, issuer=self.base)

    def token(self, name: str) -> str:
        creds = self.clients[name]
        response = httpx.post(f"{self.base}/oauth/token", data={"grant_type": "client_credentials"},
                              auth=(creds.client_id, creds.client_secret), timeout=10)
        assert response.status_code == 200, response.text
        return str(response.json()["access_token"])

    def token_response(self, name: str, headers: dict[str, str] | None = None) -> httpx.Response:
        """The token endpoint's answer for a registered test client (e.g. with a DPoP proof)."""
        creds = self.clients[name]
        return httpx.post(f"{self.base}/oauth/token", data={"grant_type": "client_credentials"},
                          auth=(creds.client_id, creds.client_secret), headers=headers or {},
                          timeout=10)

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


CLIENTS = {
    "social-worker": ("social_care", "mash-social-worker",
                      ["s47-enquiry", "strategy-discussion", "mash-triage", "early-help"]),
    "police": ("police", "mash-police-officer", ["s47-enquiry", "mash-triage"]),
    "school": ("education", "school-dsl", ["education-welfare", "early-help"]),
    "health-visitor": ("health", "health-visitor", ["direct-care"]),
}


def start_gateway(db: Path, log_path: Path, port: int | None = None,
                  env: dict[str, str] | None = None) -> Gateway:
    """Register the test clients, then start the server (``env`` added to its environment) and
    wait until it answers."""
    port = port or free_port()
    settings = GatewaySettings(db_path=db, issuer=f"http://127.0.0.1:{port}", policy_date=POLICY_DATE)
    KeyStore(settings.keys_dir).active()
    registry = ClientRegistry(settings.clients_path)
    clients = {}
    for name, (agency, role, purposes) in CLIENTS.items():
        # Each synthetic extract is named after its agency: the client's organisation holds it.
        client, secret = registry.add(name, agency, role, purposes, organisation=agency)
        clients[name] = Credentials(client.client_id, secret)
    handle = log_path.open("wb")
    env = {**os.environ, "KINLINK_DB": str(db), **(env or {})}
    process = subprocess.Popen(
        [sys.executable, "-m", "kinlink.cli", "serve", "--db", str(db), "--port", str(port)],
        stdout=handle, stderr=subprocess.STDOUT, env=env,
    )
    gateway = Gateway(db, port, log_path, process, clients)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gateway exited early:\n{gateway.log_text()}")
        try:
            if httpx.get(f"{gateway.base}/healthz", timeout=1).status_code == 200:
                return gateway
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    gateway.stop(signal.SIGKILL)
    raise RuntimeError(f"gateway did not start:\n{gateway.log_text()}")


@pytest.fixture(scope="session")
def linked_population(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A linked index of 80 synthetic households, copied per server so each owns its files."""
    root = tmp_path_factory.mktemp("gateway-population")
    # Seed 8 leaves pairs of every kind for the review queue (uncertain, held, constraint).
    generate_population(root / "extracts", families=80, seed=8)
    db = root / "kinlink.duckdb"
    result = CliRunner().invoke(app, ["link", "--sources", str(root / "extracts"), "--db", str(db)])
    assert result.exit_code == 0, result.output
    return db


def copy_index(source: Path, directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / "kinlink.duckdb"
    target.write_bytes(source.read_bytes())
    return target


@dataclass(frozen=True)
class People:
    """Persons in the population with the properties the tests need."""

    child_everywhere: str        # a child with records from all four agencies
    police_only: str             # a person only the police know
    restricted: str | None       # a person with a restricted marker on a record
    personal_values: tuple[str, ...]  # names, NHS numbers and dates of the first child


def find_people(db: Path) -> People:
    with duckdb.connect(str(db), read_only=True) as con:
        everywhere = con.execute(
            """SELECT l.person_id FROM record_links l JOIN source_records s USING (unique_id)
               WHERE s.dob > '2010-01-01' GROUP BY 1 HAVING count(DISTINCT s.agency) = 4
               ORDER BY 1 LIMIT 1""").fetchone()
        police_only = con.execute(
            """SELECT l.person_id FROM record_links l JOIN source_records s USING (unique_id)
               GROUP BY 1 HAVING bool_and(s.agency = 'police') ORDER BY 1 LIMIT 1""").fetchone()
        restricted = con.execute(
            """SELECT l.person_id FROM record_links l JOIN source_records s USING (unique_id)
               WHERE json_extract_string(s.attributes, '$.restriction') IS NOT NULL
               ORDER BY 1 LIMIT 1""").fetchone()
        assert everywhere and police_only
        values = con.execute(
            """SELECT s.given_name, s.family_name, s.nhs_number, s.dob, s.postcode
               FROM record_links l JOIN source_records s USING (unique_id) WHERE l.person_id = ?""",
            [everywhere[0]]).fetchall()
    personal = tuple(sorted({v for row in values for v in row if v and len(v) >= 4}))
    return People(everywhere[0], police_only[0], restricted[0] if restricted else None, personal)


@pytest.fixture(scope="module")
def gateway(linked_population: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    directory = tmp_path_factory.mktemp("gateway")
    db = copy_index(linked_population, directory)
    running = start_gateway(db, directory / "server.log")
    yield running
    running.stop()


@pytest.fixture(scope="session")
def people(linked_population: Path) -> People:
    return find_people(linked_population)


def read_audit(db: Path) -> list[dict[str, object]]:
    """Every audit event, in order (only once the server that writes them has stopped)."""
    from audit import audit_path_for

    with duckdb.connect(str(audit_path_for(db)), read_only=True) as con:
        rows = con.execute("SELECT event_json FROM audit_events ORDER BY seq").fetchall()
    return [json.loads(r[0]) for r in rows]
