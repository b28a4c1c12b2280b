"""Each comparison's levels as Python predicates, level for level the SQL in
``linkage.model.comparisons``, so a query is scored without a database round trip.

Splink evaluates a comparison as ``CASE WHEN <null level> THEN -1 WHEN <level n> THEN n … ELSE 0``:
the first true condition wins and a condition that is NULL in SQL counts as false. The functions
below follow that order exactly; ``tests/linkage/test_realtime.py`` checks them against the gamma
values Splink itself stored for every scored pair of a linked population, and against Splink
scoring pairs made to reach every level (boundaries such as 45 and 46 days included).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

from rapidfuzz.distance import DamerauLevenshtein, JaroWinkler

from linkage.model.comparisons import (
    STREET_EDITS_MAX,
    STREET_WORD_TYPO_MIN,
    STREET_WORDS_MIN,
    AddressLevel,
    DobLevel,
    FamilyNameLevel,
    GivenNameLevel,
)

__all__ = ["GAMMA_FUNCTIONS", "Features", "personal_evidence"]

Features = Mapping[str, Any]


def _jw(a: str, b: str) -> float:
    return JaroWinkler.similarity(a, b)


@lru_cache(maxsize=200_000)
def _date(value: str | None) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        return None


def _any_shared(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return False
    return bool(set(a) & set(b))


def _identifier(column: str) -> Callable[[Features, Features], int]:
    def gamma(left: Features, right: Features) -> int:
        a, b = left[column], right[column]
        if a is None or b is None:
            return -1
        return 1 if a == b else 0

    return gamma


def former_upn(left: Features, right: Features) -> int:
    """A former UPN that is the other record's UPN (or former UPN)."""
    fa, fb = left.get("former_upn"), right.get("former_upn")
    ua, ub = left.get("upn"), right.get("upn")
    if (fa is None or (ub is None and fb is None)) and (fb is None or (ua is None and fa is None)):
        return -1
    agree = ((fa is not None and fa in (ub, fb)) or (fb is not None and fb == ua))
    return 1 if agree else 0


def local_identifier(left: Features, right: Features) -> int:
    a, b = left["local_id_key"], right["local_id_key"]
    if a is None or b is None or a.split(":", 1)[0] != b.split(":", 1)[0]:
        return -1
    return 1 if a == b else 0


def _swapped(left: Features, right: Features) -> bool:
    """Given and family names recorded the wrong way round (both present on both sides)."""
    return (left["given_name"] is not None and left["given_name"] == right["family_name"]
            and left["family_name"] is not None and left["family_name"] == right["given_name"])


def _swapped_with_typo(left: Features, right: Features) -> bool:
    """``_SWAPPED_TYPO``: one name crosses exactly, the other within Jaro-Winkler 0.92."""
    ga, fa, gb, fb = left["given_name"], left["family_name"], right["given_name"], right["family_name"]
    if ga is None or fa is None or gb is None or fb is None:
        return False
    return (ga == fb and _jw(fa, gb) >= 0.92) or (fa == gb and _jw(ga, fb) >= 0.92)


def given_name(left: Features, right: Features) -> int:
    a, b = left["given_name"], right["given_name"]
    if a is None or b is None:
        return GivenNameLevel.NULL
    if a == b or _swapped(left, right):
        return GivenNameLevel.EXACT
    if _any_shared(left["given_name_canonicals"], right["given_name_canonicals"]):
        return GivenNameLevel.NICKNAME
    if _jw(a, b) >= 0.92 or _swapped_with_typo(left, right):
        return GivenNameLevel.TYPO
    if _any_shared(left["given_names_all"], right["given_names_all"]) or (
        len(a) >= 3 and len(b) >= 3
        and (a.startswith(b) or b.startswith(a) or a.endswith(b) or b.endswith(a))
    ):
        return GivenNameLevel.MIDDLE_OR_CONTAINED
    ma, mb = left["given_name_metaphone"], right["given_name_metaphone"]
    if (ma is not None and mb is not None and ma == mb) or _jw(a, b) >= 0.8:
        return GivenNameLevel.SOUNDS_ALIKE
    return GivenNameLevel.DIFFERENT


def _former_family(left: Features, right: Features) -> bool:
    """One record's former family name is the other's family name."""
    fa, fb = left.get("former_family_name"), right.get("former_family_name")
    return ((fa is not None and fa == right["family_name"])
            or (fb is not None and fb == left["family_name"]))


def family_name(left: Features, right: Features) -> int:
    a, b = left["family_name"], right["family_name"]
    if a is None or b is None:
        return -1
    if (a == b or _swapped(left, right) or _former_family(left, right)
            or _swapped_with_typo(left, right)):
        return 4
    if _jw(a, b) >= 0.92:
        return 3
    if _any_shared(left["family_name_tokens"], right["family_name_tokens"]):
        return 2
    ma, mb = left["family_name_metaphone"], right["family_name_metaphone"]
    if (ma is not None and mb is not None and ma == mb) or _jw(a, b) >= 0.8:
        return 1
    return 0


