"""Given and family names typed into each other's boxes still agree, in the model's SQL, in the
real-time levels and in the twin constraint; twins (one family name) never meet that test."""

from linkage.model.comparisons import FamilyNameLevel, GivenNameLevel
from linkage.persons.constraints import RecordFacts, twins_in_one_source
from linkage.realtime.levels import GAMMA_FUNCTIONS
from tests.linkage.comparison_sql import sql_level


def names(given: str, family: str) -> dict[str, object]:
    return {"given_name": given, "family_name": family, "given_name_canonicals": [given],
            "given_names_all": [given], "given_name_metaphone": given.upper(),
            "family_name_tokens": [family], "family_name_metaphone": family.upper(),
            "former_family_name": None}


def test_swapped_names_reach_the_exact_level_of_both_comparisons() -> None:
    left, right = names("sara", "nikakis"), names("nikakis", "sara")
    assert GAMMA_FUNCTIONS["given_name"](left, right) == GivenNameLevel.EXACT
    assert GAMMA_FUNCTIONS["family_name"](left, right) == FamilyNameLevel.EXACT
    assert sql_level("given_name", left, right) == GivenNameLevel.EXACT
    assert sql_level("family_name", left, right) == FamilyNameLevel.EXACT
    # One name moved across is not a swap.
    assert GAMMA_FUNCTIONS["given_name"](left, names("nikakis", "jones")) != GivenNameLevel.EXACT


def test_a_swapped_record_is_not_read_as_a_twin() -> None:
    def record(given: str, family: str) -> RecordFacts:
        return RecordFacts(nhs_number=None, dob="2014-02-03", given_name=given,
                           given_name_canonical=given, given_name_metaphone=None,
                           given_names_all=frozenset([given]), source="police",
                           family_name=family)

    assert not twins_in_one_source(record("georgia", "pettigrove"), record("pettigrove", "georgia"))
    assert twins_in_one_source(record("georgia", "pettigrove"), record("olivia", "pettigrove"))
