"""The fast paths of standardising read the same as the slow ones they stand in for."""

from __future__ import annotations

import itertools
from datetime import datetime

import numpy as np

from linkage.standardise import dates
from linkage.standardise.nhs_number import clean_nhs_number
from linkage.standardise.postcodes import clean_postcode
from linkage.standardise.upn import clean_upn


def _strptime_only(text: str, fmt: str) -> object:
    if fmt == dates.ISO_BASIC and not dates._EIGHT_DIGITS.match(text):
        return None
    try:
        return datetime.strptime(text, fmt).date()
    except ValueError:
        return None


def test_fixed_width_dates_read_as_strptime_reads_them() -> None:
    """Slicing stands in for strptime only where strptime would give the same date or none:
    impossible days, year 0, other digits than ASCII and a trailing newline included."""
    texts = ["2015-03-02", "2015-02-29", "2016-02-29", "0000-01-01", "9999-12-31", "20150302",
             "02032015", "02/03/2015", "31/02/2015", "2015-3-2", "1/2/2015", "2015-13-01",
             "2015-03-02\n", "20150302\n", "\u0661\u0662\u0663\u0664-\u0660\u0661-\u0660\u0661",
             "\u0661\u0662\u0663\u0664\u0660\u0661\u0660\u0661", "2015/03/02", "15-03-2015"]
    for year, month, day in itertools.product((0, 1, 1899, 1900, 2024), range(0, 14),
                                              (0, 1, 28, 29, 30, 31, 32)):
        texts += [f"{year:04d}-{month:02d}-{day:02d}", f"{year:04d}{month:02d}{day:02d}",
                  f"{day:02d}/{month:02d}/{year:04d}"]
    for text in texts:
        for fmt in dates.CANDIDATE_DATE_FORMATS:
            assert dates._strptime(text, fmt) == _strptime_only(text, fmt), (text, fmt)


def test_cached_cleaning_tells_types_apart() -> None:
    """The cache is per value and type: 1 and 1.0 (and True) hash alike but clean differently."""
    assert clean_postcode("sw1a 1aa") == clean_postcode("SW1A1AA")
    assert clean_nhs_number(9434765919).value == "9434765919"
    assert clean_nhs_number(9434765919.0).status == "wrong_length"
    assert clean_nhs_number(np.str_("943 476 5919")).value == "9434765919"
    assert clean_upn(["not", "hashable"]).status in {"malformed", "missing"}
