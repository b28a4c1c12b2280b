"""private_key_jwt client authentication (RFC 7523) and DPoP-bound tokens (RFC 9449) over real
HTTP: the happy paths, and each way they are abused refused with 401 (400 at the token endpoint)."""

from __future__ import annotations

import base64
import hashlib
import json
import time
import uuid
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm
from typer.testing import CliRunner

from kinlink.cli import app
from tests.gateway.conftest import Gateway

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


@pytest.fixture(scope="module")
def key_client(gateway: Gateway) -> dict[str, Any]:
    result = CliRunner().invoke(app, [
        "clients", "add", "police-system", "--agency", "police", "--role",
        "mash-police-officer", "--purposes", "s47-enquiry,mash-triage", "--auth",
        "private_key_jwt", "--db", str(gateway.db), "--issuer", gateway.base])
    assert result.exit_code == 0, result.output
    creds = json.loads(result.output)
    assert "client_secret" not in creds and creds["private_jwk"]["d"]
    return dict(creds)


def assertion(gateway: Gateway, creds: dict[str, Any], **overrides: Any) -> str:
    now = int(time.time())
    claims = {"iss": creds["client_id"], "sub": creds["client_id"],
              "aud": f"{gateway.base}/oauth/token", "iat": now, "exp": now + 60,
              "jti": uuid.uuid4().hex, **overrides}
    key = ECAlgorithm.from_jwk(json.dumps(creds["private_jwk"]))
    return jwt.encode({k: v for k, v in claims.items() if v is not None}, key, algorithm="ES256",
                      headers={"kid": creds["private_jwk"]["kid"]})


