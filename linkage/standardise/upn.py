"""Unique Pupil Numbers: the check letter, and temporary UPNs (a letter in the last place)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from linkage.standardise.cache import cached_per_value

__all__ = ["UpnResult", "clean_upn", "clean_upns", "upn_check_letter"]

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


#: A UPN as the DfE writes it (capitals, no spaces): the shape read in bulk.
_WRITTEN: Final = "^[A-Z][0-9]{11}[0-9A-Z]$"
#: Each byte's value in the check sum: a digit itself, a letter its place in the check alphabet
#: (-1: a letter the alphabet lacks, which makes the UPN malformed in the last place).
_VALUE_OF_BYTE: Final = np.full(256, -1, dtype=np.int64)
_VALUE_OF_BYTE[48:58] = np.arange(10)
_VALUE_OF_BYTE[[ord(c) for c in CHECK_ALPHABET]] = np.arange(len(CHECK_ALPHABET))
_CHECK_BYTES: Final = np.frombuffer(CHECK_ALPHABET.encode("ascii"), dtype=np.uint8)


def clean_upns(raws: Sequence[object]) -> list[UpnResult]:
    """:func:`clean_upn` of each of ``raws``, the same rule: values written as the DfE writes
    them (nearly all) are checked at once on their bytes, anything else one by one by
    ``clean_upn``. ``tests/linkage/test_standardise_distinct.py`` holds the two together."""
    out: list[UpnResult | None] = [None] * len(raws)
    texts = [r if type(r) is str else None for r in raws]
    bulk = np.zeros(len(raws), dtype=bool)
    if texts:
        bulk = pc.fill_null(pc.match_substring_regex(pa.array(texts, type=pa.string()),
                                                     _WRITTEN), False).to_numpy(
            zero_copy_only=False)
    for i in np.flatnonzero(~bulk).tolist():
        out[i] = clean_upn(raws[i])
    where = np.flatnonzero(bulk)
    if len(where):
        chosen = [str(texts[i]) for i in where.tolist()]
        codes = np.frombuffer("".join(chosen).encode("ascii"), dtype=np.uint8).reshape(-1, 13)
        values = _VALUE_OF_BYTE[codes[:, 1:]]
        last_letter = codes[:, 12] >= 65
        malformed = last_letter & (values[:, 11] < 0)
        total = (np.where(values < 0, 0, values) @ np.arange(2, 14, dtype=np.int64)) % 23
        good = _CHECK_BYTES[total] == codes[:, 0]
        for i, text, m, g, t in zip(where.tolist(), chosen, malformed.tolist(), good.tolist(),
                                    last_letter.tolist(), strict=True):
            out[i] = (_MALFORMED if m else UpnResult(text, "temporary" if t else "valid") if g
                      else _BAD_CHECK)
    return out  # type: ignore[return-value]  # every place was filled by one of the two loops


_MALFORMED: Final = UpnResult(None, "malformed")
_BAD_CHECK: Final = UpnResult(None, "bad_check")
