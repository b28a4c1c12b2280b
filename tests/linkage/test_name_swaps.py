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


def levels(left: dict[str, object], right: dict[str, object]) -> tuple[int, int]:
    """(given, family) levels from the model's SQL, after checking real time gives the same."""
    found = (sql_level("given_name", left, right), sql_level("family_name", left, right))
    assert (GAMMA_FUNCTIONS["given_name"](left, right),
            GAMMA_FUNCTIONS["family_name"](left, right)) == found
    return found


def test_swapped_names_with_a_typo_in_one_score_as_the_typo_unswapped() -> None:
    # FEBRL3: Elizabeth Stephenson / Stephenson Elizbeth, Robin Morrison / Morrion Robin. Either
    # name may carry the typo; either way it is read as a typo in the given name, the family name
    # exact, the weaker of the two readings where twins are concerned.
    typo = (GivenNameLevel.TYPO, FamilyNameLevel.EXACT)
    assert levels(names("elizabeth", "stephenson"), names("stephenson", "elizbeth")) == typo
    assert levels(names("robin", "morrison"), names("morrion", "robin")) == typo
    assert levels(names("stephenson", "elizbeth"), names("elizabeth", "stephenson")) == typo


def test_a_twins_swapped_record_looks_exactly_as_the_twin_does() -> None:
    # Isabelle Smith's record typed the wrong way round, beside her twin Isabella Smith: the
    # model sees what it sees for the twins written the right way round, so whatever holds
    # Isabella and Isabelle apart holds this pair apart too; and the twin constraint still
    # reads two given names.
    isabella = names("isabella", "smith")
    assert levels(isabella, names("smith", "isabelle")) == levels(isabella,
                                                                  names("isabelle", "smith"))

    def record(given: str, family: str) -> RecordFacts:
        return RecordFacts(nhs_number=None, dob="2014-02-03", given_name=given,
                           given_name_canonical=given, given_name_metaphone=None,
                           given_names_all=frozenset([given]), source="gp", family_name=family)

    assert twins_in_one_source(record("isabella", "smith"), record("smith", "isabelle"))


def test_one_name_crossed_with_the_other_unrelated_is_no_swap() -> None:
    # The near misses: one name moved across and the other replaced (a twin's swapped record,
    # Smith Tom beside Ella Smith, looks like this), or replaced by a name beyond a typo of it
    # (Karen / Kate: Jaro-Winkler 0.78).
    ella = names("ella", "smith")
    assert levels(ella, names("smith", "tom")) == (GivenNameLevel.DIFFERENT,
                                                   FamilyNameLevel.DIFFERENT)
    assert levels(names("karen", "moss"), names("moss", "kate")) == (
        GivenNameLevel.DIFFERENT, FamilyNameLevel.DIFFERENT)
