"""Sex codes from any agency's spelling to M, F or unknown (NHS data dictionary: 1 male, 2 female)."""

from __future__ import annotations

from typing import Final

__all__ = ["clean_sex", "is_known_sex_code"]

_CODES: Final[dict[str, str | None]] = {
    "m": "M",
    "male": "M",
    "1": "M",
    "boy": "M",
    "f": "F",
    "female": "F",
    "2": "F",
    "girl": "F",
    "u": None,
    "unknown": None,
    "not known": None,
    "not specified": None,
    "0": None,
    "9": None,
    "i": None,
    "indeterminate": None,
    "x": None,
    "": None,
}


def is_known_sex_code(raw: object) -> bool:
    return raw is None or str(raw).strip().lower() in _CODES


def clean_sex(raw: object) -> str | None:
    if raw is None or (isinstance(raw, float) and raw != raw):
        return None
    return _CODES.get(str(raw).strip().lower())
