"""Things used once, shared by every gateway process: replayed proof IDs and authorization codes.

One process keeps them in memory (``gateway.dpop.ReplayCache``, ``gateway.authorize.
AuthorizationCodes``). Behind a load balancer with several workers that is wrong twice over: a
DPoP proof or client assertion replayed to another worker would be accepted, and a code issued by
one worker could not be redeemed at another. With PostgreSQL configured they live in one table
instead; the primary key makes "first use wins" atomic across processes.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import threading
import time
from dataclasses import asdict

from gateway.users import StaffUser
from stores.database import PostgresLocation, Session, connect, create_once

__all__ = ["SharedAuthorizationCodes", "SharedReplayCache"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS gateway_one_time (
    kind VARCHAR NOT NULL,
    key VARCHAR NOT NULL,
    expires_at DOUBLE PRECISION NOT NULL,
    payload VARCHAR,
    PRIMARY KEY (kind, key)
)
"""
_PURGE_EVERY_SECONDS = 30.0


class _Table:
    def __init__(self, location: PostgresLocation, kind: str) -> None:
        self.location, self.kind = location, kind
        self._ready = False
        self._purged = 0.0
        self._lock = threading.Lock()

    def _prepare(self, con: Session) -> None:
        if not self._ready:
            create_once(con, "gateway_one_time", _SCHEMA)
            self._ready = True

    def _maybe_purge(self, con: Session, now: float) -> None:
        with self._lock:
            due = now - self._purged > _PURGE_EVERY_SECONDS
            if due:
                self._purged = now
        if due:
            con.execute("DELETE FROM gateway_one_time WHERE kind = ? AND expires_at < ?",
                        [self.kind, now])


class SharedReplayCache(_Table):
    """``ReplayCache``'s contract (``check_and_add``), kept in PostgreSQL. IDs are stored hashed:
    they are not secrets, but there is no reason to keep them."""

    def __init__(self, location: PostgresLocation, kind: str, window_seconds: float) -> None:
        super().__init__(location, kind)
        self.window_seconds = window_seconds

    def check_and_add(self, jti: str, now: float) -> bool:
        key = hashlib.sha256(jti.encode()).hexdigest()
        with connect(self.location, purpose="one-time") as con:
            self._prepare(con)
            self._maybe_purge(con, now)
            inserted = con.execute(
                "INSERT INTO gateway_one_time (kind, key, expires_at) VALUES (?, ?, ?) "
                "ON CONFLICT (kind, key) DO UPDATE SET expires_at = EXCLUDED.expires_at "
                "WHERE gateway_one_time.expires_at < ?",
                [self.kind, key, now + self.window_seconds, now]).rowcount
        return bool(inserted)


class SharedAuthorizationCodes(_Table):
    """``AuthorizationCodes``' contract (``issue``, ``redeem``), kept in PostgreSQL; a code is
    deleted as it is redeemed, so it is used once whichever worker sees it."""

    def __init__(self, location: PostgresLocation, lifetime_seconds: float = 60.0) -> None:
        super().__init__(location, "authorization-code")
        self.lifetime_seconds = lifetime_seconds

    def issue(self, user: StaffUser, challenge: str, redirect_uri: str) -> str:
        code = secrets.token_urlsafe(32)
        now = time.time()
        payload = json.dumps({"user": {**asdict(user), "purposes": list(user.purposes)},
                              "challenge": challenge, "redirect_uri": redirect_uri})
        with connect(self.location, purpose="one-time") as con:
            self._prepare(con)
            self._maybe_purge(con, now)
            con.execute("INSERT INTO gateway_one_time VALUES (?, ?, ?, ?)",
                        [self.kind, _digest(code), now + self.lifetime_seconds, payload])
        return code

    def redeem(self, code: str, verifier: str, redirect_uri: str) -> StaffUser | None:
        from gateway.authorize import pkce_matches

        with connect(self.location, purpose="one-time") as con:
            self._prepare(con)
            row = con.execute("DELETE FROM gateway_one_time WHERE kind = ? AND key = ? "
                              "RETURNING expires_at, payload", [self.kind, _digest(code)]).fetchone()
        if row is None or row[0] < time.time():
            return None
        grant = json.loads(row[1])
        if grant["redirect_uri"] != redirect_uri or not pkce_matches(verifier, grant["challenge"]):
            return None
        user = grant["user"]
        return StaffUser(user["username"], user["display_name"], user["agency"], user["role"],
                         tuple(user["purposes"]))


def _digest(code: str) -> str:
    """Codes are bearer secrets until redeemed: the table keeps only their hash."""
    return hashlib.sha256(code.encode()).hexdigest()
