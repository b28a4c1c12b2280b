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

__all__ = [
    "CANDIDATE_DATE_FORMATS",
    "DEFAULT_DATE_FORMATS",
    "ISO_BASIC",
    "DateFormatChoice",
    "ParsedDate",
    "detect_date_format",
    "parse_date",
]

#: ISO 8601, extended (``2015-03-02``) and basic (``20150302``). The basic form cannot be misread
#: as a day-first date: ``02032015`` read as year-month-day has month 20, and fails.
ISO_BASIC: Final = "%Y%m%d"
DEFAULT_DATE_FORMATS: Final = ("%Y-%m-%d", ISO_BASIC)
#: What an undeclared source is tried against: ISO, ISO basic and the day-first form UK systems
#: (SSDA903, police) export. Month-first is deliberately absent: no English source writes it, and
#: allowing it would read 03/04/2015 two ways.
DAY_FIRST: Final = "%d/%m/%Y"
CANDIDATE_DATE_FORMATS: Final = ("%Y-%m-%d", ISO_BASIC, DAY_FIRST)
_EIGHT_DIGITS: Final = re.compile(r"^\d{8}$")
#: The fixed-width spellings of each format, read by slicing instead of ``datetime.strptime``
#: (about ten times slower, and called once per distinct date of every source): a value of any
#: other shape ("2015-3-2") still goes to strptime, so what parses, and how, is unchanged.
_FIXED_WIDTH: Final = {
    "%Y-%m-%d": (re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}"), (0, 4), (5, 7), (8, 10)),
    ISO_BASIC: (re.compile(r"[0-9]{8}"), (0, 4), (4, 6), (6, 8)),
    "%d/%m/%Y": (re.compile(r"[0-9]{2}/[0-9]{2}/[0-9]{4}"), (6, 10), (3, 5), (0, 2)),
}
#: A date recorded to the month only ("2015-03", "03/2015"): the day is the source's estimated day.
_YEAR_MONTH: Final = (re.compile(r"^(\d{4})-(\d{1,2})$"), re.compile(r"^(\d{1,2})/(\d{4})$"))
_PLACEHOLDERS: Final = frozenset({date(1900, 1, 1), date(1901, 1, 1), date(9999, 12, 31)})
_EARLIEST: Final = date(1900, 1, 1)

Status = Literal["valid", "unparseable", "placeholder", "future", "too_old", "missing"]


@dataclass(frozen=True, slots=True)
class ParsedDate:
    iso: str | None
    status: Status
    possibly_estimated: bool = False


@dataclass(frozen=True, slots=True)
class DateFormatChoice:
    """How a source's dates were read, for the run summary: declared, defined by the file's
    format, or detected from its values (with the share of distinct values that parsed)."""

    formats: tuple[str, ...]
    basis: Literal["declared", "format", "detected", "default"]
    parsed_share: float | None = None

    def as_dict(self) -> dict[str, object]:
        return {"formats": list(self.formats), "basis": self.basis,
                "parsed_share": self.parsed_share}


def detect_date_format(values: Sequence[str], minimum: int = 5) -> DateFormatChoice:
    """The one candidate format that reads the most distinct values, when the source declares none.

    One format per source, not a guess per value: a source that writes 03/04/2015 writes every
    date that way, and reading each value by whichever format happens to fit would turn some of
    its dates round. With fewer than ``minimum`` distinct values there is too little to go on and
    the contract's ISO forms stand.
    """
    distinct = sorted({v.strip() for v in values if isinstance(v, str) and v.strip()})
    if len(distinct) < minimum:
        return DateFormatChoice(DEFAULT_DATE_FORMATS, "default")
    best: tuple[str, ...] = DEFAULT_DATE_FORMATS
    best_count = -1
    for fmt in CANDIDATE_DATE_FORMATS:
        count = sum(_strptime(v, fmt) is not None for v in distinct)
        if count > best_count:
            best, best_count = (fmt,), count
    if best_count == 0:
        return DateFormatChoice(DEFAULT_DATE_FORMATS, "default", 0.0)
    return DateFormatChoice(best, "detected", round(best_count / len(distinct), 4))


def _strptime(text: str, fmt: str) -> date | None:
    # strptime takes one-digit months and days: "2015312" would be a date, which one unknown.
    if fmt == ISO_BASIC and not _EIGHT_DIGITS.match(text):
        return None
    fixed = _FIXED_WIDTH.get(fmt)
    if fixed is not None and fixed[0].fullmatch(text):
        (y0, y1), (m0, m1), (d0, d1) = fixed[1], fixed[2], fixed[3]
        try:
            return date(int(text[y0:y1]), int(text[m0:m1]), int(text[d0:d1]))
        except ValueError:
            return None
    try:
        return datetime.strptime(text, fmt).date()
    except ValueError:
        return None


def _year_month(text: str, estimated_day: int) -> date | None:
    for pattern in _YEAR_MONTH:
        match = pattern.match(text)
        if match:
            a, b = (int(g) for g in match.groups())
            year, month = (a, b) if a > 31 else (b, a)
            try:
                return date(year, month, estimated_day)
            except ValueError:
                return None
    return None


def parse_date(
    raw: object,
    formats: Sequence[str] = DEFAULT_DATE_FORMATS,
    today: date | None = None,
    allow_future_days: int = 280,
    estimated_day: int = 1,
) -> ParsedDate:
    """Parse with the first matching format. Expected dates of delivery may lie up to 40 weeks ahead.

    A date given to the month only takes the source's ``estimated_day`` (the 1st by default; the
    15th for D2I sources, which record an unknown day that way), so that it sits where that
    source's own full dates for the same child would, and is flagged as possibly estimated.
    """
    if raw is None or (isinstance(raw, float) and raw != raw):
        return ParsedDate(None, "missing")
    text = str(raw).strip()
    if not text:
        return ParsedDate(None, "missing")
    parsed: date | None = None
    for fmt in formats:
        parsed = _strptime(text, fmt)
        if parsed is not None:
            break
    month_only = False
    if parsed is None:
        parsed = _year_month(text, estimated_day)
        month_only = parsed is not None
    if parsed is None:
        return ParsedDate(None, "unparseable")
    if parsed in _PLACEHOLDERS:
        return ParsedDate(None, "placeholder")
    if parsed < _EARLIEST:
        return ParsedDate(None, "too_old")
    today = today or date.today()
    if (parsed - today).days > allow_future_days:
        return ParsedDate(None, "future")
    estimated = month_only or (parsed.month == 1 and parsed.day == 1) or (
        estimated_day != 1 and parsed.day == estimated_day)
    return ParsedDate(parsed.isoformat(), "valid", estimated)
