"""One house with its postcode mis-keyed in one record is still one house (issue 14.3).

FEBRL, like a clerk, transposes and mistypes postcode digits (4750 / 4570). Before, one slip took
a pair from "same house" to "different area", the strongest evidence against a match the address
has. The address comparison's "same house" now also holds for the same house number and street
(two typos at most) with postcodes one keystroke apart; each case below is checked in the model's
SQL and in the real-time levels alike. The near misses are what the rule must not reach: another
house number, another street of the same number in the next postcode, postcodes two keystrokes
apart.
"""

from __future__ import annotations

import pytest

from linkage.model.comparisons import AddressLevel
from linkage.realtime.levels import GAMMA_FUNCTIONS
from linkage.standardise.records import standardise_record
from tests.linkage.comparison_sql import sql_level

_ADDRESS_FEATURES = ("uprn", "address_key", "address_line_key", "postcode", "postcode_sector",
                     "postcode_district")


def features(address: str, postcode: str = "") -> dict[str, object]:
    """The address features of a record, standardised as a link run would."""
    standardised = standardise_record({"given_name": "Mia", "family_name": "Lee",
                                       "dob": "2015-01-02", "postcode": postcode,
                                       "address": address})
    return {k: standardised[k] for k in _ADDRESS_FEATURES}


def level(left: dict[str, object], right: dict[str, object]) -> int:
    """The address level from the model's SQL, after checking real time gives the same."""
    found = sql_level("address", left, right)
    assert GAMMA_FUNCTIONS["address"](left, right) == found
    assert GAMMA_FUNCTIONS["address"](right, left) == found
    return found


@pytest.mark.parametrize(("left", "right"), [
    # Two digits transposed, in the postcode column and inside the address text.
    (features("363 Banks Street, Manresa", "4750"), features("363 Banks Street, Manresa", "4570")),
    (features("363 banks street, manresa 4750"), features("363 banks street, manresa 4570")),
    # A UK postcode's last letter mistyped.
    (features("12 Mill Lane, Wellbury", "BA5 7JT"), features("12 Mill Lane, Wellbury", "BA5 7JR")),
    # ... and a typo in the street as well ("cescent", a space slipped).
    (features("185 Beattie Crescent, Moranbah", "2525"),
     features("185 Beattie Cescent, Moranbah", "2552")),
    (features("13 Burkitt Street, Banks", "3352"), features("13 Burkitts treet, Banks", "3350")),
])
def test_one_house_with_a_mis_keyed_postcode_is_the_same_house(
        left: dict[str, object], right: dict[str, object]) -> None:
    assert level(left, right) == AddressLevel.SAME_HOUSE


def test_a_neighbour_in_the_next_postcode_is_not_the_same_house() -> None:
    home = features("12 Mill Lane, Wellbury", "BA5 7JT")
    # Another number on the same street, one letter away in the postcode: the same sector only.
    assert level(home, features("14 Mill Lane, Wellbury", "BA5 7JR")) == AddressLevel.SAME_SECTOR
    # The same number on another street of the next postcode ("lane" / "road": four edits).
    assert level(home, features("12 Mill Road, Wellbury", "BA5 7JR")) == AddressLevel.SAME_SECTOR
    # Postcodes two keystrokes apart are two places, whatever the line says.
    street = "363 Banks Street, Manresa"
    assert level(features(street, "4750"), features(street, "4507")) == AddressLevel.DIFFERENT_AREA
    # And the same postcode is still only that, for another house in it.
    assert level(home, features("7 Mill Lane, Wellbury", "BA5 7JT")) == AddressLevel.SAME_POSTCODE