def date_of_birth(left: Features, right: Features) -> int:
    a, b = left["dob"], right["dob"]
    ea, eb = left.get("expected_dob"), right.get("expected_dob")
    if (a is None and ea is None) or (b is None and eb is None):
        return -1
    # An expected date of delivery stands in for a missing date at "within 45 days" only.
    wa, wb = _date(a if a is not None else ea), _date(b if b is not None else eb)
    if a is None or b is None:
        return 3 if wa and wb and abs((wa - wb).days) <= 45 else 0
    if a == b:
        return 6
    da, db = _date(a), _date(b)
    if da and db and da.month == db.day and da.day == db.month and da.year == db.year:
        return 5
    if DamerauLevenshtein.distance(a, b) <= 1:
        return 4
    if wa and wb and abs((wa - wb).days) <= 45:
        return 3
    if da and db and da.year == db.year and (left["dob_is_jan1"] or right["dob_is_jan1"]):
        return 2
    if da and db and da.month == db.month and da.day == db.day:
        return 1
    return 0


def sex(left: Features, right: Features) -> int:
    a, b = left["sex"], right["sex"]
    if a is None or b is None:
        return -1
    return 1 if a == b else 0


def _words_within(street_a: str, street_b: str) -> bool:
    """``STREET_WORDS_WITHIN_SQL``, one way round: every word of ``street_a`` (at least
    ``STREET_WORDS_MIN`` different ones) is a word of ``street_b`` or, both of
    ``STREET_WORD_TYPO_MIN`` letters or more, one keystroke from one."""
    words_a, words_b = street_a.split(" "), street_b.split(" ")
    if len(set(words_a)) < STREET_WORDS_MIN:
        return False
    return all(any(x == y or (len(x) >= STREET_WORD_TYPO_MIN and len(y) >= STREET_WORD_TYPO_MIN
                              and DamerauLevenshtein.distance(x, y) <= 1) for y in words_b)
               for x in words_a)


def _house_with_postcode_typo(la: str | None, lb: str | None, pa: str | None,
                              pb: str | None) -> bool:
    """``HOUSE_POSTCODE_TYPO_SQL``: one house number, postcodes one keystroke apart, and the
    street and town within ``STREET_EDITS_MAX`` edits or written another way."""
    if la is None or lb is None or pa is None or pb is None:
        return False
    house_a, _, street_a = la.partition("|")
    house_b, _, street_b = lb.partition("|")
    return (house_a == house_b and DamerauLevenshtein.distance(pa, pb) <= 1
            and (DamerauLevenshtein.distance(street_a, street_b) <= STREET_EDITS_MAX
                 or _words_within(street_a, street_b) or _words_within(street_b, street_a)))


def address(left: Features, right: Features) -> int:
    ka, kb = left["address_key"], right["address_key"]
    la, lb = left["address_line_key"], right["address_line_key"]
    pa, pb = left["postcode"], right["postcode"]
    ra, rb = left.get("uprn"), right.get("uprn")
    if ((ka is None or kb is None) and (la is None or lb is None) and (pa is None or pb is None)
            and (ra is None or rb is None)):
        return -1
    if ((ra is not None and ra == rb) or (ka is not None and ka == kb)
            or (la is not None and la == lb and (pa is None or pb is None))
            or _house_with_postcode_typo(la, lb, pa, pb)):
        return 4
    if pa is not None and pb is not None and pa == pb:
        return 3
    sa, sb = left["postcode_sector"], right["postcode_sector"]
    if sa is not None and sb is not None and sa == sb:
        return 2
    xa, xb = left["postcode_district"], right["postcode_district"]
    if xa is not None and xb is not None and xa == xb:
        return 1
    return 0


#: Comparison output column → its gamma function.
GAMMA_FUNCTIONS: dict[str, Callable[[Features, Features], int]] = {
    "nhs_number": _identifier("nhs_number"),
    "upn": _identifier("upn"),
    "former_upn": former_upn,
    "local_id_key": local_identifier,
    "given_name": given_name,
    "family_name": family_name,
    "dob": date_of_birth,
    "sex": sex,
    "address": address,
}


def personal_evidence(gammas: Mapping[str, int], left: Features, right: Features) -> bool:
    """Does the pair agree on something personal to one child? ``PERSONAL_EVIDENCE_SQL`` in
    ``linkage.pipeline``, level for level: a link run never links a pair without it (a household
    shares a surname and an address), so a real-time answer never grades one above "possible"
    nor ranks it above a candidate with it. Checked against the flag the run stored for every
    pair (``tests/linkage/test_realtime.py``)."""
    if 1 in (gammas.get("nhs_number"), gammas.get("upn"), gammas.get("local_id_key")):
        return True
    dob, given = gammas["dob"], gammas["given_name"]
    if dob == DobLevel.DIFFERENT or (dob == DobLevel.NULL
                                     and gammas["address"] == AddressLevel.NULL):
        return False
    if given >= GivenNameLevel.TYPO:
        return True
    if given == GivenNameLevel.MIDDLE_OR_CONTAINED:
        return dob >= DobLevel.ONE_DIGIT or (
            dob == DobLevel.NULL and gammas["family_name"] >= FamilyNameLevel.TYPO)
    if given == GivenNameLevel.SOUNDS_ALIKE:
        return dob >= DobLevel.ONE_DIGIT or (
            dob in (DobLevel.NULL, DobLevel.SAME_YEAR_ESTIMATED_JAN1)
            and gammas["family_name"] >= FamilyNameLevel.TYPO
            and DamerauLevenshtein.distance(left["given_name"], right["given_name"]) <= 1)
    return given == GivenNameLevel.NULL and dob >= DobLevel.WITHIN_45_DAYS
