"""A token that passed the full check is remembered by its exact text (issue 19 throughput): the
same text again skips the signature check, while everything that can change since is checked
again — the published keys (a rotation or a removed key re-verifies) and the time claims."""

from __future__ import annotations

from pathlib import Path

import jwt
import pytest

from gateway import tokens
from gateway.clients import Client
from gateway.keys import KEEP_PREVIOUS, KeyStore
from gateway.tokens import Caller, InvalidToken, TokenIssuer, TokenValidator, _Verified

ISSUER, AUDIENCE = "https://gw.example", "kinlink-api"
CLIENT = Client("kl-1", "bench", "police", "mash-police-officer", ("s47-enquiry",))


@pytest.fixture
def keys(tmp_path: Path) -> KeyStore:
    store = KeyStore(tmp_path / "keys")
    store.rotate()
    return store


def counting_decode(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record every full signature check the validator makes."""
    calls: list[str] = []
    real = jwt.decode

    def decode(token: str, *args: object, **kwargs: object) -> object:
        if kwargs.get("key") is not None:
            calls.append(token)
        return real(token, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(tokens.jwt, "decode", decode)
    return calls


def test_same_token_is_checked_in_full_once(keys: KeyStore,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    calls = counting_decode(monkeypatch)
    validator = TokenValidator(keys, ISSUER, AUDIENCE)
    token = TokenIssuer(keys, ISSUER, AUDIENCE, 600).issue(CLIENT)
    first = validator.validate(token)
    assert validator.validate(token) == first
    assert calls == [token]


def test_a_changed_token_is_checked_in_full_and_refused(keys: KeyStore) -> None:
    validator = TokenValidator(keys, ISSUER, AUDIENCE)
    token = TokenIssuer(keys, ISSUER, AUDIENCE, 600).issue(CLIENT)
    validator.validate(token)
    head, payload, signature = token.split(".")
    tampered = ".".join([head, payload, signature[:-2] + ("AA" if signature[-2:] != "AA" else "BB")])
    with pytest.raises(InvalidToken):
        validator.validate(tampered)


def test_rotation_re_verifies_and_a_removed_key_refuses(keys: KeyStore,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    calls = counting_decode(monkeypatch)
    validator = TokenValidator(keys, ISSUER, AUDIENCE)
    token = TokenIssuer(keys, ISSUER, AUDIENCE, 600).issue(CLIENT)
    validator.validate(token)
    keys.rotate()  # the published set changed: verified again, against the new set
    validator.validate(token)
    assert calls == [token, token]
    for _ in range(KEEP_PREVIOUS):
        keys.rotate()  # the key that signed the token is no longer published
    with pytest.raises(InvalidToken, match="unknown key"):
        validator.validate(token)


def test_time_claims_are_judged_again_on_every_use() -> None:
    """PyJWT's comparisons, at moments given here (no clock): exp strictly after now - leeway,
    nbf and iat no later than now + leeway; and only against the JWKS that verified it."""
    jwks: dict[str, object] = {"keys": []}
    caller = Caller("kl-1", "police", "mash-police-officer", ("s47-enquiry",), None, "j", ISSUER)
    known = _Verified(caller, jwks, exp=1000.0, nbf=100.0, iat=100.0)
    assert known.holds(jwks, 500.0, 30)
    assert known.holds(jwks, 1029.0, 30) and not known.holds(jwks, 1030.0, 30)
    assert known.holds(jwks, 70.0, 30) and not known.holds(jwks, 69.0, 30)
    assert not known.holds({"keys": []}, 500.0, 30)  # an equal but newer JWKS: verify again
    later_iat = _Verified(caller, jwks, exp=1000.0, nbf=None, iat=200.0)
    assert later_iat.holds(jwks, 170.0, 30) and not later_iat.holds(jwks, 169.0, 30)


def test_memory_is_bounded(keys: KeyStore, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tokens, "VERIFIED_TOKENS", 2)
    validator = TokenValidator(keys, ISSUER, AUDIENCE)
    issuer = TokenIssuer(keys, ISSUER, AUDIENCE, 600)
    for _ in range(5):
        validator.validate(issuer.issue(CLIENT))
        assert len(validator._verified) <= 2
