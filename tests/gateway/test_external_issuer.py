"""A real OpenID-certified provider (panva/oidc-provider, run with node on loopback) as an
external issuer: its access tokens are accepted through the configured claims adapter; tokens
for another audience, or from an issuer nobody configured, are not."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from tests.gateway.conftest import Gateway, copy_index, free_port, start_gateway

OIDC_DIR = Path(__file__).parent / "oidc"
AUDIENCE = "https://kinlink.example/api"


def _start_provider(audience: str,
                    pages_redirect: str | None = None) -> tuple[subprocess.Popen[bytes], str]:
    node = shutil.which("node")
    assert node, "node is required (installed with the machine; see .ci/run)"
    assert (OIDC_DIR / "node_modules" / "oidc-provider").exists(), (
        "oidc-provider is not installed: run `npm ci --prefix tests/gateway/oidc` (.ci/run does)")
    port = free_port()
    process = subprocess.Popen([node, str(OIDC_DIR / "provider.mjs"), str(port), audience,
                                "council-system", "council-secret",
                                *([pages_redirect] if pages_redirect else [])],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    issuer = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{issuer}/.well-known/openid-configuration", timeout=1).is_success:
                return process, issuer
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("oidc-provider did not start")


@pytest.fixture(scope="module")
def provider() -> Iterator[str]:
    process, issuer = _start_provider(AUDIENCE)
    yield issuer
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=10)


@pytest.fixture(scope="module")
def trusting_gateway(provider: str, linked_population: Path,
                     tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    directory = tmp_path_factory.mktemp("external-issuer")
    db = copy_index(linked_population, directory)
    issuers = directory / "issuers.yaml"
    issuers.write_text(yaml.safe_dump({"issuers": [{
        "issuer": provider, "audience": AUDIENCE, "algorithms": ["ES256", "RS256"],
        "claims": {"client_id": "client_id", "agency": "council_agency",
                   "role": "council_role", "purposes": "council_purposes"}}]}))
    os.environ["KINLINK_ISSUERS"] = str(issuers)
    try:
        gateway = start_gateway(db, directory / "server.log")
    finally:
        del os.environ["KINLINK_ISSUERS"]
    yield gateway
    gateway.stop()


def provider_token(issuer: str) -> str:
    r = httpx.post(f"{issuer}/token", auth=("council-system", "council-secret"), timeout=10,
                   data={"grant_type": "client_credentials", "scope": "kinlink"})
    assert r.status_code == 200, r.text
    return str(r.json()["access_token"])


def test_a_real_oidc_provider_token_is_accepted_and_mapped(trusting_gateway: Gateway,
                                                           provider: str) -> None:
    token = provider_token(provider)
    me = httpx.get(f"{trusting_gateway.base}/v1/whoami", timeout=10,
                   headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200, me.text
    body = me.json()
    assert body["issuer"] == provider and body["client_id"] == "council-system"
    assert body["agency"] == "police" and body["role"] == "mash-police-officer"
    assert body["purposes"] == ["s47-enquiry", "mash-triage"]
    # The embedded server's own tokens still work beside it.
    own = httpx.get(f"{trusting_gateway.base}/v1/whoami", timeout=10,
                    headers={"Authorization": f"Bearer {trusting_gateway.token('police')}"})
    assert own.status_code == 200


def test_a_token_for_another_audience_or_from_an_unknown_issuer_is_refused(
    trusting_gateway: Gateway,
) -> None:
    process, other = _start_provider("https://another-service.example/api")
    try:
        token = provider_token(other)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=10)
    r = httpx.get(f"{trusting_gateway.base}/v1/whoami", timeout=10,
                  headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 401 and "untrusted issuer" in r.headers["www-authenticate"]


def test_wrong_audience_from_the_trusted_issuer(provider: str, trusting_gateway: Gateway,
                                                tmp_path: Path) -> None:
    """Same issuer, other audience: a second provider process cannot share the issuer URL, so
    the check is made by pointing a second gateway's configuration at another audience."""
    from gateway.issuers import load_issuers

    config = tmp_path / "issuers.yaml"
    config.write_text(yaml.safe_dump({"issuers": [{
        "issuer": provider, "audience": "https://not-kinlink.example", "algorithms": ["ES256"],
        "claims": {"agency": "council_agency", "role": "council_role",
                   "purposes": "council_purposes"}}]}))
    issuer = load_issuers(config)[provider]
    import jwt as pyjwt

    from gateway.tokens import InvalidToken

    token = provider_token(provider)
    with pytest.raises(InvalidToken, match="another audience"):
        issuer.validate(token, pyjwt.get_unverified_header(token))


@pytest.mark.parametrize("entry,field", [
    ({"audience": "a", "algorithms": ["ES256"]}, "issuer"),
    ({"issuer": "https://x", "audience": "a", "algorithms": ["HS256"]}, "algorithms"),
    ({"issuer": "https://x", "audience": "a", "algorithms": ["ES256"], "claims": {"x": "y"}},
     "claims.x"),
])
def test_bad_issuer_configuration_names_the_field(tmp_path: Path, entry: dict[str, object],
                                                  field: str) -> None:
    from gateway.issuers import IssuerConfigError, load_issuers

    config = tmp_path / "issuers.yaml"
    config.write_text(yaml.safe_dump({"issuers": [entry]}))
    with pytest.raises(IssuerConfigError) as caught:
        load_issuers(config)
    assert str(config) in str(caught.value) and field in str(caught.value)

