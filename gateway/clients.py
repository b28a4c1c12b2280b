"""Registered API clients of the embedded authorization server (agency systems, demo users).

Secrets are stored only as scrypt hashes; the secret itself is shown once, at registration. The
register is a DuckDB file beside the index or, when the gateway runs as several processes, a table
in its PostgreSQL database (every worker must see a client registered by any of them).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm
from psycopg.errors import UndefinedColumn

from policies import PolicyBundle
from stores.database import (
    DuckDBLocation,
    Session,
    StoreLocation,
    connect,
    create_once,
    parse_location,
)

__all__ = ["Client", "ClientRegistry", "hash_secret", "unknown_names"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS clients (
    client_id VARCHAR PRIMARY KEY,
    name VARCHAR NOT NULL,
    agency VARCHAR NOT NULL,
    role VARCHAR NOT NULL,
    purposes VARCHAR NOT NULL,
    secret_salt VARCHAR NOT NULL,
    secret_hash VARCHAR NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT current_timestamp
);
ALTER TABLE clients ADD COLUMN IF NOT EXISTS public_jwk VARCHAR;
ALTER TABLE clients ADD COLUMN IF NOT EXISTS organisation VARCHAR;
"""


@dataclass(frozen=True)
class Client:
    client_id: str
    name: str
    agency: str
    role: str
    purposes: tuple[str, ...]
    #: The source code of the extract this client's organisation supplies (see Caller).
    organisation: str | None = None


def unknown_names(bundle: PolicyBundle, agency: str, role: str,
                  purposes: list[str]) -> str | None:
    """Why a client with these names would be useless (or None): a role, purpose or agency no
    agreement defines is denied everything, so registering it silently only hides the typo."""
    for kind, values, known in (("purpose", purposes, bundle.purpose_codes()),
                                ("role", [role], bundle.roles()),
                                ("agency", [agency], bundle.parties())):
        wrong = [v for v in values if v not in known]
        if wrong:
            return (f"unknown {kind} {wrong[0]!r}: no sharing agreement defines it "
                    f"(known: {', '.join(sorted(known))})")
    return None


def hash_secret(secret: str, salt: bytes) -> str:
    """scrypt, the one way client secrets and staff passwords are stored."""
    return hashlib.scrypt(secret.encode(), salt=salt, n=2**14, r=8, p=1).hex()


class ClientRegistry:
    def __init__(self, location: Path | str | StoreLocation) -> None:
        self.location = parse_location(location)
        self._schema_ready = False

    @contextlib.contextmanager
    def _connect(self, read_only: bool = False) -> Iterator[Session]:
        # Read-only opens skip the schema, so a registry from before a column was added is
        # upgraded by any write (or by this first open when the file is missing).
        if isinstance(self.location, DuckDBLocation) and read_only \
                and not self.location.path.exists():
            read_only = False
        with connect(self.location, read_only=read_only, purpose="registers") as con:
            if con.postgres and not self._schema_ready:
                # Once per process: concurrent CREATE IF NOT EXISTS can race in PostgreSQL.
                create_once(con, "clients", _SCHEMA)
                self._schema_ready = True
            elif not con.postgres and not read_only:
                con.execute(_SCHEMA)
            yield con

    def add(self, name: str, agency: str, role: str, purposes: list[str],
            organisation: str | None = None) -> tuple[Client, str]:
        client = Client(f"kl-{secrets.token_hex(8)}", name, agency, role, tuple(purposes),
                        organisation)
        secret = secrets.token_urlsafe(32)
        salt = secrets.token_bytes(16)
        with self._connect() as con:
            con.execute(
                "INSERT INTO clients (client_id, name, agency, role, purposes, secret_salt, "
                "secret_hash, organisation) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [client.client_id, name, agency, role, json.dumps(purposes), salt.hex(),
                 hash_secret(secret, salt), organisation],
            )
        return client, secret

    def add_with_key(self, name: str, agency: str, role: str, purposes: list[str],
                     organisation: str | None = None) -> tuple[Client, dict[str, str]]:
        """A client that authenticates with ``private_key_jwt`` (RFC 7523): only its public key
        is kept; the private JWK is returned once, for the client to keep."""
        private = ec.generate_private_key(ec.SECP256R1())
        private_jwk = json.loads(ECAlgorithm.to_jwk(private))
        public_jwk = {k: private_jwk[k] for k in ("kty", "crv", "x", "y")}
        client = Client(f"kl-{secrets.token_hex(8)}", name, agency, role, tuple(purposes),
                        organisation)
        salt = secrets.token_bytes(16)
        with self._connect() as con:
            con.execute(
                "INSERT INTO clients (client_id, name, agency, role, purposes, secret_salt, "
                "secret_hash, public_jwk, organisation) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [client.client_id, name, agency, role, json.dumps(purposes), salt.hex(),
                 "!", json.dumps(public_jwk), organisation],  # "!" matches no scrypt hash
            )
        kid = f"{client.client_id}-1"
        return client, {**private_jwk, "kid": kid, "alg": "ES256", "use": "sig"}

    def public_key(self, client_id: str) -> tuple[Client, dict[str, str]] | None:
        """The client and its registered public JWK, if it authenticates with a key."""
        try:
            with self._connect(read_only=True) as con:
                rows = con.execute(
                    "SELECT name, agency, role, purposes, public_jwk, organisation FROM clients "
                    "WHERE client_id = ?", [client_id]).fetchall()
        except (duckdb.BinderException, UndefinedColumn):
            return None  # a registry written before keys were supported holds none
        if not rows or not rows[0][4]:
            return None
        name, agency, role, purposes, jwk, organisation = rows[0]
        return (Client(client_id, name, agency, role, tuple(json.loads(purposes)), organisation),
                json.loads(jwk))

    def authenticate(self, client_id: str, secret: str) -> Client | None:
        with self._connect(read_only=True) as con:
            rows = con.execute(
                "SELECT name, agency, role, purposes, secret_salt, secret_hash, organisation "
                "FROM clients WHERE client_id = ?", [client_id]
            ).fetchall()
        if not rows:
            hash_secret(secret, b"0" * 16)  # same work either way: no timing oracle for client IDs
            return None
        name, agency, role, purposes, salt, stored, organisation = rows[0]
        if not hmac.compare_digest(hash_secret(secret, bytes.fromhex(salt)), stored):
            return None
        return Client(client_id, name, agency, role, tuple(json.loads(purposes)), organisation)

    def list(self) -> list[Client]:
        if isinstance(self.location, DuckDBLocation) and not self.location.path.exists():
            return []
        with self._connect(read_only=True) as con:
            rows = con.execute("SELECT client_id, name, agency, role, purposes, organisation "
                               "FROM clients").fetchall()
        return [Client(r[0], r[1], r[2], r[3], tuple(json.loads(r[4])), r[5]) for r in rows]
