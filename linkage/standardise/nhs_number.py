"""NHS numbers: digits only, the mod-11 check digit, and placeholders treated as missing.

Only a valid number reaches the model: a mistyped number almost always fails the check, and a
placeholder (all zeros, all nines, a keyboard run) would otherwise "match" thousands of strangers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, Literal

from linkage.standardise.cache import cached_per_value

__all__ = ["NhsNumberResult", "clean_nhs_number", "is_valid_nhs_number", "nhs_check_digit"]

Status = Literal["valid", "invalid_check", "wrong_length", "placeholder", "missing"]

_PLACEHOLDERS: Final = frozenset(
    {"1234567890", "0123456789", "9876543210", "0987654321", "1111111111", "1234567891"}
)
_SEPARATORS: Final = re.compile(r"[\s\-./]")


@dataclass(frozen=True, slots=True)
class NhsNumberResult:
    value: str | None
    status: Status


def nhs_check_digit(first_nine: str) -> int | None:
    """The check digit for nine digits, or None when the number can never be issued (remainder 10)."""
    total = sum(int(d) * w for d, w in zip(first_nine, range(10, 1, -1), strict=True))
    check = 11 - total % 11
    if check == 11:
        return 0
    return None if check == 10 else check


def is_valid_nhs_number(digits: str) -> bool:
    if len(digits) != 10 or not digits.isdigit():
        return False
    return nhs_check_digit(digits[:9]) == int(digits[9])


@cached_per_value
def clean_nhs_number(raw: object) -> NhsNumberResult:
    if raw is None or (isinstance(raw, float) and raw != raw):
        return NhsNumberResult(None, "missing")
    text = _SEPARATORS.sub("", str(raw))
    if not text:
        return NhsNumberResult(None, "missing")
    if len(text) != 10 or not text.isdigit():
        return NhsNumberResult(None, "wrong_length")
    if text in _PLACEHOLDERS or len(set(text)) == 1:
        return NhsNumberResult(None, "placeholder")
    if not is_valid_nhs_number(text):
        return NhsNumberResult(None, "invalid_check")
    return NhsNumberResult(text, "valid")
