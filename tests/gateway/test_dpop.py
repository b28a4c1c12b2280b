"""DPoP (RFC 9449) proof checking: the RFC's own example proofs, RFC 7638 thumbprints, URL
normalisation and the replay cache, then the same rules over real HTTP. The abuse cases against
a bound token (no proof, replay, other URL/method/key, bound token as Bearer) are in
``test_dpop_and_client_keys.py``."""

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
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from gateway.dpop import DPoPError, ReplayCache, jwk_thumbprint, normalise_htu, verify_proof
from tests.gateway.conftest import Gateway

# RFC 9449 section 4.1 (a proof at the token endpoint) and section 7.1 (a proof at a resource
# server, with ath), signed by the key whose thumbprint the RFC gives in section 6.1.
RFC_TOKEN_PROOF = (
    "eyJ0eXAiOiJkcG9wK2p3dCIsImFsZyI6IkVTMjU2IiwiandrIjp7Imt0eSI6IkVDIiwieCI6Imw4dEZyaHgtMzR0VjNo"
    "UklDUkRZOXpDa0RscEJoRjQyVVFVZldWQVdCRnMiLCJ5IjoiOVZFNGpmX09rX282NHpiVFRsY3VOSmFqSG10NnY5VERW"
    "clUwQ2R2R1JEQSIsImNydiI6IlAtMjU2In19.eyJqdGkiOiItQndDM0VTYzZhY2MybFRjIiwiaHRtIjoiUE9TVCIsImh0"
    "dSI6Imh0dHBzOi8vc2VydmVyLmV4YW1wbGUuY29tL3Rva2VuIiwiaWF0IjoxNTYyMjYyNjE2fQ.2-GxA6T8lP4vfrg8v-F"
    "dWP0A0zdrj8igiMLvqRMUvwnQg4PtFLbdLXiOSsX0x7NVY-FNyJK70nfbV37xRZT3Lg")
RFC_RESOURCE_PROOF = (
    "eyJ0eXAiOiJkcG9wK2p3dCIsImFsZyI6IkVTMjU2IiwiandrIjp7Imt0eSI6IkVDIiwieCI6Imw4dEZyaHgtMzR0VjNo"
    "UklDUkRZOXpDa0RscEJoRjQyVVFVZldWQVdCRnMiLCJ5IjoiOVZFNGpmX09rX282NHpiVFRsY3VOSmFqSG10NnY5VERW"
    "clUwQ2R2R1JEQSIsImNydiI6IlAtMjU2In19.eyJqdGkiOiJlMWozVl9iS2ljOC1MQUVCIiwiaHRtIjoiR0VUIiwiaHR1"
    "IjoiaHR0cHM6Ly9yZXNvdXJjZS5leGFtcGxlLm9yZy9wcm90ZWN0ZWRyZXNvdXJjZSIsImlhdCI6MTU2MjI2MjYxOCwi"
    "YXRoIjoiZlVIeU8ycjJaM0RaNTNFc05yV0JiMHhXWG9hTnk1OUlpS0NBcWtzbVFFbyJ9.2oW9RP35yRqzhrtNP86L-Ey7"
    "1EOptxRimPPToA1plemAgR6pxHF8y6-yqyVnmcw6Fy1dqd-jfxSYoMxhAJpLjA")
RFC_ACCESS_TOKEN = "Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU"
RFC_JKT = "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"
RFC_TOKEN_URL = "https://server.example.com/token"
RFC_RESOURCE_URL = "https://resource.example.org/protectedresource"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_the_rfc_example_proofs_verify_and_give_the_rfc_thumbprint() -> None:
    assert verify_proof(RFC_TOKEN_PROOF, "POST", RFC_TOKEN_URL, ReplayCache(),
                        now=1562262616) == RFC_JKT
    assert verify_proof(RFC_RESOURCE_PROOF, "GET", RFC_RESOURCE_URL, ReplayCache(),
                        access_token=RFC_ACCESS_TOKEN, now=1562262618) == RFC_JKT


@pytest.mark.parametrize("change,message", [
    ({"method": "GET"}, "another method"),
    ({"url": "https://server.example.com/other"}, "another URL"),
    ({"now": 1562262616 + 3600}, "not fresh"),
    ({"access_token": RFC_ACCESS_TOKEN}, "not for this access token"),
])
def test_the_rfc_example_proof_is_refused_out_of_its_context(change: dict[str, Any],
                                                             message: str) -> None:
    args: dict[str, Any] = {"method": "POST", "url": RFC_TOKEN_URL, "now": 1562262616, **change}
    with pytest.raises(DPoPError, match=message):
        verify_proof(RFC_TOKEN_PROOF, args["method"], args["url"], ReplayCache(),
                     access_token=args.get("access_token"), now=args["now"])


def test_a_tampered_rfc_proof_fails_its_signature() -> None:
    header, _, signature = RFC_TOKEN_PROOF.split(".")
    payload = b64(json.dumps({"jti": "-BwC3ESc6acc2lTc", "htm": "GET", "htu": RFC_TOKEN_URL,
                              "iat": 1562262616}, separators=(",", ":")).encode())
    with pytest.raises(DPoPError, match="signature"):
        verify_proof(f"{header}.{payload}.{signature}", "GET", RFC_TOKEN_URL, ReplayCache(),
                     now=1562262616)


