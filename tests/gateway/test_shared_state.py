"""The gateway's small shared state on a real PostgreSQL: registers and things used once.

Several gateway workers must agree on registered clients and staff, and a proof ID or an
authorization code used at one worker must be spent at all of them."""

from __future__ import annotations

import base64
import hashlib
import multiprocessing
import time

from gateway.clients import ClientRegistry
from gateway.one_time import SharedAuthorizationCodes, SharedReplayCache
from gateway.users import StaffRegistry, StaffUser
from stores.database import PostgresLocation, close_pools


def test_clients_and_staff_registered_in_postgresql(postgres_url: str) -> None:
    clients = ClientRegistry(postgres_url)
    client, secret = clients.add("police system", "police", "mash-police-officer", ["mash-triage"])
    other_worker = ClientRegistry(postgres_url)
    assert other_worker.authenticate(client.client_id, secret) == client
    assert other_worker.authenticate(client.client_id, secret + "x") is None
    keyed, private = clients.add_with_key("health system", "health", "mash-health", ["mash-triage"])
    found = other_worker.public_key(keyed.client_id)
    assert found is not None and found[1]["x"] == private["x"]
    assert {c.client_id for c in other_worker.list()} == {client.client_id, keyed.client_id}

    staff = StaffRegistry(postgres_url)
    password = staff.add("sam", "Sam Social Worker", "social_care", "mash-social-worker",
                         ["s47-enquiry"])
    staff.add("sam", "Sam Social Worker", "social_care", "mash-social-worker",
              ["s47-enquiry", "mash-triage"], password=password)  # replaced, not duplicated
    user = StaffRegistry(postgres_url).authenticate("sam", password)
    assert user is not None and user.purposes == ("s47-enquiry", "mash-triage")


def _offer(url: str, jti: str, results: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    cache = SharedReplayCache(PostgresLocation(url), "dpop", window_seconds=120)
    results.put(cache.check_and_add(jti, time.time()))
    close_pools()


def test_a_proof_id_is_accepted_once_across_processes(postgres_url: str) -> None:
    spawn = multiprocessing.get_context("spawn")
    results = spawn.Queue()
    workers = [spawn.Process(
        target=_offer, args=(postgres_url, "proof-1", results)) for _ in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=60)
    outcomes = [results.get(timeout=5) for _ in workers]
    assert sorted(outcomes) == [False, False, False, True]


def test_an_expired_proof_id_may_be_seen_again(postgres_url: str) -> None:
    cache = SharedReplayCache(PostgresLocation(postgres_url), "dpop", window_seconds=10)
    assert cache.check_and_add("j", now=1000.0)
    assert not cache.check_and_add("j", now=1005.0)
    assert cache.check_and_add("j", now=1011.0)
    other_kind = SharedReplayCache(PostgresLocation(postgres_url), "client-assertion", 10)
    assert other_kind.check_and_add("j", now=1011.0)


def test_a_code_issued_by_one_worker_is_redeemed_once_at_another(postgres_url: str) -> None:
    user = StaffUser("sam", "Sam", "social_care", "mash-social-worker", ("s47-enquiry",))
    verifier = "v" * 50
    challenge = base64.urlsafe_b64encode(
        hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    first = SharedAuthorizationCodes(PostgresLocation(postgres_url))
    second = SharedAuthorizationCodes(PostgresLocation(postgres_url))
    code = first.issue(user, challenge, "http://gw/auth/callback")
    assert second.redeem(code, "wrong" * 10, "http://gw/auth/callback") is None  # spent anyway
    code = first.issue(user, challenge, "http://gw/auth/callback")
    assert second.redeem(code, verifier, "http://elsewhere/cb") is None
    code = first.issue(user, challenge, "http://gw/auth/callback")
    assert second.redeem(code, verifier, "http://gw/auth/callback") == user
    assert first.redeem(code, verifier, "http://gw/auth/callback") is None
    expired = SharedAuthorizationCodes(PostgresLocation(postgres_url), lifetime_seconds=-1)
    code = expired.issue(user, challenge, "http://gw/auth/callback")
    assert second.redeem(code, verifier, "http://gw/auth/callback") is None
