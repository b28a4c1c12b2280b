"""Opaque shared identifiers with a check character.

An ID must carry no personal data (it travels in letters and other agencies' systems) and must
catch a mistyped character when read over the phone, so it is random Crockford base32 (no I, L, O
or U to confuse) with an ISO 7064 MOD 37,36 check character (a digit or capital letter): any single
substitution or adjacent transposition is caught, and every character is safe in a URL or a CSV.
"""

from __future__ import annotations

import secrets
from typing import Final, Literal

__all__ = ["IdKind", "is_valid_id", "new_id"]

IdKind = Literal["person", "family"]

_ALPHABET: Final = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_ALPHANUMERIC: Final = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_PREFIX: Final[dict[str, str]] = {"person": "P", "family": "F"}
_BODY_LENGTH: Final = 12  # 60 random bits: collisions are negligible at national scale


def _check_symbol(body: str) -> str:
    modulus = 36
    product = modulus
    for char in body:
        total = (product + _ALPHANUMERIC.index(char)) % modulus or modulus
        product = (total * 2) % (modulus + 1)
    return _ALPHANUMERIC[(modulus + 1 - product) % modulus]


def new_id(kind: IdKind) -> str:
    body = "".join(secrets.choice(_ALPHABET) for _ in range(_BODY_LENGTH))
    return f"{_PREFIX[kind]}{body}{_check_symbol(body)}"


def is_valid_id(value: str, kind: IdKind | None = None) -> bool:
    """Whether ``value`` is a well-formed ID (of ``kind``, if given) with a correct check symbol."""
    if not isinstance(value, str) or len(value) != _BODY_LENGTH + 2:
        return False
    prefix, body, check = value[0], value[1:-1], value[-1]
    if kind is not None and prefix != _PREFIX[kind]:
        return False
    if prefix not in _PREFIX.values() or any(c not in _ALPHABET for c in body):
        return False
    return _check_symbol(body) == check
