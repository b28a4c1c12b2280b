"""A light address key for co-residence: the house number (or name) with the postcode.

Free-text address lines are too variable to compare whole; the house number and the postcode are
what two agencies recording one household almost always agree on.
"""

from __future__ import annotations

import re
from typing import Final

__all__ = ["address_key", "normalise_address"]

_ABBREVIATIONS: Final = {
    "rd": "road",
    "st": "street",
    "ave": "avenue",
    "av": "avenue",
    "ln": "lane",
    "cl": "close",
    "cres": "crescent",
    "dr": "drive",
    "ct": "court",
    "pl": "place",
    "gdns": "gardens",
    "sq": "square",
    "tce": "terrace",
    "grn": "green",
    "pk": "park",
    "wy": "way",
    "hse": "house",
}
_NUMBER: Final = re.compile(r"\b(\d+[a-z]?)\b")
_FLAT: Final = re.compile(r"\b(?:flat|apartment|apt|unit)\s+(\w+)")


def normalise_address(raw: object) -> str | None:
    if raw is None or (isinstance(raw, float) and raw != raw):
        return None
    text = re.sub(r"[^a-z0-9 ]", " ", str(raw).lower())
    words = [_ABBREVIATIONS.get(w, w) for w in text.split()]
    return " ".join(words) or None


def address_key(address: object, postcode: str | None) -> str | None:
    """``[flat/]number|postcode``; None when either part is missing."""
    text = normalise_address(address)
    if not text or not postcode:
        return None
    flat = _FLAT.search(text)
    rest = _FLAT.sub(" ", text) if flat else text
    number = _NUMBER.search(rest)
    words = rest.split()
    # A named house ("Rose Cottage") has no number: its first word stands in for one.
    house = number.group(1) if number else (words[0] if words else "")
    if not house:
        return None
    prefix = f"{flat.group(1)}/" if flat else ""
    return f"{prefix}{house}|{postcode}"
