"""The gateway half of ``kinlink demo``: demo clients for each MASH role, a worked example, serve.

Client secrets are stored only as hashes, so the demo keeps the ones it mints in a file beside the
index (mode 0600) and reuses them on the next run; a real deployment registers its clients with
``kinlink clients add`` and hands each secret to its owner once.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import duckdb
from rich.console import Console

from gateway.clients import ClientRegistry
from gateway.settings import GatewaySettings
from stores.layout import InstallLayout

__all__ = ["DEMO_CLIENTS", "DemoClient", "ensure_demo_clients", "serve_demo"]

out = Console()


@dataclass(frozen=True)
class DemoClient:
    name: str
    agency: str
    role: str
    purposes: tuple[str, ...]


DEMO_CLIENTS = (
    DemoClient("mash-social-worker", "social_care", "mash-social-worker",
               ("s47-enquiry", "strategy-discussion", "mash-triage", "s17-child-in-need",
                "missing-child")),
    DemoClient("mash-police-officer", "police", "mash-police-officer",
               ("s47-enquiry", "strategy-discussion", "mash-triage", "missing-child")),
    DemoClient("health-visitor", "health", "health-visitor", ("direct-care",)),
    DemoClient("school-dsl", "education", "school-dsl", ("education-welfare", "early-help")),
)


def _credentials_path(settings: GatewaySettings) -> Path:
    return InstallLayout(Path(settings.db_path)).demo_clients


def ensure_demo_clients(settings: GatewaySettings) -> dict[str, dict[str, str]]:
    """Demo credentials by client name, minted once and reused while the registry still has them."""
    path = _credentials_path(settings)
    registry = ClientRegistry(settings.clients_path)
    known = {c.client_id for c in registry.list()}
    if path.exists():
        saved: dict[str, dict[str, str]] = json.loads(path.read_text())
        if all(entry["client_id"] in known for entry in saved.values()) and set(saved) == {
            c.name for c in DEMO_CLIENTS
        }:
            return saved
    saved = {}
    for spec in DEMO_CLIENTS:
        # The demo's extracts are one per agency, each named after it: that source is the
        # organisation whose records establish a demo client's legitimate relationship.
        client, secret = registry.add(spec.name, spec.agency, spec.role, list(spec.purposes),
                                      organisation=spec.agency)
        saved[spec.name] = {"client_id": client.client_id, "client_secret": secret,
                            "agency": spec.agency, "role": spec.role,
                            "purposes": ",".join(spec.purposes)}
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(saved, handle, indent=2)
    return saved


DEMO_STAFF = (
    ("social.worker", "Sam Social Worker", "social_care", "mash-social-worker",
     ("s47-enquiry", "strategy-discussion", "mash-triage", "s17-child-in-need", "missing-child")),
    ("police.officer", "Pat Police Officer", "police", "mash-police-officer",
     ("s47-enquiry", "mash-triage", "missing-child")),
    ("reviewer", "Robin Reviewer", "social_care", "linkage-reviewer", ("identity-review",)),
    ("ig.officer", "Indira IG Officer", "social_care", "ig-officer", ("ig-oversight",)),
)


def ensure_demo_staff(settings: GatewaySettings) -> dict[str, str]:
    """Demo staff users for the pages, one per role; passwords kept beside the index (0600)."""
    from gateway.users import StaffRegistry

    path = InstallLayout(Path(settings.db_path)).demo_staff
    if path.exists():
        return dict(json.loads(path.read_text()))
    registry = StaffRegistry(settings.users_path)
    passwords = {user: registry.add(user, name, agency, role, list(purposes))
                 for user, name, agency, role, purposes in DEMO_STAFF}
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(passwords, handle, indent=2)
    return passwords


def example_person(db: Path) -> str | None:
    """A child known to several agencies: the most instructive person to look up first."""
    with duckdb.connect(str(db), read_only=True) as con:
        row = con.execute(
            """SELECT l.person_id FROM record_links l JOIN source_records s USING (unique_id)
               WHERE s.dob > strftime(current_date - INTERVAL 16 YEAR, '%Y-%m-%d')
               GROUP BY l.person_id ORDER BY count(DISTINCT s.agency) DESC, l.person_id LIMIT 1"""
        ).fetchone()
    return row[0] if row else None


def serve_demo(db: Path, host: str = "127.0.0.1", port: int = 8000) -> None:
    import uvicorn

    from gateway.app import create_app
    from gateway.logging import configure_logging

    base = f"http://{host}:{port}"
    settings = GatewaySettings.from_env(db, base)
    clients = ensure_demo_clients(settings)
    staff = ensure_demo_staff(settings)
    worker = clients["mash-social-worker"]
    person = example_person(db) or "P..."
    out.print(f"Demo clients (credentials in {_credentials_path(settings)}):")
    for name, entry in clients.items():
        out.print(f"  {name:<22} {entry['client_id']}  purposes: {entry['purposes']}",
                  soft_wrap=True)
    out.print(
        "\nGet a token and look up a child for a section 47 enquiry:\n\n"
        f"  TOKEN=$(curl -s -u {worker['client_id']}:{worker['client_secret']} "
        f"-d grant_type=client_credentials {base}/oauth/token | python3 -c "
        "'import json,sys; print(json.load(sys.stdin)[\"access_token\"])')\n"
        f"  curl -s -H \"Authorization: Bearer $TOKEN\" "
        f"'{base}/v1/persons/{person}?purpose=s47-enquiry"
        "&justification=Section%2047%20enquiry%20opened%20after%20a%20school%20referral'\n\n"
        f"Pages for staff: {base}/  (sign in as "
        + ", ".join(f"{user} / {password}" for user, password in staff.items()) + ")\n"
        f"API documentation: {base}/docs    Audit check: kinlink audit verify --db {db}\n"
        "Press Ctrl+C to stop.\n",
        soft_wrap=True,
    )
    configure_logging()
    uvicorn.run(create_app(settings), host=host, port=port, log_config=None, access_log=False)
