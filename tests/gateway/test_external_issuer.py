"""A real OpenID-certified provider (panva/oidc-provider, run with node on loopback) as an
external issuer: its access tokens are accepted through the configured claims adapter; tokens
for another audience, or from an issuer nobody configured, are not."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import jwt as pyjwt
import pytest
import yaml
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

from gateway.issuers import ExternalIssuer, IssuerConfigError, load_issuers
from gateway.tokens import InvalidToken
from tests.gateway.conftest import Gateway, copy_index, free_port, start_gateway

OIDC_DIR = Path(__file__).parent / "oidc"
AUDIENCE = "https://kinlink.example/api"
OTHER_AUDIENCE = "https://another-service.example/api"


def _start_provider(audience: str, pages_redirect: str | None = None, profile: str = "council",
                    resources: tuple[str, ...] = ()) -> tuple[subprocess.Popen[bytes], str]:
    """Start oidc-provider on a free port; ``profile`` shapes its claims (see provider.mjs) and
    ``resources`` are further audiences a client may ask for (RFC 8707 ``resource``)."""
    node = shutil.which("node")
    assert node, "node is required (installed with the machine; see .ci/run)"
    assert (OIDC_DIR / "node_modules" / "oidc-provider").exists(), (
        "oidc-provider is not installed: run `npm ci --prefix tests/gateway/oidc` (.ci/run does)")
    port = free_port()
    process = subprocess.Popen([node, str(OIDC_DIR / "provider.mjs"), str(port), audience,
                                "council-system", "council-secret",
                                *([pages_redirect] if pages_redirect else [])],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               env={**os.environ, "KINLINK_TEST_PROFILE": profile,
                                    "KINLINK_TEST_RESOURCES": ",".join(resources)})
    issuer = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if httpx.get(f"{issuer}/.well-known/openid-configuration", timeout=1).is_success:
                return process, issuer
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    output, _ = process.communicate()  # the provider prints a few lines at start, then nothing
    raise RuntimeError(f"oidc-provider did not start:\n{output.decode(errors='replace')}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=10)


@pytest.fixture(scope="module")
def provider() -> Iterator[str]:
    process, issuer = _start_provider(AUDIENCE, resources=(OTHER_AUDIENCE,))
    yield issuer
    _stop(process)


@pytest.fixture(scope="module")
def entra_provider() -> Iterator[str]:
    process, issuer = _start_provider(AUDIENCE, profile="entra")
    yield issuer
    _stop(process)


@pytest.fixture(scope="module")
def cis2_provider() -> Iterator[str]:
    process, issuer = _start_provider(AUDIENCE, profile="cis2")
    yield issuer
    _stop(process)


def entra_entry(issuer: str) -> dict[str, object]:
    # oidc-provider always types its JWT access tokens at+jwt; Entra's are typ JWT, which the
    # provider's customiser reproduces, so the adapter's default (JWT only) is kept.
    return {"issuer": issuer, "audience": AUDIENCE, "algorithms": ["RS256"], "adapter": "entra",
            "roles": {"Kinlink.Police": "mash-police-officer"}, "fixed": {"agency": "police"}}


def cis2_entry(issuer: str, roles: dict[str, str] | None = None) -> dict[str, object]:
    return {"issuer": issuer, "audience": AUDIENCE, "algorithms": ["ES256"], "adapter": "cis2",
            "roles": roles or {"R8003": "health-visitor", "R8010": "reception"},
            "organisations": {"X2B": "health"}, "fixed": {"purposes": ["direct-care"]}}


@pytest.fixture(scope="module")
def trusting_gateway(provider: str, entra_provider: str, cis2_provider: str,
                     linked_population: Path,
                     tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    """One gateway trusting three real providers, each through its own claims adapter."""
    directory = tmp_path_factory.mktemp("external-issuer")
    db = copy_index(linked_population, directory)
    issuers = directory / "issuers.yaml"
    issuers.write_text(yaml.safe_dump({"issuers": [{
        "issuer": provider, "audience": AUDIENCE, "algorithms": ["ES256", "RS256"],
        "claims": {"client_id": "client_id", "agency": "council_agency",
                   "role": "council_role", "purposes": "council_purposes"}},
        entra_entry(entra_provider), cis2_entry(cis2_provider)]}))
    os.environ["KINLINK_ISSUERS"] = str(issuers)
    try:
        gateway = start_gateway(db, directory / "server.log")
    finally:
        del os.environ["KINLINK_ISSUERS"]
    yield gateway
    gateway.stop()


def provider_token(issuer: str, resource: str | None = None) -> str:
    data = {"grant_type": "client_credentials", "scope": "kinlink"}
    if resource is not None:
        data["resource"] = resource
    r = httpx.post(f"{issuer}/token", auth=("council-system", "council-secret"), timeout=10,
                   data=data)
    assert r.status_code == 200, r.text
    return str(r.json()["access_token"])


def whoami(gateway: Gateway, token: str) -> httpx.Response:
    return httpx.get(f"{gateway.base}/v1/whoami", timeout=10,
                     headers={"Authorization": f"Bearer {token}"})


def test_a_real_oidc_provider_token_is_accepted_and_mapped(trusting_gateway: Gateway,
                                                           provider: str) -> None:
    me = whoami(trusting_gateway, provider_token(provider))
    assert me.status_code == 200, me.text
    body = me.json()
    assert body["issuer"] == provider and body["client_id"] == "council-system"
    assert body["agency"] == "police" and body["role"] == "mash-police-officer"
    assert body["purposes"] == ["s47-enquiry", "mash-triage"]
    # The embedded server's own tokens still work beside it.
    assert whoami(trusting_gateway, trusting_gateway.token("police")).status_code == 200


def test_a_token_from_the_trusted_issuer_for_another_audience_is_refused(
    trusting_gateway: Gateway, provider: str,
) -> None:
    token = provider_token(provider, resource=OTHER_AUDIENCE)
    assert pyjwt.decode(token, options={"verify_signature": False})["aud"] == OTHER_AUDIENCE
    r = whoami(trusting_gateway, token)
    assert r.status_code == 401 and "another audience" in r.headers["www-authenticate"]


def test_a_token_from_an_unknown_issuer_is_refused(trusting_gateway: Gateway) -> None:
    process, other = _start_provider(AUDIENCE)
    try:
        token = provider_token(other)
    finally:
        _stop(process)
    r = whoami(trusting_gateway, token)
    assert r.status_code == 401 and "untrusted issuer" in r.headers["www-authenticate"]


def test_an_entra_shaped_token_is_mapped_by_the_entra_adapter(trusting_gateway: Gateway,
                                                              entra_provider: str) -> None:
    token = provider_token(entra_provider)
    header = pyjwt.get_unverified_header(token)
    claims = pyjwt.decode(token, options={"verify_signature": False})
    assert header["typ"] == "JWT" and header["alg"] == "RS256"
    assert "client_id" not in claims and "jti" not in claims  # as Entra's own tokens
    me = whoami(trusting_gateway, token)
    assert me.status_code == 200, me.text
    body = me.json()
    assert body["client_id"] == claims["azp"] and body["jti"] == claims["uti"]
    assert body["role"] == "mash-police-officer" and body["agency"] == "police"
    assert body["purposes"] == ["s47-enquiry", "mash-triage"]
    assert body["user_id"] is None  # app-only: no member of staff behind it


def test_a_cis2_shaped_token_is_mapped_from_the_selected_role(trusting_gateway: Gateway,
                                                              cis2_provider: str) -> None:
    me = whoami(trusting_gateway, provider_token(cis2_provider))
    assert me.status_code == 200, me.text
    body = me.json()
    # The selected role (R8003 at X2B), not the user's first listed one (R8010 at X1A).
    assert body["role"] == "health-visitor" and body["agency"] == "health"
    assert body["user_id"] == "900000000001" and body["purposes"] == ["direct-care"]


@pytest.mark.parametrize("change,message", [
    ({"roles": {"R8010": "reception"}}, "not one this issuer may grant"),
    ({"organisations": {"X1A": "health"}}, "organisation is not one"),
])
def test_a_cis2_role_or_organisation_the_issuer_may_not_grant_is_refused(
    cis2_provider: str, tmp_path: Path, change: dict[str, object], message: str,
) -> None:
    config = tmp_path / "issuers.yaml"
    config.write_text(yaml.safe_dump({"issuers": [{**cis2_entry(cis2_provider), **change}]}))
    issuer = load_issuers(config)[cis2_provider]
    token = provider_token(cis2_provider)
    with pytest.raises(InvalidToken, match=message):
        issuer.validate(token, pyjwt.get_unverified_header(token))


def test_an_issuer_pinned_to_other_algorithms_or_types_refuses(provider: str,
                                                               entra_provider: str,
                                                               tmp_path: Path) -> None:
    config = tmp_path / "issuers.yaml"
    config.write_text(yaml.safe_dump({"issuers": [
        {"issuer": provider, "audience": AUDIENCE, "algorithms": ["PS256"]},
        {**entra_entry(entra_provider), "token_types": ["at+jwt"]}]}))
    issuers = load_issuers(config)
    for url, message in ((provider, "algorithm not accepted"), (entra_provider, "typ")):
        token = provider_token(url)
        with pytest.raises(InvalidToken, match=message):
            issuers[url].validate(token, pyjwt.get_unverified_header(token))


@pytest.mark.parametrize("entry,field", [
    ({"audience": "a", "algorithms": ["ES256"]}, "issuer"),
    ({"issuer": "https://x", "audience": "a", "algorithms": ["HS256"]}, "algorithms"),
    ({"issuer": "https://x", "audience": "a", "algorithms": ["none"]}, "algorithms"),
    ({"issuer": "https://x", "audience": "a", "algorithms": ["ES256"], "claims": {"x": "y"}},
     "claims.x"),
    ({"issuer": "https://x", "audience": "a", "algorithms": ["ES256"], "adapter": "okta"},
     "adapter"),
    ({"issuer": "https://x", "audience": "a", "algorithms": ["RS256"], "adapter": "entra"},
     "fixed.agency"),
    ({"issuer": "https://x", "audience": "a", "algorithms": ["ES256"], "adapter": "cis2",
      "organisations": {"X1": "health"}}, "roles"),
    ({"issuer": "https://x", "audience": "a", "algorithms": ["ES256"], "adapter": "cis2",
      "roles": {"R1": "nurse"}}, "organisations"),
    ({"issuer": "https://x", "audience": "a", "algorithms": ["ES256"], "token_types": []},
     "token_types"),
    ({"issuer": "https://x", "audience": "a", "algorithms": ["ES256"], "roles": {"R1": 3}},
     "roles"),
])
def test_bad_issuer_configuration_names_the_field(tmp_path: Path, entry: dict[str, object],
                                                  field: str) -> None:
    config = tmp_path / "issuers.yaml"
    config.write_text(yaml.safe_dump({"issuers": [entry]}))
    with pytest.raises(IssuerConfigError) as caught:
        load_issuers(config)
    assert str(config) in str(caught.value) and f".{field}" in str(caught.value)


def test_an_issuer_configured_twice_is_an_error(tmp_path: Path) -> None:
    entry = {"issuer": "https://x", "audience": "a", "algorithms": ["ES256"]}
    config = tmp_path / "issuers.yaml"
    config.write_text(yaml.safe_dump({"issuers": [entry, entry]}))
    with pytest.raises(IssuerConfigError, match=r"issuers\[1\]\.issuer"):
        load_issuers(config)


class KeyServer(ThreadingHTTPServer):
    """An issuer's discovery document and JWKS over real HTTP, counting what is fetched, so the
    gateway's key cache can be watched through a rotation."""

    def __init__(self) -> None:
        self.keys: list[dict[str, str]] = []
        self.hits = {"discovery": 0, "jwks": 0}
        self.discovery_broken = False
        self.advertised_issuer: str | None = None  # the issuer its discovery document names
        super().__init__(("127.0.0.1", 0), _KeyHandler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _KeyHandler(BaseHTTPRequestHandler):
    server: KeyServer

    def do_GET(self) -> None:
        if self.path == "/.well-known/openid-configuration":
            self.server.hits["discovery"] += 1
            if self.server.discovery_broken:
                self.send_error(500)
                return
            body = {"issuer": self.server.advertised_issuer or self.server.url,
                    "jwks_uri": f"{self.server.url}/jwks.json"}
        elif self.path == "/jwks.json":
            self.server.hits["jwks"] += 1
            body = {"keys": self.server.keys}
        else:
            self.send_error(404)
            return
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


class SigningKey:
    def __init__(self) -> None:
        self.private = ec.generate_private_key(ec.SECP256R1())
        self.kid = uuid.uuid4().hex
        self.jwk = {**json.loads(ECAlgorithm.to_jwk(self.private.public_key())),
                    "kid": self.kid, "alg": "ES256", "use": "sig"}

    def token(self, issuer: str, kid: str | None = None) -> str:
        now = int(time.time())
        return pyjwt.encode({"iss": issuer, "aud": AUDIENCE, "iat": now, "exp": now + 60,
                             "jti": uuid.uuid4().hex, "client_id": "c", "agency": "police",
                             "role": "mash-police-officer", "purposes": ["mash-triage"]},
                            self.private, algorithm="ES256",
                            headers={"typ": "at+jwt", "kid": kid or self.kid})


def _issuer_at(server: KeyServer, tmp_path: Path, cooldown: float) -> ExternalIssuer:
    config = tmp_path / "issuers.yaml"
    config.write_text(yaml.safe_dump({"issuers": [
        {"issuer": server.url, "audience": AUDIENCE, "algorithms": ["ES256"]}]}))
    issuer = load_issuers(config)[server.url]
    issuer.jwks_cooldown = cooldown
    return issuer


def _check(issuer: ExternalIssuer, token: str) -> str:
    return issuer.validate(token, pyjwt.get_unverified_header(token)).client_id


def test_keys_rotate_without_restart_and_unknown_key_ids_cannot_flood_the_issuer(
    tmp_path: Path,
) -> None:
    server = KeyServer()
    try:
        old, new = SigningKey(), SigningKey()
        server.keys = [old.jwk]
        issuer = _issuer_at(server, tmp_path, cooldown=1.0)
        assert _check(issuer, old.token(server.url)) == "c"
        assert server.hits == {"discovery": 1, "jwks": 1}
        for _ in range(30):  # random key IDs: refused, and no refetch within the cooldown
            with pytest.raises(InvalidToken, match="unknown key"):
                _check(issuer, old.token(server.url, kid=uuid.uuid4().hex))
        assert server.hits["jwks"] == 1
        server.keys = [new.jwk]  # the provider rotates and withdraws the old key
        time.sleep(1.1)
        assert _check(issuer, new.token(server.url)) == "c"
        assert server.hits["jwks"] == 2
        with pytest.raises(InvalidToken, match="unknown key"):
            _check(issuer, old.token(server.url))  # a withdrawn key is not kept
    finally:
        server.shutdown()


def test_an_unavailable_issuer_is_refused_and_not_hammered(tmp_path: Path) -> None:
    server = KeyServer()
    try:
        server.discovery_broken = True
        key = SigningKey()
        server.keys = [key.jwk]
        issuer = _issuer_at(server, tmp_path, cooldown=1.0)
        for _ in range(5):
            with pytest.raises(InvalidToken, match="unavailable"):
                _check(issuer, key.token(server.url))
        assert server.hits["discovery"] == 1
        server.discovery_broken = False
        time.sleep(1.1)
        assert _check(issuer, key.token(server.url)) == "c"
    finally:
        server.shutdown()


def test_discovery_may_live_elsewhere_but_must_name_the_configured_issuer(tmp_path: Path) -> None:
    """Entra v1.0 tokens name https://sts.windows.net/TENANT/ as issuer while the discovery
    document is served from login.microsoftonline.com: ``discovery_url`` says where."""
    server = KeyServer()
    try:
        key = SigningKey()
        server.keys = [key.jwk]
        elsewhere = "https://sts.example.org/tenant/"
        server.advertised_issuer = elsewhere
        config = tmp_path / "issuers.yaml"
        config.write_text(yaml.safe_dump({"issuers": [
            {"issuer": elsewhere, "audience": AUDIENCE, "algorithms": ["ES256"],
             "discovery_url": f"{server.url}/.well-known/openid-configuration"},
            {"issuer": server.url, "audience": AUDIENCE, "algorithms": ["ES256"]}]}))
        issuers = load_issuers(config)
        assert _check(issuers[elsewhere], key.token(elsewhere)) == "c"
        # The document names another issuer than the one configured at this URL: refused.
        with pytest.raises(InvalidToken, match="names another issuer"):
            _check(issuers[server.url], key.token(server.url))
    finally:
        server.shutdown()
