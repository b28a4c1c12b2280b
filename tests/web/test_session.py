"""Session time-outs and the authorization-code flow's own checks, in process."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from fastapi.testclient import TestClient

from gateway.app import create_app
from gateway.settings import GatewaySettings
from gateway.users import StaffRegistry
from tests.conftest import POLICY_DATE
from tests.gateway.conftest import copy_index


def signed_in_client(db: Path, **settings: int) -> TestClient:
    base = GatewaySettings(db_path=db, issuer="http://testserver", policy_date=POLICY_DATE)
    app = create_app(dataclasses.replace(base, **settings))
    StaffRegistry(base.users_path).add("u", "U", "social_care", "mash-social-worker",
                                       ["mash-triage"], password="pw-pw-pw-pw")
    client = TestClient(app)
    start = client.get("/sign-in", follow_redirects=False)
    params = {k: v[0] for k, v in parse_qs(urlsplit(start.headers["location"]).query).items()}
    form = {k: params[k] for k in ("client_id", "redirect_uri", "code_challenge", "state")}
    wrong = client.post("/oauth/authorize", data={**form, "username": "u", "password": "nope"})
    assert wrong.status_code == 401
    done = client.post("/oauth/authorize", data={**form, "username": "u", "password": "pw-pw-pw-pw"})
    assert done.status_code == 200 and done.url.path == "/purpose"
    return client


def test_idle_sessions_end(linked_population: Path, tmp_path: Path) -> None:
    client = signed_in_client(copy_index(linked_population, tmp_path), session_idle_seconds=1)
    assert client.get("/purpose", follow_redirects=False).status_code == 200
    time.sleep(1.3)
    gone = client.get("/purpose", follow_redirects=False)
    assert gone.status_code == 303 and gone.headers["location"] == "/sign-in"


def test_absolute_time_out_ends_even_a_busy_session(linked_population: Path,
                                                    tmp_path: Path) -> None:
    client = signed_in_client(copy_index(linked_population, tmp_path),
                              session_absolute_seconds=2)
    for _ in range(3):
        assert client.get("/purpose", follow_redirects=False).status_code == 200
        time.sleep(0.5)
    time.sleep(0.8)
    assert client.get("/purpose", follow_redirects=False).status_code == 303


def test_a_code_is_single_use_and_bound_to_its_verifier(linked_population: Path,
                                                        tmp_path: Path) -> None:
    db = copy_index(linked_population, tmp_path)
    app = create_app(GatewaySettings(db_path=db, issuer="http://testserver", policy_date=POLICY_DATE))
    StaffRegistry(GatewaySettings(db_path=db).users_path).add(
        "u", "U", "social_care", "mash-social-worker", ["mash-triage"], password="pw-pw-pw-pw")
    with TestClient(app) as client:
        start = client.get("/sign-in", follow_redirects=False)
        params = {k: v[0] for k, v in parse_qs(urlsplit(start.headers["location"]).query).items()}
        form = {k: params[k] for k in ("client_id", "redirect_uri", "code_challenge", "state")}
        answer = client.post("/oauth/authorize", data={**form, "username": "u",
                                                       "password": "pw-pw-pw-pw"},
                             follow_redirects=False)
        code = parse_qs(urlsplit(answer.headers["location"]).query)["code"][0]
        codes = app.state.codes
        assert codes.redeem(code, "not-the-verifier", form["redirect_uri"]) is None
        assert codes.redeem(code, "anything", form["redirect_uri"]) is None   # already spent
        evil = client.get("/oauth/authorize", params={**params,
                                                      "redirect_uri": "https://evil.example/cb"})
        assert evil.status_code == 400
