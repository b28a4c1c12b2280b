"""RFC 9068 JWT access tokens: issued by the embedded server, checked by the resource server.

The checks a resource server must make (shared/domain/information-governance.md, OAuth profile):
``typ`` is ``at+jwt``; algorithms are pinned (never ``none``, never HMAC, so a public key can never
be used as an HMAC secret); the key comes only from the issuer's JWKS by ``kid`` — ``jwk``, ``jku``,
``x5u`` and ``x5c`` headers are ignored; ``iss``, ``aud``, ``exp``, ``nbf`` and required claims are
enforced. Every failure is one ``InvalidToken`` with an RFC 6750 error code; the token never appears
in a message or a log.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from dataclasses import dataclass
from typing import Any

import jwt
from jwt import PyJWK

from gateway.clients import Client
from gateway.keys import KeyStore
from stores.memo import BoundedMemo

__all__ = ["ALLOWED_ALGORITHMS", "Caller", "InvalidToken", "TokenIssuer", "TokenValidator"]

ALLOWED_ALGORITHMS = ("ES256",)
REQUIRED_CLAIMS = ("iss", "aud", "sub", "client_id", "iat", "exp", "jti", "agency", "role")


class InvalidToken(Exception):
    def __init__(self, description: str, error: str = "invalid_token") -> None:
        super().__init__(description)
        self.error = error
        self.description = description


@dataclass(frozen=True)
class Caller:
    client_id: str
    agency: str
    role: str
    purposes: tuple[str, ...]
    user_id: str | None
    jti: str
    issuer: str
    #: RFC 7638 thumbprint of the key this token is bound to (DPoP), or None for a bearer token.
    bound_jkt: str | None = None
    #: The caller's own organisation, as the source code of the extract it supplies (the holder
    #: of its records); None when the issuer does not say. A legitimate relationship is judged
    #: by it, never by the sector (``agency``) that every school or trust shares.
    organisation: str | None = None


class TokenIssuer:
    def __init__(self, keys: KeyStore, issuer: str, audience: str, lifetime: int) -> None:
        self.keys, self.issuer, self.audience, self.lifetime = keys, issuer, audience, lifetime

    def issue(self, client: Client, jkt: str | None = None, user: str | None = None) -> str:
        key = self.keys.active()
        now = int(time.time())
        claims = {
            "iss": self.issuer, "aud": self.audience, "sub": client.client_id,
            "client_id": client.client_id, "iat": now, "nbf": now, "exp": now + self.lifetime,
            "jti": uuid.uuid4().hex, "scope": " ".join(f"purpose:{p}" for p in client.purposes),
            "agency": client.agency, "role": client.role, "purposes": list(client.purposes),
        }
        if jkt is not None:
            claims["cnf"] = {"jkt": jkt}
        if user is not None:
            claims["user"] = user
        if client.organisation:
            claims["org"] = client.organisation
        return jwt.encode(claims, key.private_pem, algorithm="ES256",
                          headers={"typ": "at+jwt", "kid": key.kid})


class TokenValidator:
    def __init__(self, keys: KeyStore, issuer: str, audience: str, leeway: int = 30,
                 external: dict[str, Any] | None = None) -> None:
        self.keys, self.issuer, self.audience, self.leeway = keys, issuer, audience, leeway
        #: Trusted external issuers by issuer URL (``gateway.issuers.ExternalIssuer``).
        self.external = external or {}
        # kid → (the JWKS it was parsed from, the key): reused while that JWKS is current.
        self._parsed: dict[str, tuple[dict[str, object], PyJWK]] = {}
        # token → what its full check found (see ``validate``).
        self._verified: BoundedMemo[str, _Verified] = BoundedMemo(VERIFIED_TOKENS)

    def _key_for(self, kid: object, jwks: dict[str, Any]) -> PyJWK:
        if not isinstance(kid, str):
            raise InvalidToken("token has no key id")
        cached = self._parsed.get(kid)
        if cached is not None and cached[0] is jwks:
            return cached[1]
        for jwk in jwks["keys"]:
            if jwk["kid"] == kid:
                parsed = PyJWK(jwk, algorithm="ES256")
                self._parsed[kid] = (jwks, parsed)
                return parsed
        raise InvalidToken("token signed by an unknown key")

    def validate(self, token: str) -> Caller:
        """The caller a valid token names, or InvalidToken.

        A client sends the same token with every request until it expires, and checking it in
        full (base64 and JSON twice, an ECDSA verification) was a tenth of a person view's CPU.
        So a token of this issuer that passed the full check is remembered by its exact text,
        with the JWKS that verified it and its time claims; the same text again is the same
        signature over the same claims, so only what can change is checked again: the JWKS is
        still the one that verified it (a rotation or a removed key re-verifies) and ``exp``,
        ``nbf`` and ``iat`` hold now, with the same leeway. Anything else (and any doubt) takes
        the full check, which gives the refusal. External issuers' tokens are always checked."""
        known = self._verified.get(token)
        if known is not None:
            # The clock PyJWT's own checks read, so a hit and a full check agree on the time.
            now = dt.datetime.now(tz=dt.UTC).timestamp()
            if known.holds(self.keys.jwks(), now, self.leeway):
                return known.caller
            self._verified.forget(token)
        return self._validate(token)

    def _validate(self, token: str) -> Caller:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise InvalidToken("malformed token") from exc
        if self.external:
            try:
                claimed = jwt.decode(token, options={"verify_signature": False}).get("iss")
            except jwt.PyJWTError as exc:
                raise InvalidToken("malformed token") from exc
            # The unverified iss only chooses whose keys to check the signature with.
            if claimed != self.issuer:
                issuer = self.external.get(claimed) if isinstance(claimed, str) else None
                if issuer is None:
                    raise InvalidToken("token from an untrusted issuer")
                return issuer.validate(token, header)
        if header.get("alg") not in ALLOWED_ALGORITHMS:
            raise InvalidToken("token algorithm not accepted")
        if str(header.get("typ", "")).lower() not in ("at+jwt", "application/at+jwt"):
            raise InvalidToken("not an access token (typ must be at+jwt)")
        jwks = self.keys.jwks()
        key = self._key_for(header.get("kid"), jwks)
        try:
            claims = jwt.decode(
                token, key=key, algorithms=list(ALLOWED_ALGORITHMS), audience=self.audience,
                issuer=self.issuer, leeway=self.leeway,
                options={"require": list(REQUIRED_CLAIMS), "verify_nbf": True},
            )
        except jwt.ExpiredSignatureError as exc:
            raise InvalidToken("token expired") from exc
        except jwt.ImmatureSignatureError as exc:
            raise InvalidToken("token not yet valid") from exc
        except jwt.InvalidAudienceError as exc:
            raise InvalidToken("token is for another audience") from exc
        except jwt.InvalidIssuerError as exc:
            raise InvalidToken("token from an untrusted issuer") from exc
        except jwt.MissingRequiredClaimError as exc:
            raise InvalidToken(f"token lacks the {exc.claim} claim") from exc
        except jwt.PyJWTError as exc:
            raise InvalidToken("token signature or format invalid") from exc
        purposes = claims.get("purposes", [])
        if not isinstance(purposes, list) or not all(isinstance(p, str) for p in purposes):
            raise InvalidToken("purposes claim malformed")
        cnf = claims.get("cnf")
        if cnf is not None and not (isinstance(cnf, dict) and isinstance(cnf.get("jkt"), str)):
            raise InvalidToken("cnf claim malformed")
        organisation = claims.get("org")
        if organisation is not None and not isinstance(organisation, str):
            raise InvalidToken("org claim malformed")
        caller = Caller(claims["client_id"], claims["agency"], claims["role"], tuple(purposes),
                        claims.get("user"), claims["jti"], claims["iss"],
                        cnf["jkt"] if cnf else None, organisation)
        self._verified.keep(token, _Verified(caller, jwks, float(claims["exp"]),
                                             _number(claims.get("nbf")), float(claims["iat"])))
        return caller


#: How many verified tokens a validator remembers (``TokenValidator.validate``); past that it
#: forgets them all and re-verifies the next ones. A token is a few hundred bytes.
VERIFIED_TOKENS = 10_000


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) else None


@dataclass(frozen=True)
class _Verified:
    """A token that passed the full check: who it names, the JWKS that verified its signature,
    and the claims that depend on the time."""

    caller: Caller
    jwks: dict[str, Any]
    exp: float
    nbf: float | None
    iat: float

    def holds(self, jwks: dict[str, Any], now: float, leeway: float) -> bool:
        """Whether the full check would still pass now: PyJWT's own comparisons (exp strictly
        after now - leeway; nbf and iat no later than now + leeway), against the same JWKS."""
        return (jwks is self.jwks and self.exp > now - leeway and self.iat <= now + leeway
                and (self.nbf is None or self.nbf <= now + leeway))
