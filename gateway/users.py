"""Staff who sign in to the pages (the embedded authorization server's users).

In production staff sign in at their organisation's identity provider; the embedded server keeps
this small register so a council can run kinlink on its own, and so ``kinlink demo`` ships a user
for each role. Passwords are stored as scrypt hashes only.

A leaver is disabled, never deleted: the audit trail names them, and a disabled row keeps the
name from being handed to someone else by mistake. The pages look the user up on every request,
so a disabled user's open session ends at their next click, not when its cookie expires.
"""

from __future__ import annotations

import contextlib
import hmac
import json
import os
import secrets
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from gateway.clients import hash_secret
from policies import PolicyBundle
from stores.database import (
    PostgresLocation,
    Session,
    StoreLocation,
    connect,
    create_once,
    parse_location,
)

__all__ = ["IG_PURPOSE", "IG_ROLES", "StaffRegistry", "StaffUser", "StaffUserError",
           "purposes_for_role"]

#: The purpose under which IG roles read the trail; it has no sharing clause of its own.
IG_PURPOSE = "ig-oversight"
#: Roles that read the audit trail (``gateway.routes.ig`` enforces it).
IG_ROLES = frozenset({"ig-officer"})

_SCHEMA = """
CREATE TABLE IF NOT EXISTS staff_users (
    username VARCHAR PRIMARY KEY,
    display_name VARCHAR NOT NULL,
    agency VARCHAR NOT NULL,
    role VARCHAR NOT NULL,
    purposes VARCHAR NOT NULL,
    salt VARCHAR NOT NULL,
    password_hash VARCHAR NOT NULL,
    disabled_at VARCHAR
);
"""
# Registers made before accounts could be disabled lack the column; adding it is idempotent.
_UPGRADE = "ALTER TABLE staff_users ADD COLUMN IF NOT EXISTS disabled_at VARCHAR"


def _stat(path: Path) -> os.stat_result | None:
    try:
        return path.stat()
    except FileNotFoundError:
        return None


class StaffUserError(ValueError):
    """A staff account change the agreements or the register cannot accept (said in full)."""


@dataclass(frozen=True)
class StaffUser:
    username: str
    display_name: str
    agency: str
    role: str
    purposes: tuple[str, ...]
    #: When the account was disabled (ISO 8601, UTC), or None while it may sign in.
    disabled_at: str | None = None


def purposes_for_role(bundle: PolicyBundle, role: str, agency: str) -> list[str]:
    """The purposes a user of ``role`` at ``agency`` may ever state, as the agreements say.

    A role no clause names (nor the break-glass section, nor the IG roles) is refused here, so a
    typo such as ``mash-socialworker`` fails at ``users add`` rather than at the user's first
    search, where it would look like an empty policy."""
    parties = {p for a in bundle.agreements for p in a.parties}
    if agency not in parties:
        raise StaffUserError(f"agency {agency!r} is not a party to the agreements "
                             f"(parties: {', '.join(sorted(parties))})")
    codes = [p.code for p in bundle.purposes_for(role, agency)]
    if role in IG_ROLES:
        codes.append(IG_PURPOSE)
    if not codes:
        known = sorted({r for a in bundle.agreements for rule in a.rules for r in rule.roles
                        if r not in ("*", "system")} | IG_ROLES)
        raise StaffUserError(f"role {role!r} is in no clause of the agreements for agency "
                             f"{agency!r} (roles the clauses name: {', '.join(known)})")
    return codes


