"""RFC 7523 client authentication: the client proves itself with a JWT signed by its own key.

The assertion's ``iss`` and ``sub`` are the client ID, ``aud`` the token endpoint (or the issuer),
it expires within five minutes and its ``jti`` is used once. The key is the one registered for the
client, never one named in the assertion, and the algorithm is pinned.
"""

from __future__ import annotations

import time

import jwt
from jwt import PyJWK

from gateway.clients import Client, ClientRegistry
from gateway.dpop import ReplayCache

__all__ = ["JWT_BEARER", "AssertionRejected", "verify_client_assertion"]

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
MAX_LIFETIME_SECONDS = 300


class AssertionRejected(Exception):
    pass


def verify_client_assertion(assertion: str, registry: ClientRegistry, token_endpoint: str,
                            issuer: str, replay: ReplayCache) -> Client:
    try:
        unverified = jwt.decode(assertion, options={"verify_signature": False})
        header = jwt.get_unverified_header(assertion)
    except jwt.PyJWTError as exc:
        raise AssertionRejected("malformed client assertion") from exc
    if header.get("alg") != "ES256":
        raise AssertionRejected("client assertion algorithm not accepted")
    client_id = unverified.get("iss")
    if not isinstance(client_id, str) or unverified.get("sub") != client_id:
        raise AssertionRejected("client assertion iss and sub must both be the client ID")
    registered = registry.public_key(client_id)
    if registered is None:
        raise AssertionRejected("unknown client or no registered key")
    client, public_jwk = registered
    try:
        claims = jwt.decode(assertion, key=PyJWK(public_jwk, algorithm="ES256"),
                            algorithms=["ES256"], audience=[token_endpoint, issuer],
                            options={"require": ["iss", "sub", "aud", "exp", "jti"]})
    except jwt.PyJWTError as exc:
        raise AssertionRejected("client assertion signature or claims invalid") from exc
    now = time.time()
    if claims["exp"] - now > MAX_LIFETIME_SECONDS:
        raise AssertionRejected("client assertion lives too long")
    if not replay.check_and_add(f"{client_id}:{claims['jti']}", now):
        raise AssertionRejected("client assertion replayed")
    return client