def token_request(gateway: Gateway, client_assertion: str,
                  headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.post(f"{gateway.base}/oauth/token", timeout=10, headers=headers or {}, data={
        "grant_type": "client_credentials", "client_assertion_type": JWT_BEARER,
        "client_assertion": client_assertion})


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class ProofKey:
    def __init__(self) -> None:
        self.private = ec.generate_private_key(ec.SECP256R1())
        self.jwk = json.loads(ECAlgorithm.to_jwk(self.private.public_key()))

    def proof(self, method: str, url: str, token: str | None = None, **overrides: Any) -> str:
        claims: dict[str, Any] = {"htm": method, "htu": url, "iat": int(time.time()),
                                  "jti": uuid.uuid4().hex}
        if token is not None:
            claims["ath"] = b64(hashlib.sha256(token.encode()).digest())
        claims.update(overrides)
        return jwt.encode(claims, self.private, algorithm="ES256",
                          headers={"typ": "dpop+jwt", "jwk": self.jwk})


def test_private_key_jwt_gets_a_token(gateway: Gateway, key_client: dict[str, Any]) -> None:
    meta = httpx.get(f"{gateway.base}/.well-known/oauth-authorization-server", timeout=10).json()
    assert "private_key_jwt" in meta["token_endpoint_auth_methods_supported"]
    r = token_request(gateway, assertion(gateway, key_client))
    assert r.status_code == 200, r.text
    me = httpx.get(f"{gateway.base}/v1/whoami", timeout=10,
                   headers={"Authorization": f"Bearer {r.json()['access_token']}"}).json()
    assert me["client_id"] == key_client["client_id"] and me["agency"] == "police"


@pytest.mark.parametrize("abuse", ["replayed", "wrong audience", "expired", "too long-lived",
                                   "signed by another key", "iss is not sub", "HS256"])
def test_bad_client_assertions_are_refused(gateway: Gateway, key_client: dict[str, Any],
                                           abuse: str) -> None:
    now = int(time.time())
    if abuse == "replayed":
        once = assertion(gateway, key_client)
        assert token_request(gateway, once).status_code == 200
        bad = once
    elif abuse == "wrong audience":
        bad = assertion(gateway, key_client, aud="https://elsewhere.example/token")
    elif abuse == "expired":
        bad = assertion(gateway, key_client, iat=now - 600, exp=now - 300)
    elif abuse == "too long-lived":
        bad = assertion(gateway, key_client, exp=now + 3600)
    elif abuse == "signed by another key":
        other = {**key_client, "private_jwk": {
            **json.loads(ECAlgorithm.to_jwk(ec.generate_private_key(ec.SECP256R1()))),
            "kid": "x"}}
        bad = assertion(gateway, other)
    elif abuse == "iss is not sub":
        bad = assertion(gateway, key_client, sub="kl-someone-else")
    else:
        bad = jwt.encode({"iss": key_client["client_id"], "sub": key_client["client_id"],
                          "aud": f"{gateway.base}/oauth/token", "exp": now + 60, "jti": "j"},
                         "a-shared-secret-long-enough-for-hs256!!", algorithm="HS256")
    r = token_request(gateway, bad)
    assert r.status_code == 401 and r.json()["error"] == "invalid_client", (abuse, r.text)


def dpop_token(gateway: Gateway, key: ProofKey, key_client: dict[str, Any]) -> str:
    r = token_request(gateway, assertion(gateway, key_client),
                      {"DPoP": key.proof("POST", f"{gateway.base}/oauth/token")})
    assert r.status_code == 200, r.text
    assert r.json()["token_type"] == "DPoP"
    token = str(r.json()["access_token"])
    assert jwt.decode(token, options={"verify_signature": False})["cnf"]["jkt"]
    return token


def whoami(gateway: Gateway, token: str, proof: str | None, scheme: str = "DPoP") -> int:
    headers = {"Authorization": f"{scheme} {token}"}
    if proof is not None:
        headers["DPoP"] = proof
    return httpx.get(f"{gateway.base}/v1/whoami", headers=headers, timeout=10).status_code


def test_a_bound_token_works_with_a_fresh_proof(gateway: Gateway,
                                                key_client: dict[str, Any]) -> None:
    key = ProofKey()
    token = dpop_token(gateway, key, key_client)
    url = f"{gateway.base}/v1/whoami"
    assert whoami(gateway, token, key.proof("GET", url, token)) == 200
    assert whoami(gateway, token, key.proof("GET", url, token)) == 200  # a new proof each time


@pytest.mark.parametrize("abuse", ["no proof", "replayed proof", "proof for another URL",
                                   "proof for another method", "proof by another key",
                                   "proof without ath", "stale proof", "bound token as Bearer",
                                   "private key in the proof header"])
def test_dpop_abuse_is_refused(gateway: Gateway, key_client: dict[str, Any], abuse: str) -> None:
    key = ProofKey()
    token = dpop_token(gateway, key, key_client)
    url = f"{gateway.base}/v1/whoami"
    scheme = "DPoP"
    if abuse == "no proof":
        proof = None
    elif abuse == "replayed proof":
        proof = key.proof("GET", url, token)
        assert whoami(gateway, token, proof) == 200
    elif abuse == "proof for another URL":
        proof = key.proof("GET", f"{gateway.base}/v1/persons/P1", token)
    elif abuse == "proof for another method":
        proof = key.proof("POST", url, token)
    elif abuse == "proof by another key":
        proof = ProofKey().proof("GET", url, token)
    elif abuse == "proof without ath":
        proof = key.proof("GET", url)
    elif abuse == "stale proof":
        proof = key.proof("GET", url, token, iat=int(time.time()) - 3600)
    elif abuse == "bound token as Bearer":
        proof, scheme = key.proof("GET", url, token), "Bearer"
    else:
        leaky = ProofKey()
        leaky.jwk = json.loads(ECAlgorithm.to_jwk(leaky.private))
        proof = leaky.proof("GET", url, token)
    assert whoami(gateway, token, proof, scheme) == 401, abuse


def test_an_unbound_token_cannot_pose_as_dpop(gateway: Gateway) -> None:
    token = gateway.token("police")
    key = ProofKey()
    assert whoami(gateway, token, key.proof("GET", f"{gateway.base}/v1/whoami", token)) == 401
