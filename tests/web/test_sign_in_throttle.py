"""Staff sign-in is throttled per username and per address, and failures are audited (issue 19
finding 13): before, a password could be guessed for ever, unseen, each guess an scrypt hash."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient

import gateway.users
from gateway.app import create_app
from gateway.settings import GatewaySettings
from gateway.users import StaffRegistry
from gateway.web.sign_in_throttle import SignInThrottle
from tests.conftest import POLICY_DATE
from tests.gateway.conftest import copy_index


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_username_is_locked_after_its_limit_and_freed_after_the_lockout() -> None:
    clock = Clock()
    throttle = SignInThrottle(per_user=3, per_address=100, window_seconds=60,
                              lockout_seconds=300, clock=clock)
    for _ in range(2):
        throttle.failed("s.worker", "10.0.0.1")
    assert throttle.wait_seconds("s.worker", "10.0.0.2") == 0
    throttle.failed("S.Worker ", "10.0.0.3")           # the same user, however typed
    assert throttle.wait_seconds("s.worker", "10.0.0.9") == 300
    assert throttle.wait_seconds("someone.else", "10.0.0.9") == 0
    clock.now += 301
    assert throttle.wait_seconds("s.worker", "10.0.0.1") == 0


def test_failures_outside_the_window_do_not_count() -> None:
    clock = Clock()
    throttle = SignInThrottle(per_user=3, window_seconds=60, clock=clock)
    for _ in range(5):
        throttle.failed("u", "a")
        clock.now += 31                                 # never three inside one minute
    assert throttle.wait_seconds("u", "a") == 0


def test_an_address_spraying_usernames_is_locked() -> None:
    throttle = SignInThrottle(per_user=5, per_address=4, clock=Clock())
    for n in range(4):
        throttle.failed(f"user{n}", "192.0.2.7")
    assert throttle.wait_seconds("user99", "192.0.2.7") > 0
    assert throttle.wait_seconds("user99", "192.0.2.8") == 0


def test_a_success_clears_the_usernames_count() -> None:
    throttle = SignInThrottle(per_user=3, per_address=100, clock=Clock())
    throttle.failed("u", "a")
    throttle.failed("u", "a")
    throttle.succeeded("u")
    throttle.failed("u", "a")
    assert throttle.wait_seconds("u", "a") == 0


def test_guessing_over_http_is_refused_unhashed_and_audited(
        linked_population: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = GatewaySettings(db_path=copy_index(linked_population, tmp_path),
                               issuer="http://testserver", policy_date=POLICY_DATE)
    app = create_app(settings)
    app.state.sign_in_throttle = SignInThrottle(per_user=3, clock=Clock())
    StaffRegistry(settings.users_path).add("s.worker", "S", "social_care", "mash-social-worker",
                                           ["mash-triage"], password="pw-pw-pw-pw")
    hashes = []
    real = gateway.users.hash_secret
    monkeypatch.setattr(gateway.users, "hash_secret",
                        lambda secret, salt: hashes.append(1) or real(secret, salt))
    with TestClient(app) as client:
        start = client.get("/sign-in", follow_redirects=False)
        params = {k: v[0] for k, v in parse_qs(urlsplit(start.headers["location"]).query).items()}
        form = {k: params[k] for k in ("client_id", "redirect_uri", "code_challenge", "state")}

        def attempt(password: str) -> int:
            return client.post("/oauth/authorize", data={**form, "username": "s.worker",
                                                         "password": password},
                               follow_redirects=False).status_code

        assert [attempt(f"guess-{n}") for n in range(3)] == [401, 401, 401]
        assert len(hashes) == 3
        assert attempt("pw-pw-pw-pw") == 429, "locked: even the right password waits"
        assert len(hashes) == 3, "a refused attempt costs no scrypt hash"
        rows = app.state.audit.cursor().execute(
            "SELECT event_json FROM audit_events ORDER BY seq").fetchall()
    events = [json.loads(r[0]) for r in rows]
    failed = [e for e in events if (e.get("detail") or "").startswith("sign-in failed")]
    refused = [e for e in events if (e.get("detail") or "").startswith("sign-in refused")]
    assert len(failed) == 3 and len(refused) == 1
    assert all(e["user_id"] == "s.worker" and e["outcome"] == "deny" for e in failed + refused)
