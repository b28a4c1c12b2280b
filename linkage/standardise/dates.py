"""Dates of birth: per-source formats to ISO, impossible and placeholder dates to missing.

A 1 January date is kept but flagged: agencies use it when only the year is known, so agreement on
it is weaker evidence (the model's term-frequency adjustment reads the same fact from the data).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Final, Literal

__all__ = ["DEFAULT_DATE_FORMATS", "ISO_BASIC", "ParsedDate", "parse_date"]

#: ISO 8601, extended (``2015-03-02``) and basic (``20150302``). The basic form cannot be misread
#: as a day-first date: ``02032015`` read as year-month-day has month 20, and fails.
ISO_BASIC: Final = "%Y%m%d"
DEFAULT_DATE_FORMATS: Final = ("%Y-%m-%d", ISO_BASIC)
_EIGHT_DIGITS: Final = re.compile(r"^\d{8}$")
_PLACEHOLDERS: Final = frozenset({date(1900, 1, 1), date(1901, 1, 1), date(9999, 12, 31)})
_EARLIEST: Final = date(1900, 1, 1)

Status = Literal["valid", "unparseable", "placeholder", "future", "too_old", "missing"]


@dataclass(frozen=True, slots=True)
class ParsedDate:
    iso: str | None
    status: Status
    possibly_estimated: bool = False


def parse_date(
    raw: object,
    formats: Sequence[str] = DEFAULT_DATE_FORMATS,
    today: date | None = None,
    allow_future_days: int = 280,
) -> ParsedDate:
    """Parse with the first matching format. Expected dates of delivery may lie up to 40 weeks ahead."""
    if raw is None or (isinstance(raw, float) and raw != raw):
        return ParsedDate(None, "missing")
    text = str(raw).strip()
    if not text:
        return ParsedDate(None, "missing")
    parsed: date | None = None
    for fmt in formats:
        # strptime takes one-digit months and days: "2015312" would be a date, which one unknown.
        if fmt == ISO_BASIC and not _EIGHT_DIGITS.match(text):
            continue
        try:
            parsed = datetime.strptime(text, fmt).date()
            break
        except ValueError:
            continue
    if parsed is None:
        return ParsedDate(None, "unparseable")
    if parsed in _PLACEHOLDERS:
        return ParsedDate(None, "placeholder")
    if parsed < _EARLIEST:
        return ParsedDate(None, "too_old")
    today = today or date.today()
    if (parsed - today).days > allow_future_days:
        return ParsedDate(None, "future")
    return ParsedDate(parsed.isoformat(), "valid", parsed.month == 1 and parsed.day == 1)