def test_rfc7638_thumbprint_of_the_rfc_example_key() -> None:
    key = {"kty": "RSA", "e": "AQAB", "alg": "RS256", "kid": "2011-04-29", "n": (
        "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJE"
        "CPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2Q"
        "vzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6"
        "WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw")}
    assert jwk_thumbprint(key) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
    with pytest.raises(DPoPError):
        jwk_thumbprint({"kty": "EC", "crv": "P-256", "x": "only-x"})


@pytest.mark.parametrize("a,b", [
    ("https://Server.Example.COM/token", "https://server.example.com/token"),
    ("HTTPS://server.example.com:443/token", "https://server.example.com/token"),
    ("http://server.example.com:80/token", "http://server.example.com/token"),
    ("https://server.example.com/token?x=1#f", "https://server.example.com/token"),
    ("https://server.example.com", "https://server.example.com/"),
    ("https://server.example.com/a%2fb/%7euser", "https://server.example.com/a%2Fb/~user"),
    ("http://[::1]:8000/v1", "http://[::1]:8000/v1"),
])
def test_urls_that_are_one_resource_normalise_alike(a: str, b: str) -> None:
    assert normalise_htu(a) == normalise_htu(b)


@pytest.mark.parametrize("a,b", [
    ("https://server.example.com:8443/token", "https://server.example.com/token"),
    ("http://server.example.com/token", "https://server.example.com/token"),
    ("https://server.example.com/Token", "https://server.example.com/token"),
    ("https://server.example.com/a/b", "https://server.example.com/a%2Fb"),
])
def test_urls_that_differ_stay_different(a: str, b: str) -> None:
    assert normalise_htu(a) != normalise_htu(b)


def test_the_replay_cache_forgets_only_what_could_no_longer_be_fresh() -> None:
    cache = ReplayCache(window_seconds=120)
    assert cache.check_and_add("a", now=1000)
    assert not cache.check_and_add("a", now=1119)  # still inside the window: a replay
    assert cache.check_and_add("a", now=1121)      # the first use has aged out
    for n in range(5000):                           # a steady stream stays bounded
        assert cache.check_and_add(f"j{n}", now=2000 + n * 0.1)
    assert len(cache) <= 120 * 10 + 1


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


def test_proofs_with_another_type_or_algorithm_are_refused() -> None:
    key = ProofKey()
    url = "https://kinlink.example/v1/whoami"
    untyped = jwt.encode({"htm": "GET", "htu": url, "iat": int(time.time()), "jti": "1"},
                         key.private, algorithm="ES256", headers={"typ": "JWT", "jwk": key.jwk})
    with pytest.raises(DPoPError, match="typ"):
        verify_proof(untyped, "GET", url, ReplayCache())
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    rsa_jwk = json.loads(RSAAlgorithm.to_jwk(rsa_key.public_key()))
    rs256 = jwt.encode({"htm": "GET", "htu": url, "iat": int(time.time()), "jti": "2"},
                       rsa_key, algorithm="RS256", headers={"typ": "dpop+jwt", "jwk": rsa_jwk})
    with pytest.raises(DPoPError, match="algorithm"):
        verify_proof(rs256, "GET", url, ReplayCache())
    hs256 = jwt.encode({"htm": "GET", "htu": url, "iat": int(time.time()), "jti": "3"},
                       "a-shared-secret-long-enough-for-hs256!!", algorithm="HS256",
                       headers={"typ": "dpop+jwt", "jwk": key.jwk})
    with pytest.raises(DPoPError, match="algorithm"):
        verify_proof(hs256, "GET", url, ReplayCache())


def _bound_token(gateway: Gateway, key: ProofKey) -> str:
    r = gateway.token_response("police", {"DPoP": key.proof("POST", f"{gateway.base}/oauth/token")})
    assert r.status_code == 200 and r.json()["token_type"] == "DPoP", r.text
    return str(r.json()["access_token"])


def test_a_client_secret_client_gets_a_bound_token_whose_jkt_is_its_proof_key(
    gateway: Gateway,
) -> None:
    key = ProofKey()
    token = _bound_token(gateway, key)
    assert jwt.decode(token, options={"verify_signature": False})["cnf"]["jkt"] == \
        jwk_thumbprint(key.jwk)


def test_a_bad_proof_at_the_token_endpoint_gets_no_token(gateway: Gateway) -> None:
    key = ProofKey()
    stale = key.proof("POST", f"{gateway.base}/oauth/token", iat=int(time.time()) - 3600)
    r = gateway.token_response("police", {"DPoP": stale})
    assert r.status_code == 400 and r.json()["error"] == "invalid_dpop_proof"
    elsewhere = key.proof("POST", "https://elsewhere.example/oauth/token")
    assert gateway.token_response("police", {"DPoP": elsewhere}).status_code == 400


def test_a_proof_may_spell_the_url_another_way_but_not_name_another(gateway: Gateway) -> None:
    key = ProofKey()
    token = _bound_token(gateway, key)
    spelt = gateway.base.replace("http://", "HTTP://") + "/v1/whoami?ignored=1"

    def call(htu: str) -> int:
        return httpx.get(f"{gateway.base}/v1/whoami", timeout=10, headers={
            "Authorization": f"DPoP {token}", "DPoP": key.proof("GET", htu, token)}).status_code

    assert call(spelt) == 200
    assert call(f"{gateway.base}/v1/whoami/") == 401
    assert call(gateway.base.replace("127.0.0.1", "localhost") + "/v1/whoami") == 401
