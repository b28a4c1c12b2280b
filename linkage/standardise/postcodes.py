"""Postcodes: UK ones normalised to ``AA9A 9AA`` with area, district (outward code) and sector;
any other postcode-shaped value kept as written, for exact comparison only.

District and sector give partial agreement: a family that moved round the corner keeps its sector.
A postcode that is not UK-shaped (a family arriving from abroad, an extract from another country's
system, a benchmark file) still says two records live at the same place when it is equal, so it is
kept, upper-cased and without spaces; only the partial levels are lost, because its parts mean
nothing we know. Values that cannot be a postcode at all (no digit, all zeros or nines, too short
or too long) and incomplete UK postcodes are dropped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from linkage.standardise.cache import cached_per_value

__all__ = ["Postcode", "clean_postcode"]

_PATTERN: Final = re.compile(r"^([A-Z]{1,2}\d[A-Z\d]?)(\d[A-Z]{2})$")
#: Postal codes worldwide run from 3 characters (Iceland) to 10 (Iran, Brazil with separators
#: removed is 8); every national scheme we know has at least one digit (Ireland's Eircode included).
_ELSEWHERE: Final = re.compile(r"^(?=.*\d)[A-Z0-9]{3,10}$")
#: The start of a UK postcode with its end missing ("TA1", "TA1 2"): kept whole it would agree
#: with every other truncated one in the district, and put house 12 of a thousand streets at one
#: address; so it is dropped, as before.
_UK_PART: Final = re.compile(r"^[A-Z]{1,2}\d[A-Z\d]?\d?$")


@dataclass(frozen=True, slots=True)
class Postcode:
    value: str
    #: None for a postcode that is not UK-shaped: it compares only as a whole.
    area: str | None
    district: str | None
    sector: str | None

    @property
    def is_uk(self) -> bool:
        return self.district is not None


@cached_per_value
def clean_postcode(raw: object) -> Postcode | None:
    if raw is None or (isinstance(raw, float) and raw != raw):
        return None
    text = re.sub(r"[^A-Za-z0-9]", "", str(raw)).upper()
    match = _PATTERN.match(text)
    if match:
        outward, inward = match.groups()
        area = re.match(r"[A-Z]+", outward).group(0)  # type: ignore[union-attr]  # the outward code matched the postcode pattern, which starts with letters
        return Postcode(f"{outward} {inward}", area, outward, f"{outward} {inward[0]}")
    # All zeros or all nines is a placeholder, which would put strangers at one address (a run of
    # another digit can be real: 2222 and 3333 are Australian postcodes).
    if _ELSEWHERE.match(text) and set(text) not in ({"0"}, {"9"}) and not _UK_PART.match(text):
        return Postcode(text, None, None, None)
    return None
