"""Staff who sign in to the pages (the embedded authorization server's users).

In production staff sign in at their organisation's identity provider; the embedded server keeps
this small register so a council can run kinlink on its own, and so ``kinlink demo`` ships a user
for each role. Passwords are stored as scrypt hashes only.
"""

from __future__ import annotations

import contextlib
import hmac
import json
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from gateway.clients import hash_secret
from kinlink.database import Session, StoreLocation, connect, create_once, parse_location

__all__ = ["StaffRegistry", "StaffUser"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS staff_users (
    username VARCHAR PRIMARY KEY,
    display_name VARCHAR NOT NULL,
    agency VARCHAR NOT NULL,
    role VARCHAR NOT NULL,
    purposes VARCHAR NOT NULL,
    salt VARCHAR NOT NULL,
    password_hash VARCHAR NOT NULL
);
"""


@dataclass(frozen=True)
class StaffUser:
    username: str
    display_name: str
    agency: str
    role: str
    purposes: tuple[str, ...]


class StaffRegistry:
    def __init__(self, location: Path | str | StoreLocation) -> None:
        self.location = parse_location(location)
        self._schema_ready = False

    @contextlib.contextmanager
    def _connect(self) -> Iterator[Session]:
        with connect(self.location, purpose="registers") as con:
            if not con.postgres:
                con.execute(_SCHEMA)
            elif not self._schema_ready:
                create_once(con, "staff_users", _SCHEMA)
                self._schema_ready = True
            yield con

    def add(self, username: str, display_name: str, agency: str, role: str,
            purposes: list[str], password: str | None = None) -> str:
        """Register (or replace) a user; returns the password (generated unless given)."""
        password = password or secrets.token_urlsafe(12)
        salt = secrets.token_bytes(16)
        with self._connect() as con:
            con.execute("INSERT INTO staff_users VALUES (?, ?, ?, ?, ?, ?, ?) "
                        "ON CONFLICT (username) DO UPDATE SET display_name = EXCLUDED.display_name, "
                        "agency = EXCLUDED.agency, role = EXCLUDED.role, "
                        "purposes = EXCLUDED.purposes, salt = EXCLUDED.salt, "
                        "password_hash = EXCLUDED.password_hash",
                        [username, display_name, agency, role, json.dumps(purposes), salt.hex(),
                         hash_secret(password, salt)])
        return password

    def authenticate(self, username: str, password: str) -> StaffUser | None:
        with self._connect() as con:
            rows = con.execute("SELECT display_name, agency, role, purposes, salt, password_hash "
                               "FROM staff_users WHERE username = ?", [username]).fetchall()
        if not rows:
            hash_secret(password, b"0" * 16)  # the same work either way: no timing oracle
            return None
        name, agency, role, purposes, salt, stored = rows[0]
        if not hmac.compare_digest(hash_secret(password, bytes.fromhex(salt)), stored):
            return None
        return StaffUser(username, name, agency, role, tuple(json.loads(purposes)))