class StaffRegistry:
    def __init__(self, location: Path | str | StoreLocation) -> None:
        self.location = parse_location(location)
        self._schema_ready = False
        self._lock = threading.Lock()
        # A DuckDB register's enabled users, and the file state they were read at (see is_active).
        self._active: dict[str, bool] = {}
        self._stamp: object = None

    @contextlib.contextmanager
    def _connect(self) -> Iterator[Session]:
        with connect(self.location, purpose="registers") as con:
            if not con.postgres:
                con.execute(_SCHEMA)
                con.execute(_UPGRADE)
            elif not self._schema_ready:
                create_once(con, "staff_users", _SCHEMA)
                missing = con.execute(
                    "SELECT count(*) = 0 FROM information_schema.columns "
                    "WHERE table_name = 'staff_users' AND column_name = 'disabled_at'").fetchone()
                if missing and missing[0]:
                    con.execute(_UPGRADE)
                self._schema_ready = True
            yield con

    def add(self, username: str, display_name: str, agency: str, role: str,
            purposes: list[str], password: str | None = None, replace: bool = True) -> str:
        """Register a user; returns the password (generated unless given).

        ``replace=False`` (the ``users add`` command) refuses a username already registered,
        enabled or not, so an operator cannot silently reset someone's password or revive a
        leaver; the demo and tests replace."""
        password = password or secrets.token_urlsafe(12)
        salt = secrets.token_bytes(16)
        with self._connect() as con:
            if not replace and con.execute("SELECT 1 FROM staff_users WHERE username = ?",
                                           [username]).fetchall():
                raise StaffUserError(f"user {username!r} is already registered")
            con.execute("INSERT INTO staff_users VALUES (?, ?, ?, ?, ?, ?, ?, NULL) "
                        "ON CONFLICT (username) DO UPDATE SET display_name = EXCLUDED.display_name, "
                        "agency = EXCLUDED.agency, role = EXCLUDED.role, "
                        "purposes = EXCLUDED.purposes, salt = EXCLUDED.salt, "
                        "password_hash = EXCLUDED.password_hash, disabled_at = NULL",
                        [username, display_name, agency, role, json.dumps(purposes), salt.hex(),
                         hash_secret(password, salt)])
        return password

    def list(self) -> list[StaffUser]:
        with self._connect() as con:
            rows = con.execute("SELECT username, display_name, agency, role, purposes, disabled_at "
                               "FROM staff_users ORDER BY username").fetchall()
        return [StaffUser(u, n, a, r, tuple(json.loads(p)), d) for u, n, a, r, p, d in rows]

    def disable(self, username: str, at: datetime) -> StaffUser:
        """Stop ``username`` signing in from ``at`` on; refuses an unknown or disabled user."""
        with self._connect() as con:
            rows = con.execute("SELECT disabled_at FROM staff_users WHERE username = ?",
                               [username]).fetchall()
            if not rows:
                raise StaffUserError(f"no user {username!r} is registered")
            if rows[0][0] is not None:
                raise StaffUserError(f"user {username!r} was already disabled at {rows[0][0]}")
            con.execute("UPDATE staff_users SET disabled_at = ? WHERE username = ?",
                        [at.isoformat(), username])
        return next(u for u in self.list() if u.username == username)

    def is_active(self, username: str) -> bool:
        """Whether ``username`` may still use a session; asked by the pages on every request.

        PostgreSQL answers from a pooled connection. A DuckDB register is a file that another
        process (``kinlink users disable``) changes, and opening it costs far more than a page
        should spend, so its answers are kept until the file (or its write-ahead log) changes:
        a disable committed by any process is seen at the next request all the same."""
        if isinstance(self.location, PostgresLocation):
            with self._connect() as con:
                rows = con.execute("SELECT disabled_at IS NULL FROM staff_users "
                                   "WHERE username = ?", [username]).fetchall()
            return bool(rows and rows[0][0])
        with self._lock:
            stamp = self._file_stamp()
            if stamp != self._stamp:
                with self._connect() as con:
                    rows = con.execute("SELECT username, disabled_at IS NULL "
                                       "FROM staff_users").fetchall()
                self._active = {u: bool(a) for u, a in rows}
                self._stamp = self._file_stamp()   # after the read: opening may checkpoint
            return self._active.get(username, False)

    def _file_stamp(self) -> object:
        path = self.location.path  # type: ignore[union-attr]  # called only for a DuckDB register
        return tuple((s.st_ino, s.st_mtime_ns, s.st_size) if (s := _stat(f)) else None
                     for f in (path, path.with_name(path.name + ".wal")))

    def authenticate(self, username: str, password: str) -> StaffUser | None:
        with self._connect() as con:
            rows = con.execute("SELECT display_name, agency, role, purposes, salt, password_hash, "
                               "disabled_at FROM staff_users WHERE username = ?",
                               [username]).fetchall()
        if not rows:
            hash_secret(password, b"0" * 16)  # the same work either way: no timing oracle
            return None
        name, agency, role, purposes, salt, stored, disabled_at = rows[0]
        correct = hmac.compare_digest(hash_secret(password, bytes.fromhex(salt)), stored)
        if not correct or disabled_at is not None:
            return None
        return StaffUser(username, name, agency, role, tuple(json.loads(purposes)))
