"""An unauthenticated request gets a well-formed 401, whatever the token's header holds
(issue 19 finding 12): a token's ``typ`` was echoed into ``WWW-Authenticate`` unescaped, so a
quote forged extra parameters and a character outside latin-1 made the answer a 500."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import jwt as pyjwt
import pytest
import yaml
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi.testclient import TestClient

from gateway.app import create_app
from gateway.settings import GatewaySettings
from tests.conftest import POLICY_DATE
from tests.gateway.conftest import copy_index

EXTERNAL = "http://127.0.0.1:9/realm"


@pytest.fixture
def client(linked_population: Path, tmp_path: Path) -> TestClient:
    config = tmp_path / "issuers.yaml"
    config.write_text(yaml.safe_dump({"issuers": [
        {"issuer": EXTERNAL, "audience": "kinlink", "algorithms": ["ES256"]}]}))
    settings = dataclasses.replace(
        GatewaySettings(db_path=copy_index(linked_population, tmp_path),
                        issuer="http://testserver", policy_date=POLICY_DATE),
        issuers_path=config)
    return TestClient(create_app(settings))


def forged(typ: str) -> str:
    now = int(time.time())
    return pyjwt.encode({"iss": EXTERNAL, "aud": "kinlink", "iat": now, "exp": now + 60},
                        ec.generate_private_key(ec.SECP256R1()), algorithm="ES256",
                        headers={"typ": typ, "kid": "k1"})


@pytest.mark.parametrize("typ", ['JWT", error="forged', "jwt\u20ac", "a\\b\r\nX-Injected: 1"])
def test_a_forged_typ_never_reaches_the_challenge(client: TestClient, typ: str) -> None:
    r = client.get("/v1/persons/PAAAAAAAAAAA", params={"purpose": "s47-enquiry"},
                   headers={"Authorization": f"Bearer {forged(typ)}"})
    assert r.status_code == 401, r.text
    challenge = r.headers["www-authenticate"]
    assert challenge.startswith('Bearer realm="kinlink", error="invalid_token"')
    assert challenge.count('"') % 2 == 0 and "forged" not in challenge
    assert "x-injected" not in {k.lower() for k in r.headers}
    challenge.encode("ascii")  # nothing outside ASCII in a header
