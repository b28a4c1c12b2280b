"""NHS numbers: digits only, the mod-11 check digit, and placeholders treated as missing.

Only a valid number reaches the model: a mistyped number almost always fails the check, and a
placeholder (all zeros, all nines, a keyboard run) would otherwise "match" thousands of strangers.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from linkage.standardise.cache import cached_per_value

__all__ = ["NhsNumberResult", "clean_nhs_number", "clean_nhs_numbers", "is_valid_nhs_number", "nhs_check_digit"]

Status = Literal["valid", "invalid_check", "wrong_length", "placeholder", "missing"]

_PLACEHOLDERS: Final = frozenset(
    {"1234567890", "0123456789", "9876543210", "0987654321", "1111111111", "1234567891"}
)
_SEPARATORS: Final = re.compile(r"[\s\-./]")


@dataclass(frozen=True, slots=True)
class NhsNumberResult:
    value: str | None
    status: Status


#: The digits' weights sum to 54: each ASCII digit's code is 48 above its value.
_ZERO_OFFSET = 48 * 54


def nhs_check_digit(first_nine: str) -> int | None:
    """The check digit for nine digits, or None when the number can never be issued (remainder 10).

    Written out on the digits' byte codes: every distinct NHS number of a run is checked (a
    million at 1M records), and the generator over ``int()`` of each digit was half the cost of
    cleaning one. Only ASCII digits are digits here: ``str.isdigit`` also accepts others
    (Arabic-Indic, superscripts), which are no NHS number."""
    b = first_nine.encode("ascii", errors="replace")
    if len(b) != 9 or not b.isdigit():
        raise ValueError(f"an NHS number's first nine digits, not {first_nine!r}")
    total = (10 * b[0] + 9 * b[1] + 8 * b[2] + 7 * b[3] + 6 * b[4] + 5 * b[5] + 4 * b[6]
             + 3 * b[7] + 2 * b[8]) - _ZERO_OFFSET
    check = 11 - total % 11
    if check == 11:
        return 0
    return None if check == 10 else check


def is_valid_nhs_number(digits: str) -> bool:
    if len(digits) != 10 or not (digits.isascii() and digits.isdigit()):
        return False
    return nhs_check_digit(digits[:9]) == int(digits[9])


@cached_per_value
def clean_nhs_number(raw: object) -> NhsNumberResult:
    if raw is None or (isinstance(raw, float) and raw != raw):
        return NhsNumberResult(None, "missing")
    text = _SEPARATORS.sub("", str(raw))
    if not text:
        return NhsNumberResult(None, "missing")
    if len(text) != 10 or not (text.isascii() and text.isdigit()):
        return NhsNumberResult(None, "wrong_length")
    if text in _PLACEHOLDERS or len(set(text)) == 1:
        return NhsNumberResult(None, "placeholder")
    if not is_valid_nhs_number(text):
        return NhsNumberResult(None, "invalid_check")
    return NhsNumberResult(text, "valid")


#: Ten ASCII digits and nothing else: the shape almost every extract writes, read in bulk.
_TEN_DIGITS: Final = "^[0-9]{10}$"
_WEIGHTS: Final = np.arange(10, 1, -1, dtype=np.int64)


def clean_nhs_numbers(raws: Sequence[object]) -> list[tuple[str | None, Status]]:
    """``(value, status)`` of :func:`clean_nhs_number` for each of ``raws``, the same rule: the
    values that are ten ASCII digits as written (nearly all of a million) are checked at once
    on their bytes; anything else (separators, other lengths, other types) goes to
    ``clean_nhs_number`` one by one. ``tests/linkage/test_standardise_distinct.py`` holds the
    two together on every kind of value."""
    out: list[tuple[str | None, Status] | None] = [None] * len(raws)
    texts = [r if type(r) is str else None for r in raws]
    bulk = np.zeros(len(raws), dtype=bool)
    if texts:
        array = pa.array(texts, type=pa.string())
        bulk = pc.fill_null(pc.match_substring_regex(array, _TEN_DIGITS), False).to_numpy(
            zero_copy_only=False)
    for i in np.flatnonzero(~bulk).tolist():
        r = clean_nhs_number(raws[i])
        out[i] = (r.value, r.status)
    where = np.flatnonzero(bulk)
    if len(where):
        chosen = [str(texts[i]) for i in where.tolist()]
        codes = np.frombuffer("".join(chosen).encode("ascii"), dtype=np.uint8)
        digits = codes.reshape(-1, 10).astype(np.int64) - 48
        check = 11 - (digits[:, :9] @ _WEIGHTS) % 11
        check = np.where(check == 11, 0, check)  # 10: a number never issued, fails below
        valid = check == digits[:, 9]
        placeholder = (digits == digits[:, :1]).all(axis=1) | np.isin(
            np.array(chosen, dtype="U10"), sorted(_PLACEHOLDERS))
        for i, text, p, v in zip(where.tolist(), chosen, placeholder.tolist(), valid.tolist(),
                                 strict=True):
            out[i] = ((None, "placeholder") if p else (text, "valid") if v
                      else (None, "invalid_check"))
    return out  # type: ignore[return-value]  # every place was filled by one of the two loops
