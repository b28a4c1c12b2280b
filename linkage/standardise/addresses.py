"""Light address keys for co-residence.

Free-text address lines are too variable to compare whole; the house number and the postcode are
what two agencies recording one household almost always agree on (``address_key``). A record
without a postcode still names its house: ``address_line_key`` is the house with the rest of the
line (street and town) once case, punctuation and common abbreviations are evened out, so "56
Wells Lane, Avonleigh" and "56 wells ln avonleigh" are one house even when one has no postcode.
"""

from __future__ import annotations

import re
from typing import Final

__all__ = ["address_key", "address_line_key", "normalise_address", "split_postcode"]

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
#: A UK postcode anywhere in a line ("…, Leeds LS6 2AB, UK"), the inward code's space optional.
_UK_IN_TEXT: Final = re.compile(r"\b([A-Z]{1,2}\d[A-Z\d]?) ?(\d[A-Z]{2})\b", re.IGNORECASE)
#: Elsewhere the postcode is the line's last word, of four or five digits (Australia, the US,
#: most of Europe); three digits would be a house number as often as a postcode.
_TRAILING_DIGITS: Final = re.compile(r"[\s,]+(\d{4,5})[\s,.]*$")
_FLAT: Final = re.compile(r"\b(?:flat|apartment|apt|unit)\s+(\w+)")


def normalise_address(raw: object) -> str | None:
    if raw is None or (isinstance(raw, float) and raw != raw):
        return None
    text = re.sub(r"[^a-z0-9 ]", " ", str(raw).lower())
    words = [_ABBREVIATIONS.get(w, w) for w in text.split()]
    return " ".join(words) or None


def _house(text: str) -> tuple[str, list[str]] | None:
    """``([flat/]house, the other words)`` of a normalised line; None when it names no house."""
    flat = _FLAT.search(text)
    rest = _FLAT.sub(" ", text) if flat else text
    number = _NUMBER.search(rest)
    words = rest.split()
    # A named house ("Rose Cottage") has no number: its first word stands in for one.
    house = number.group(1) if number else (words[0] if words else "")
    if not house:
        return None
    others = list(words)
    others.remove(house)
    prefix = f"{flat.group(1)}/" if flat else ""
    return f"{prefix}{house}", others


def split_postcode(address: object) -> tuple[str | None, str | None]:
    """``(the line without its postcode, the postcode)`` of a free-text address that carries one
    (a letter's, a case note's), or ``(the line, None)``. Only a line with a house and a street
    before the code counts: a bare "2119" is not an address.

    Why: an extract whose postcode is only inside the address line would otherwise compare no
    postcode at all, and its line key would disagree with the same house written with the
    postcode in its own column.
    """
    if address is None or (isinstance(address, float) and address != address):
        return None, None
    text = str(address)
    found = _UK_IN_TEXT.search(text)
    if found is None:
        found = _TRAILING_DIGITS.search(text)
        if found is None:
            return text, None
        code = found.group(1)
    else:
        code = f"{found.group(1)} {found.group(2)}".upper()
    rest = (text[:found.start()] + " " + text[found.end():]).strip(" ,")
    normalised = normalise_address(rest)
    house = _house(normalised) if normalised else None
    if house is None or not house[1]:
        return text, None
    return rest, code


def address_key(address: object, postcode: str | None) -> str | None:
    """``[flat/]number|postcode``; None when either part is missing."""
    text = normalise_address(address)
    if not text or not postcode:
        return None
    house = _house(text)
    return f"{house[0]}|{postcode}" if house else None


def address_line_key(address: object) -> str | None:
    """``[flat/]number|street and town``; None without a house or without a street after it
    (a bare "12" could be any house numbered 12)."""
    text = normalise_address(address)
    house = _house(text) if text else None
    if house is None or not house[1]:
        return None
    return f"{house[0]}|{' '.join(house[1])}"
