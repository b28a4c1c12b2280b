"""OAuth 2 against a real server: discovery, the client-credentials grant, and every token attack → 401."""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

from gateway.keys import KeyStore
from tests.gateway.conftest import Gateway


def claims_for(gateway: Gateway, **overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {
        "iss": gateway.base, "aud": "kinlink-api", "sub": gateway.clients["police"].client_id,
        "client_id": gateway.clients["police"].client_id, "iat": now, "nbf": now, "exp": now + 120,
        "jti": uuid.uuid4().hex, "agency": "police", "role": "mash-police-officer",
        "purposes": ["s47-enquiry"],
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def signed(gateway: Gateway, claims: dict[str, Any], **headers: Any) -> str:
    """A token signed with the server's real active key: only the tampered part is wrong."""
    key = KeyStore(gateway.settings.keys_dir).active()
    header = {"typ": "at+jwt", "kid": key.kid, **headers}
    return jwt.encode(claims, key.private_pem, algorithm="ES256", headers=header)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def whoami(gateway: Gateway, token: str) -> httpx.Response:
    return httpx.get(f"{gateway.base}/v1/whoami", headers={"Authorization": f"Bearer {token}"},
                     timeout=10)


def test_discovery_names_the_endpoints(gateway: Gateway) -> None:
    meta = httpx.get(f"{gateway.base}/.well-known/oauth-authorization-server", timeout=10).json()
    assert meta["issuer"] == gateway.base
    assert meta["token_endpoint"] == f"{gateway.base}/oauth/token"
    jwks = httpx.get(meta["jwks_uri"], timeout=10).json()
    assert jwks["keys"] and all(k["kty"] == "EC" and "d" not in k for k in jwks["keys"])


def test_client_credentials_basic_and_post(gateway: Gateway) -> None:
    creds = gateway.clients["school"]
    by_post = httpx.post(f"{gateway.base}/oauth/token", timeout=10, data={
        "grant_type": "client_credentials", "client_id": creds.client_id,
        "client_secret": creds.client_secret})
    assert by_post.status_code == 200 and by_post.headers["cache-control"] == "no-store"
    token = by_post.json()["access_token"]
    assert jwt.get_unverified_header(token)["typ"] == "at+jwt"
    me = whoami(gateway, token).json()
    assert me["agency"] == "education" and me["role"] == "school-dsl"
    assert whoami(gateway, gateway.token("police")).json()["agency"] == "police"


@pytest.mark.parametrize("data,auth,status,error", [
    ({"grant_type": "client_credentials"}, ("kl-nobody", "wrong"), 401, "invalid_client"),
    ({"grant_type": "password"}, None, 400, "unsupported_grant_type"),
    ({"grant_type": "client_credentials"}, None, 401, "invalid_client"),
])
def test_token_endpoint_refusals(gateway: Gateway, data: dict[str, str],
                                 auth: tuple[str, str] | None, status: int, error: str) -> None:
    response = httpx.post(f"{gateway.base}/oauth/token", data=data, auth=auth, timeout=10)
    assert response.status_code == status
    assert response.json()["error"] == error


def test_wrong_secret_for_a_real_client(gateway: Gateway) -> None:
    creds = gateway.clients["school"]
    response = httpx.post(f"{gateway.base}/oauth/token", data={"grant_type": "client_credentials"},
                          auth=(creds.client_id, creds.client_secret + "x"), timeout=10)
    assert response.status_code == 401


def _alg_none(g: Gateway) -> str:
    header = {"alg": "none", "typ": "at+jwt", "kid": KeyStore(g.settings.keys_dir).active().kid}
    return f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims_for(g)).encode())}."


def _hmac_with_public_key(g: Gateway) -> str:
    """HMAC/RSA-style confusion: sign HS256 with the server's *public* key as the secret."""
    jwk = KeyStore(g.settings.keys_dir).active().public_jwk()
    public_pem = ECAlgorithm.from_jwk(json.dumps(jwk)).public_bytes(  # type: ignore[union-attr]
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    header = {"alg": "HS256", "typ": "at+jwt", "kid": jwk["kid"]}
    import hashlib
    import hmac
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims_for(g)).encode())}"
    mac = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(mac)}"


