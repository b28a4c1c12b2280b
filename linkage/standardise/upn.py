"""Unique Pupil Numbers: the check letter, and temporary UPNs (a letter in the last place)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, Literal

from linkage.standardise.cache import cached_per_value

__all__ = ["UpnResult", "clean_upn", "upn_check_letter"]

Status = Literal["valid", "temporary", "bad_check", "malformed", "missing"]

#: The DfE check alphabet: 23 letters, no I, O or S.
CHECK_ALPHABET: Final = "ABCDEFGHJKLMNPQRTUVWXYZ"
_SHAPE: Final = re.compile(r"^[A-Z]\d{11}[0-9A-Z]$")


@dataclass(frozen=True, slots=True)
class UpnResult:
    value: str | None
    status: Status

    @property
    def is_temporary(self) -> bool:
        return self.status == "temporary"


def _char_value(char: str) -> int:
    # Digits count as themselves; a temporary UPN's final letter counts by its place in the check
    # alphabet, as the DfE's own check does.
    return int(char) if char.isdigit() else CHECK_ALPHABET.index(char)


def upn_check_letter(body: str) -> str:
    """The check letter for characters 2–13 (weights 2..13, sum mod 23)."""
    total = sum(_char_value(c) * w for c, w in zip(body, range(2, 14), strict=True))
    return CHECK_ALPHABET[total % 23]


@cached_per_value
def clean_upn(raw: object) -> UpnResult:
    if raw is None or (isinstance(raw, float) and raw != raw):
        return UpnResult(None, "missing")
    text = re.sub(r"\s", "", str(raw)).upper()
    if not text:
        return UpnResult(None, "missing")
    if not _SHAPE.match(text) or (text[-1].isalpha() and text[-1] not in CHECK_ALPHABET):
        return UpnResult(None, "malformed")
    if upn_check_letter(text[1:]) != text[0]:
        return UpnResult(None, "bad_check")
    return UpnResult(text, "temporary" if text[-1].isalpha() else "valid")
