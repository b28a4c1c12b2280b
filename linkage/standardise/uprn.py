"""Unique Property Reference Numbers: 1 to 12 digits, the same number for the same addressable
place wherever it is recorded (so two records with one UPRN are at the same house)."""

from __future__ import annotations

import re
from typing import Final

__all__ = ["clean_uprn"]

_DIGITS: Final = re.compile(r"^\d{1,12}$")


def clean_uprn(raw: object) -> str | None:
    """The UPRN without leading zeros or a spreadsheet's ``.0``, or None when it is not one."""
    if raw is None:
        return None
    text = str(raw).strip().removesuffix(".0")
    if not _DIGITS.match(text) or int(text) == 0:
        return None
    return str(int(text))
