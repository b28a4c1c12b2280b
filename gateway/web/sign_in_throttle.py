"""Throttling of staff sign-in: failed attempts counted per username and per client address.

Without it anyone who can reach the sign-in page may guess passwords for ever, unseen, and each
guess costs the server an scrypt hash (tens of milliseconds of a core): a denial of service on
two cores. So a username or an address with too many recent failures is refused *before* any
hash is computed, every failure and every refusal goes to the audit trail (the username is an
identifier: it belongs there, not in the application log), and a success clears the username's
count.

The counts live in the process: with several workers each keeps its own, so the limits are per
worker (documented in ``docs/security.md``). Time comes from an injected clock, so tests never
depend on the wall clock.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from fastapi import Request

from gateway.access import audit_sign_in

__all__ = ["SignInThrottle", "record_sign_in", "sign_in_refused"]


@dataclass
class SignInThrottle:
    """Sliding-window failure counts; a key over its limit is locked out for ``lockout``."""

    per_user: int = 5
    per_address: int = 20
    window_seconds: float = 900.0
    lockout_seconds: float = 900.0
    clock: Callable[[], float] = time.monotonic
    _failures: dict[str, deque[float]] = field(default_factory=dict, repr=False)
    _locked_until: dict[str, float] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def _keys(self, username: str, address: str) -> list[tuple[str, int]]:
        return [(f"user:{username.strip().lower()}", self.per_user),
                (f"addr:{address}", self.per_address)]

    def wait_seconds(self, username: str, address: str) -> float:
        """How long this username or address must wait before trying again (0: it may try)."""
        now = self.clock()
        with self._lock:
            waits = [self._locked_until.get(key, 0.0) - now for key, _ in
                     self._keys(username, address)]
        return max(0.0, *waits)

    def failed(self, username: str, address: str) -> None:
        now = self.clock()
        with self._lock:
            for key, limit in self._keys(username, address):
                recent = self._failures.setdefault(key, deque())
                recent.append(now)
                while recent and recent[0] <= now - self.window_seconds:
                    recent.popleft()
                if len(recent) >= limit:
                    self._locked_until[key] = now + self.lockout_seconds
                    recent.clear()
            if len(self._failures) > 100_000:   # bound the memory a spray of names can take
                self._failures = {k: v for k, v in self._failures.items() if v}

    def succeeded(self, username: str) -> None:
        with self._lock:
            key = self._keys(username, "")[0][0]
            self._failures.pop(key, None)
            self._locked_until.pop(key, None)


def _throttle(request: Request) -> SignInThrottle:
    throttle: SignInThrottle = request.app.state.sign_in_throttle  # made by mount_pages
    return throttle


def _address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def sign_in_refused(request: Request, username: str) -> bool:
    """Whether this attempt is refused unheard (too many recent failures); the refusal is
    audited. Called before the password is checked, so a locked-out guess costs no hash."""
    if _throttle(request).wait_seconds(username, _address(request)) <= 0:
        return False
    audit_sign_in(request, username, "sign-in refused: too many failed attempts "
                                     f"(from {_address(request)})")
    return True


def record_sign_in(request: Request, username: str, succeeded: bool) -> None:
    """Count the attempt; a failure is audited."""
    throttle = _throttle(request)
    if succeeded:
        throttle.succeeded(username)
        return
    throttle.failed(username, _address(request))
    audit_sign_in(request, username, f"sign-in failed (from {_address(request)})")
