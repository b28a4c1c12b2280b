"""private_key_jwt (RFC 7523) beyond the happy path and the abuses in
``test_dpop_and_client_keys.py``: what the registry keeps, the audiences an assertion may name,
claims it must carry, a key smuggled in its header, and one assertion raced by many requests."""

from __future__ import annotations

import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import duckdb
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
        "clients", "add", "school-mis", "--agency", "education", "--role", "school-dsl",
        "--purposes", "education-welfare", "--auth", "private_key_jwt", "--db", str(gateway.db),
        "--issuer", gateway.base])
    assert result.exit_code == 0, result.output
    return dict(json.loads(result.output))


def sign(creds: dict[str, Any], claims: dict[str, Any], **headers: Any) -> str:
    key = ECAlgorithm.from_jwk(json.dumps(creds["private_jwk"]))
    return jwt.encode(claims, key, algorithm="ES256", headers=headers or None)


def claims_for(gateway: Gateway, creds: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {"iss": creds["client_id"], "sub": creds["client_id"],
              "aud": f"{gateway.base}/oauth/token", "iat": now, "exp": now + 60,
              "jti": uuid.uuid4().hex, **overrides}
    return {k: v for k, v in claims.items() if v is not None}


def token_request(gateway: Gateway, assertion: str, **extra: str) -> httpx.Response:
    return httpx.post(f"{gateway.base}/oauth/token", timeout=10, data={
        "grant_type": "client_credentials", "client_assertion_type": JWT_BEARER,
        "client_assertion": assertion, **extra})


def test_the_registry_keeps_the_public_key_and_no_secret(gateway: Gateway,
                                                         key_client: dict[str, Any]) -> None:
    private = key_client["private_jwk"]
    assert private["kty"] == "EC" and private["crv"] == "P-256" and private["d"]
    assert key_client["token_endpoint_auth_method"] == "private_key_jwt"
    with duckdb.connect(str(gateway.settings.clients_path), read_only=True) as con:
        row = con.execute("SELECT public_jwk, secret_hash FROM clients WHERE client_id = ?",
                          [key_client["client_id"]]).fetchone()
    assert row is not None
    public = json.loads(row[0])
    assert "d" not in public and (public["x"], public["y"]) == (private["x"], private["y"])
    # No secret at all authenticates a key client, not even the stored placeholder.
    for secret in ("!", row[1], ""):
        r = httpx.post(f"{gateway.base}/oauth/token", data={"grant_type": "client_credentials"},
                       auth=(key_client["client_id"], secret), timeout=10)
        assert r.status_code == 401


def test_the_assertion_may_name_the_issuer_as_its_audience(gateway: Gateway,
                                                           key_client: dict[str, Any]) -> None:
    r = token_request(gateway, sign(key_client, claims_for(gateway, key_client, aud=gateway.base)))
    assert r.status_code == 200, r.text
    claims = jwt.decode(r.json()["access_token"], options={"verify_signature": False})
    assert claims["client_id"] == key_client["client_id"] and claims["agency"] == "education"
    assert r.json()["token_type"] == "Bearer" and "cnf" not in claims


@pytest.mark.parametrize("abuse", ["no exp", "no jti", "unknown client", "secret client",
                                   "key in the jwk header", "wrong assertion type"])
def test_assertions_lacking_what_rfc7523_requires_are_refused(
    gateway: Gateway, key_client: dict[str, Any], abuse: str,
) -> None:
    extra: dict[str, str] = {}
    if abuse == "no exp":
        assertion = sign(key_client, claims_for(gateway, key_client, exp=None))
    elif abuse == "no jti":
        assertion = sign(key_client, claims_for(gateway, key_client, jti=None))
    elif abuse == "unknown client":
        assertion = sign(key_client, claims_for(gateway, key_client, iss="kl-nobody",
                                                sub="kl-nobody"))
    elif abuse == "secret client":
        police = gateway.clients["police"].client_id
        assertion = sign(key_client, claims_for(gateway, key_client, iss=police, sub=police))
    elif abuse == "key in the jwk header":
        attacker = ec.generate_private_key(ec.SECP256R1())
        attacker_jwk = json.loads(ECAlgorithm.to_jwk(attacker.public_key()))
        assertion = jwt.encode(claims_for(gateway, key_client), attacker, algorithm="ES256",
                               headers={"jwk": attacker_jwk})
    else:
        assertion = sign(key_client, claims_for(gateway, key_client))
        extra = {"client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:saml2-bearer"}
    r = token_request(gateway, assertion, **extra)
    assert r.status_code == 401 and r.json()["error"] == "invalid_client", (abuse, r.text)


def test_one_assertion_raced_by_many_requests_gets_one_token(gateway: Gateway,
                                                             key_client: dict[str, Any]) -> None:
    assertion = sign(key_client, claims_for(gateway, key_client))
    with ThreadPoolExecutor(max_workers=8) as pool:
        codes = list(pool.map(lambda _: token_request(gateway, assertion).status_code, range(8)))
    assert sorted(codes) == [200] + [401] * 7


def test_clients_add_refuses_an_unknown_auth_method(gateway: Gateway) -> None:
    result = CliRunner().invoke(app, [
        "clients", "add", "x", "--agency", "police", "--role", "r", "--purposes", "mash-triage",
        "--auth", "tls_client_auth", "--db", str(gateway.db)])
    assert result.exit_code == 2 and "--auth" in result.output
