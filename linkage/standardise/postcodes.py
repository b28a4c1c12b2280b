"""UK postcodes normalised to ``AA9A 9AA`` with area, district (outward code) and sector.

District and sector give partial agreement: a family that moved round the corner keeps its sector.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

__all__ = ["Postcode", "clean_postcode"]

_PATTERN: Final = re.compile(r"^([A-Z]{1,2}\d[A-Z\d]?)(\d[A-Z]{2})$")


@dataclass(frozen=True, slots=True)
class Postcode:
    value: str
    area: str
    district: str
    sector: str


def clean_postcode(raw: object) -> Postcode | None:
    if raw is None or (isinstance(raw, float) and raw != raw):
        return None
    text = re.sub(r"[^A-Za-z0-9]", "", str(raw)).upper()
    match = _PATTERN.match(text)
    if not match:
        return None
    outward, inward = match.groups()
    area = re.match(r"[A-Z]+", outward).group(0)  # type: ignore[union-attr]
    return Postcode(f"{outward} {inward}", area, outward, f"{outward} {inward[0]}")
