"""Opaque shared identifiers with a check character.

An ID must carry no personal data (it travels in letters and other agencies' systems) and must
catch a mistyped character when read over the phone. So it is random characters from a 31-symbol
alphabet (Crockford's base32 without V: no I, L, O, U or V to confuse) and a check character from
the same alphabet, chosen so that the position-weighted sum of all 13 symbols is 0 modulo 31.
Because 31 is prime and every weight differs, *every* single substitution and *every* adjacent
transposition changes that sum, so each is caught (ISO 7064's hybrid MOD 37,36, used before,
misses a few transpositions). Every character is safe in a URL, a CSV and a spoken call.
"""

from __future__ import annotations

import secrets
from typing import Final, Literal

__all__ = ["IdKind", "is_valid_id", "new_id"]

IdKind = Literal["person", "family"]

_ALPHABET: Final = "0123456789ABCDEFGHJKMNPQRSTWXYZ"
_MODULUS: Final = 31
_PREFIX: Final[dict[str, str]] = {"person": "P", "family": "F"}
_BODY_LENGTH: Final = 12  # 59 random bits: collisions are negligible at national scale


def _weighted_sum(symbols: str) -> int:
    return sum((k + 1) * _ALPHABET.index(c) for k, c in enumerate(symbols)) % _MODULUS


def _check_symbol(body: str) -> str:
    # Choose c so that sum(body) + 13·c ≡ 0 (mod 31); 13 is invertible mod 31 (13·12 = 156 ≡ 1).
    inverse = pow(_BODY_LENGTH + 1, -1, _MODULUS)
    return _ALPHABET[(-_weighted_sum(body) * inverse) % _MODULUS]


#: How many bodies there are: one uniform draw below it is the whole body, read as base-31 digits.
_BODIES: Final = _MODULUS**_BODY_LENGTH
_INVERSE: Final = pow(_BODY_LENGTH + 1, -1, _MODULUS)


def new_id(kind: IdKind) -> str:
    # One draw from the OS's secure source, not twelve: a link run mints an ID per new person and
    # family (a million at 1M records), and twelve ``secrets.choice`` calls cost several times
    # this. The check symbol is the one ``_check_symbol`` gives, computed from the digits drawn.
    value = secrets.randbelow(_BODIES)
    digits = []
    for _ in range(_BODY_LENGTH):
        value, digit = divmod(value, _MODULUS)
        digits.append(digit)
    check = (-sum((k + 1) * d for k, d in enumerate(digits)) * _INVERSE) % _MODULUS
    return _PREFIX[kind] + "".join(_ALPHABET[d] for d in digits) + _ALPHABET[check]


def is_valid_id(value: str, kind: IdKind | None = None) -> bool:
    """Whether ``value`` is a well-formed ID (of ``kind``, if given) with a correct check symbol."""
    if not isinstance(value, str) or len(value) != _BODY_LENGTH + 2:
        return False
    prefix, symbols = value[0], value[1:]
    if kind is not None and prefix != _PREFIX[kind]:
        return False
    if prefix not in _PREFIX.values() or any(c not in _ALPHABET for c in symbols):
        return False
    return _weighted_sum(symbols) == 0
