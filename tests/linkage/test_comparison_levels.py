"""The named comparison levels rules read (``linkage.model.comparisons``) are the levels Splink
numbers them as: adding or reordering a level must fail here, not silently change a rule."""

import pytest

from linkage.model.comparisons import (
    AddressLevel,
    DobLevel,
    FamilyNameLevel,
    GivenNameLevel,
    IdentifierLevel,
    model_comparisons,
)

#: Each named level, with words its chart label must contain (what the rules mean by it).
EXPECTED = {
    "given_name": (GivenNameLevel, {
        GivenNameLevel.EXACT: "identical", GivenNameLevel.NICKNAME: "nickname",
        GivenNameLevel.TYPO: "typo", GivenNameLevel.MIDDLE_OR_CONTAINED: "middle name",
        GivenNameLevel.SOUNDS_ALIKE: "sounds alike", GivenNameLevel.DIFFERENT: "different"}),
    "family_name": (FamilyNameLevel, {
        FamilyNameLevel.EXACT: "identical", FamilyNameLevel.TYPO: "typo",
        FamilyNameLevel.DOUBLE_BARRELLED_PART: "double-barrelled",
        FamilyNameLevel.SOUNDS_ALIKE: "sounds alike", FamilyNameLevel.DIFFERENT: "different"}),
    "dob": (DobLevel, {
        DobLevel.EXACT: "identical", DobLevel.DAY_MONTH_SWAPPED: "swapped",
        DobLevel.ONE_DIGIT: "one digit", DobLevel.WITHIN_45_DAYS: "45 days",
        DobLevel.SAME_YEAR_ESTIMATED_JAN1: "1 january",
        DobLevel.SAME_DAY_AND_MONTH: "same day and month", DobLevel.DIFFERENT: "different"}),
    "address": (AddressLevel, {
        AddressLevel.SAME_HOUSE: "same house", AddressLevel.SAME_POSTCODE: "same postcode",
        AddressLevel.SAME_SECTOR: "sector", AddressLevel.SAME_DISTRICT: "district",
        AddressLevel.DIFFERENT_AREA: "different area"}),
    "nhs_number": (IdentifierLevel, {IdentifierLevel.IDENTICAL: "identical",
                                     IdentifierLevel.DIFFERENT: "different"}),
    "upn": (IdentifierLevel, {IdentifierLevel.IDENTICAL: "identical",
                              IdentifierLevel.DIFFERENT: "different"}),
    "local_id_key": (IdentifierLevel, {IdentifierLevel.IDENTICAL: "identical",
                                       IdentifierLevel.DIFFERENT: "different"}),
}


def _levels(column: str) -> dict[int, str]:
    """gamma value → chart label, as Splink numbers the comparison's levels."""
    for creator in model_comparisons():
        comparison = creator.get_comparison("duckdb")
        if comparison.output_column_name == column:
            return {level.comparison_vector_value: level.label_for_charts
                    for level in comparison.comparison_levels}
    raise AssertionError(f"no comparison {column}")


@pytest.mark.parametrize("column", sorted(EXPECTED))
def test_every_named_level_is_the_level_splink_numbers_it(column: str) -> None:
    enum, words = EXPECTED[column]
    levels = _levels(column)
    # Every level the comparison has is named, and no name points past its levels.
    assert set(levels) == {member.value for member in enum}, (column, levels)
    for member, word in words.items():
        assert word in levels[member].lower(), (column, member, levels[member])
    assert levels[-1]  # the null level is -1