def _attacker_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _embedded_jwk(g: Gateway) -> str:
    key = _attacker_key()
    jwk = json.loads(ECAlgorithm.to_jwk(key.public_key()))
    return jwt.encode(claims_for(g), key, algorithm="ES256",
                      headers={"typ": "at+jwt", "jwk": jwk})


def _embedded_jwk_with_real_kid(g: Gateway) -> str:
    key = _attacker_key()
    jwk = json.loads(ECAlgorithm.to_jwk(key.public_key()))
    kid = KeyStore(g.settings.keys_dir).active().kid
    return jwt.encode(claims_for(g), key, algorithm="ES256",
                      headers={"typ": "at+jwt", "jwk": jwk, "kid": kid})


def _jku(g: Gateway) -> str:
    key = _attacker_key()
    return jwt.encode(claims_for(g), key, algorithm="ES256",
                      headers={"typ": "at+jwt", "jku": "http://127.0.0.1:9/jwks.json", "kid": "evil"})


def _kid_injection(g: Gateway) -> str:
    key = _attacker_key()
    return jwt.encode(claims_for(g), key, algorithm="ES256",
                      headers={"typ": "at+jwt", "kid": "../../../../dev/null' OR '1'='1"})


ATTACKS: dict[str, Callable[[Gateway], str]] = {
    "alg none": _alg_none,
    "HS256 keyed with the public key": _hmac_with_public_key,
    "key in jwk header": _embedded_jwk,
    "jwk header beside a real kid": _embedded_jwk_with_real_kid,
    "jku header": _jku,
    "kid injection": _kid_injection,
    "expired": lambda g: signed(g, claims_for(g, iat=int(time.time()) - 900,
                                              nbf=int(time.time()) - 900,
                                              exp=int(time.time()) - 600)),
    "not yet valid": lambda g: signed(g, claims_for(g, nbf=int(time.time()) + 600,
                                                    exp=int(time.time()) + 900)),
    "wrong audience": lambda g: signed(g, claims_for(g, aud="another-api")),
    "wrong issuer": lambda g: signed(g, claims_for(g, iss="https://evil.example")),
    "wrong typ (an ID token)": lambda g: signed(g, claims_for(g), typ="JWT"),
    "missing agency claim": lambda g: signed(g, claims_for(g, agency=None)),
    "missing expiry": lambda g: signed(g, claims_for(g, exp=None)),
    "tampered payload": lambda g: _tamper(signed(g, claims_for(g))),
    "truncated": lambda g: signed(g, claims_for(g)).rsplit(".", 1)[0],
    "not a JWT": lambda g: "not-a-token",
    "garbage base64": lambda g: "eyJ!!!.eyJ???.abc",
    "unsigned signature part": lambda g: signed(g, claims_for(g)).rsplit(".", 1)[0] + ".",
    "purposes claim malformed": lambda g: signed(g, claims_for(g, purposes="s47-enquiry")),
}


def _tamper(token: str) -> str:
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["role"] = "mash-manager"
    return f"{header}.{b64(json.dumps(claims).encode())}.{signature}"


@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_token_attack_is_rejected_with_401(gateway: Gateway, attack: str) -> None:
    response = whoami(gateway, ATTACKS[attack](gateway))
    assert response.status_code == 401, (attack, response.text)
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert "invalid_token" in response.headers["www-authenticate"]


def test_a_correctly_signed_token_is_accepted(gateway: Gateway) -> None:
    """The control for the attacks: the same construction, untampered, is accepted."""
    assert whoami(gateway, signed(gateway, claims_for(gateway))).status_code == 200


@pytest.mark.parametrize("header", ["", "Bearer", "Basic abc", "Token abc", "Bearer a b"])
def test_missing_or_wrong_scheme(gateway: Gateway, header: str) -> None:
    response = httpx.get(f"{gateway.base}/v1/whoami", headers={"Authorization": header}, timeout=10)
    assert response.status_code == 401


def test_rotated_key_keeps_old_tokens_valid_and_signs_new_ones(gateway: Gateway) -> None:
    old = gateway.token("police")
    old_kid = jwt.get_unverified_header(old)["kid"]
    new_key = KeyStore(gateway.settings.keys_dir).rotate()
    assert whoami(gateway, old).status_code == 200
    fresh = gateway.token("police")
    assert jwt.get_unverified_header(fresh)["kid"] == new_key.kid != old_kid
    assert whoami(gateway, fresh).status_code == 200
