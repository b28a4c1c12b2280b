"""One house written two ways with its postcode mis-keyed (``HOUSE_POSTCODE_TYPO_SQL``'s street
words): a part left out or the lines in another order still read as the same house, in the
model's SQL and in the real-time levels alike; another street of one name, or the same street
name in another town, does not."""

from __future__ import annotations

import duckdb
import pytest

from linkage.model.comparisons import HOUSE_POSTCODE_TYPO_SQL
from linkage.realtime.levels import GAMMA_FUNCTIONS
from tests.linkage.comparison_sql import sql_level

SAME_HOUSE = 4
SAME_POSTCODE = 3
DIFFERENT_AREA = 0


def house(line: str, postcode: str) -> dict[str, object]:
    return {"address_key": None, "address_line_key": line, "postcode": postcode, "uprn": None,
            "postcode_sector": None, "postcode_district": None}


def level(left: dict[str, object], right: dict[str, object]) -> int:
    """The address level from the model's SQL, after checking real time gives the same."""
    found = sql_level("address", left, right)
    assert GAMMA_FUNCTIONS["address"](left, right) == found
    assert GAMMA_FUNCTIONS["address"](right, left) == sql_level("address", right, left) == found
    return found


@pytest.mark.parametrize(("one", "other"), [
    # FEBRL3: the locality left out of one record, postcodes transposed (Vilums, 7454 / 4754).
    ("14|rene street dalamar crows nest sa", "14|rene street crows nest sa"),
    # The two address lines in the other order, with a typo on top.
    ("3|allunga woollum street surrey hills qld", "3|woollum streett allunga surrey hills qld"),
    ("12|rose court high street leeds", "12|high street leeds"),
])
def test_one_house_written_another_way_with_a_postcode_typo_is_one_house(
        one: str, other: str) -> None:
    assert level(house(one, "7454"), house(other, "4754")) == SAME_HOUSE


@pytest.mark.parametrize(("one", "other"), [
    # Another street of one name and number: one word the other lacks, not a typo of it.
    ("12|mill lane headingley leeds", "12|mill road headingley leeds"),
    ("12|high street avonleigh", "12|high street tonebridge"),
    # Too little to be a street: a state alone is in every address of that state.
    ("14|sa", "14|rene street crows nest sa"),
    # Short words must agree exactly ("the" / "thx" is not a typo worth a house).
    ("5|the elms yeovil somerset", "5|thx elms yeovil"),
])
def test_another_street_is_not_the_same_house(one: str, other: str) -> None:
    assert level(house(one, "LS6 2AB"), house(other, "LS6 2AD")) == DIFFERENT_AREA


def test_the_words_need_a_postcode_a_keystroke_away_and_one_number() -> None:
    one, other = "14|rene street dalamar crows nest sa", "14|rene street crows nest sa"
    # Postcodes two edits apart: two houses whatever the lines say.
    assert level(house(one, "7454"), house(other, "4745")) == DIFFERENT_AREA
    # Another house number on the same street.
    assert level(house(one, "7454"), house("16|rene street crows nest sa", "4754")) \
        == DIFFERENT_AREA
    # The same postcode but another way of writing the street is still "same postcode" only:
    # without a house key both ways, nothing says one house.
    assert level(house(one, "7454"), house("16|rene street crows nest sa", "7454")) \
        == SAME_POSTCODE


def test_a_source_with_no_address_at_all_still_scores() -> None:
    # An extract without an address column gives all-NULL key columns that DuckDB does not type
    # as text; the street's words must still be read (as none) rather than fail to bind.
    with duckdb.connect() as con:
        con.execute("CREATE TABLE p AS SELECT CAST(NULL AS DOUBLE) AS address_line_key_l, "
                    "CAST(NULL AS DOUBLE) AS address_line_key_r, 'LS6 2AB' AS postcode_l, "
                    "'LS6 2AD' AS postcode_r")
        assert con.execute(f"SELECT coalesce({HOUSE_POSTCODE_TYPO_SQL}, false) FROM p"
                           ).fetchall() == [(False,)]
