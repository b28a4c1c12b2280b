"""Synthetic NHS numbers and Unique Pupil Numbers that pass (or deliberately fail) their checks.

Synthetic NHS numbers all start with 9: that range is never issued to patients in England, so a
generated number can never be a real person's. Every issued number is valid under mod 11 and unique
in the population; the issuer walks a fixed permutation so numbers carry no ordering hint.
"""

from __future__ import annotations

import random
from typing import Final

__all__ = [
    "HOME_LA_CODES",
    "NHS_PLACEHOLDERS",
    "OTHER_LA_CODES",
    "UPN_LETTERS",
    "NhsNumberIssuer",
    "UpnIssuer",
    "format_nhs_number",
    "is_valid_nhs_number",
    "is_valid_upn",
    "mistype_nhs_number",
    "mistype_upn",
    "nhs_check_digit",
    "temporary_upn",
    "upn_check_letter",
]

#: Numbers that turn up in real extracts meaning "not known".
NHS_PLACEHOLDERS: Final[tuple[str, ...]] = ("0000000000", "9999999999", "1234567890")

#: The check-letter alphabet of the UPN (no I, O or S).
UPN_LETTERS: Final = "ABCDEFGHJKLMNPQRTUVWXYZ"

#: LA codes of the two synthetic towns' councils (Somerset; Bath and North East Somerset).
HOME_LA_CODES: Final[tuple[str, ...]] = ("933", "800")

#: Local authorities a child may have started school in before moving here.
OTHER_LA_CODES: Final[tuple[str, ...]] = ("801", "802", "803", "865", "878", "838", "330", "209")

_HALF: Final = 50_000_000  # suffix space of one half of the 9-prefixed range


def nhs_check_digit(stem: str) -> int:
    """The mod-11 check digit of a 9-digit stem; 10 means no valid number has this stem."""
    total = sum(int(d) * w for d, w in zip(stem, range(10, 1, -1), strict=True))
    check = 11 - total % 11
    return 0 if check == 11 else check


def is_valid_nhs_number(value: str) -> bool:
    digits = value.replace(" ", "").replace("-", "")
    if len(digits) != 10 or not digits.isdigit():
        return False
    check = nhs_check_digit(digits[:9])
    return check != 10 and check == int(digits[9])


class NhsNumberIssuer:
    """Hands out unique valid NHS numbers from the synthetic 9-prefixed range.

    The k-th number comes from an affine permutation of the lower half of the suffix space; a stem
    whose check would be 10 moves to the upper half (adding 5 to digit 2 changes the weighted sum by
    45 ≡ 1 mod 11, so the moved stem is always valid and cannot collide with another k).
    """

    def __init__(self, seed: int) -> None:
        rng = random.Random(f"nhs-{seed}")
        self._a = rng.randrange(1, _HALF // 10) * 10 + rng.choice((1, 3, 7, 9))
        self._b = rng.randrange(_HALF)
        self._k = 0

    def issue(self) -> str:
        while True:
            suffix = (self._a * self._k + self._b) % _HALF
            self._k += 1
            stem = f"9{suffix:08d}"
            check = nhs_check_digit(stem)
            if check == 10:
                stem = f"9{suffix + _HALF:08d}"
                check = nhs_check_digit(stem)
            number = f"{stem}{check}"
            if number not in NHS_PLACEHOLDERS:
                return number


def format_nhs_number(number: str, rng: random.Random) -> str:
    """Write a number the way people type it: ``943 476 5919`` or ``943-476-5919``."""
    sep = " " if rng.random() < 0.7 else "-"
    return f"{number[:3]}{sep}{number[3:6]}{sep}{number[6:]}"


def mistype_nhs_number(number: str, rng: random.Random) -> str:
    """A keying error that fails mod 11 (a substituted digit or two swapped neighbours)."""
    for _ in range(50):
        digits = list(number)
        i = rng.randrange(9)
        if rng.random() < 0.5 and digits[i] != digits[i + 1]:
            digits[i], digits[i + 1] = digits[i + 1], digits[i]
        else:
            digits[i] = rng.choice([d for d in "0123456789" if d != digits[i]])
        candidate = "".join(digits)
        if not is_valid_nhs_number(candidate):
            return candidate
    return number[:9] + str((int(number[9]) + 1) % 10)  # pragma: no cover - mod 11 always catches


def _upn_value(char: str) -> int:
    # A temporary UPN's final letter counts by its place in the check alphabet (A=0, B=1, …).
    return int(char) if char.isdigit() else UPN_LETTERS.index(char)


def upn_check_letter(body: str) -> str:
    """Check letter for characters 2–13 of a UPN (weights 2–13, sum mod 23)."""
    total = sum(_upn_value(c) * w for c, w in zip(body, range(2, 14), strict=True))
    return UPN_LETTERS[total % 23]


def is_valid_upn(value: str) -> bool:
    upn = value.strip().upper()
    if len(upn) != 13 or upn[0] not in UPN_LETTERS or not upn[1:12].isdigit():
        return False
    if not (upn[12].isdigit() or upn[12] in UPN_LETTERS):
        return False
    return upn_check_letter(upn[1:]) == upn[0]


class UpnIssuer:
    """Allocates permanent UPNs: LA, school number, year of allocation, serial per school-year."""

    def __init__(self) -> None:
        self._serials: dict[str, int] = {}

    def issue(self, la_code: str, school_number: str, year: int) -> str:
        key = f"{la_code}{school_number}{year % 100:02d}"
        serial = self._serials.get(key, 0)
        if serial >= 999:
            raise ValueError("UPN serials exhausted for one school and year; add schools")
        self._serials[key] = serial + 1
        body = f"{key}{serial + 1:03d}"
        return upn_check_letter(body) + body


def temporary_upn(permanent: str, rng: random.Random) -> str:
    """A temporary UPN issued at the same school: the last digit replaced by a letter."""
    body = permanent[1:12] + rng.choice(UPN_LETTERS)
    return upn_check_letter(body) + body


def mistype_upn(upn: str, rng: random.Random) -> str:
    """A keying error in the digits, leaving a check letter that no longer fits."""
    for _ in range(50):
        chars = list(upn)
        i = rng.randrange(1, 12)
        chars[i] = rng.choice([d for d in "0123456789" if d != chars[i]])
        candidate = "".join(chars)
        if not is_valid_upn(candidate):
            return candidate
    return upn  # pragma: no cover - a mod-23 check with distinct weights catches one digit
