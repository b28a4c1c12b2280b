"""DPoP (RFC 9449): proof-of-possession for access tokens, checked by the gateway itself.

A DPoP proof is a short JWT the client signs with its own key for one request (method and URL).
A token issued against a proof is bound to that key (``cnf.jkt``, the RFC 7638 thumbprint); a
bound token is accepted only with a fresh proof from the same key, so a stolen token is useless.
Each proof's ``jti`` is remembered until it could no longer be fresh: a replayed proof is refused.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
import time
from collections import deque
from urllib.parse import urlsplit

import jwt
from jwt import PyJWK

__all__ = ["DPoPError", "ReplayCache", "jwk_thumbprint", "normalise_htu", "verify_proof"]

ALLOWED = ("ES256",)
#: How far a proof's ``iat`` may be from now (seconds), either way.
FRESHNESS_SECONDS = 60


class DPoPError(Exception):
    pass


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwk_thumbprint(jwk: dict[str, object]) -> str:
    """RFC 7638: SHA-256 over the required members in lexicographic order, no whitespace."""
    required = {"EC": ("crv", "kty", "x", "y"), "RSA": ("e", "kty", "n"), "OKP": ("crv", "kty", "x")}
    members = required.get(str(jwk.get("kty")))
    if members is None or any(m not in jwk for m in members):
        raise DPoPError("unsupported or incomplete proof key")
    canonical = json.dumps({m: jwk[m] for m in members}, separators=(",", ":"), sort_keys=True)
    return _b64(hashlib.sha256(canonical.encode()).digest())


_DEFAULT_PORTS = {"http": 80, "https": 443}
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_PERCENT = re.compile(r"%([0-9A-Fa-f]{2})")


def _percent(match: re.Match[str]) -> str:
    char = chr(int(match.group(1), 16))
    return char if char in _UNRESERVED else f"%{match.group(1).upper()}"


def normalise_htu(url: str) -> str:
    """The request URI as RFC 9449 section 4.3 compares it: query and fragment dropped, then
    RFC 3986 syntax- and scheme-based normalisation (case of scheme and host, default port,
    percent-encoding, empty path), so two spellings of one URL never refuse an honest client."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError as exc:
        raise DPoPError("DPoP proof htu is not a valid URL") from exc
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    if port is not None and port != _DEFAULT_PORTS.get(scheme):
        host = f"{host}:{port}"
    userinfo = parts.netloc.rpartition("@")[0]
    authority = f"{userinfo}@{host}" if userinfo else host
    return f"{scheme}://{authority}{_PERCENT.sub(_percent, parts.path) or '/'}"


class ReplayCache:
    """IDs (DPoP proof ``jti``, client assertion ``jti``) seen within the window in which the
    same token could still be accepted; each is forgotten once it could no longer be fresh.

    Expiry is in arrival order (a deque beside the set), so each check costs O(1) amortised
    however many IDs are live: the cache never rescans itself under load.
    """

    def __init__(self, window_seconds: float = 2 * FRESHNESS_SECONDS) -> None:
        self.window_seconds = window_seconds
        self._seen: set[str] = set()
        self._order: deque[tuple[float, str]] = deque()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._seen)

    def check_and_add(self, jti: str, now: float) -> bool:
        """True the first time ``jti`` is offered within the window; False for a replay."""
        with self._lock:
            horizon = now - self.window_seconds
            while self._order and self._order[0][0] <= horizon:
                self._seen.discard(self._order.popleft()[1])
            if jti in self._seen:
                return False
            self._seen.add(jti)
            self._order.append((now, jti))
            return True


def verify_proof(proof: str, method: str, url: str, replay: ReplayCache,
                 access_token: str | None = None, now: float | None = None) -> str:
    """Check a DPoP proof for this request; return its key's thumbprint."""
    now = time.time() if now is None else now
    try:
        header = jwt.get_unverified_header(proof)
    except jwt.PyJWTError as exc:
        raise DPoPError("malformed DPoP proof") from exc
    if header.get("typ") != "dpop+jwt":
        raise DPoPError("DPoP proof must have typ dpop+jwt")
    if header.get("alg") not in ALLOWED:
        raise DPoPError("DPoP proof algorithm not accepted")
    jwk = header.get("jwk")
    if not isinstance(jwk, dict) or "d" in jwk:
        raise DPoPError("DPoP proof must carry a public key")
    try:
        key = PyJWK(jwk, algorithm=header["alg"])
        claims = jwt.decode(proof, key=key, algorithms=list(ALLOWED),
                            options={"require": ["htm", "htu", "iat", "jti"],
                                     "verify_aud": False, "verify_iat": False})
    except jwt.PyJWTError as exc:
        raise DPoPError("DPoP proof signature or claims invalid") from exc
    if claims["htm"] != method.upper():
        raise DPoPError("DPoP proof is for another method")
    if normalise_htu(str(claims["htu"])) != normalise_htu(url):
        raise DPoPError("DPoP proof is for another URL")
    if not isinstance(claims["iat"], int | float) or abs(now - claims["iat"]) > FRESHNESS_SECONDS:
        raise DPoPError("DPoP proof is not fresh")
    if access_token is not None:
        expected = _b64(hashlib.sha256(access_token.encode()).digest())
        if claims.get("ath") != expected:
            raise DPoPError("DPoP proof is not for this access token")
    if not replay.check_and_add(str(claims["jti"]), now):
        raise DPoPError("DPoP proof replayed")
    return jwk_thumbprint(jwk)
