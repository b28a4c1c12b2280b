"""Pre-birth records join the one child born from them, and never a twin, a sibling or a
neighbour's baby."""

from linkage.persons.constraints import RecordFacts
from tests.linkage.scored_pairs import cluster as run

HOME = "12|TA1 1AA"


def unborn(expected: str = "2025-02-01", surname: str = "burcombe",
           address: str | None = HOME) -> RecordFacts:
    """Social care's record before the birth: no given name, the mother's surname."""
    return RecordFacts(nhs_number=None, dob=expected, given_name=None, given_name_canonical=None,
                       given_name_metaphone=None, given_names_all=frozenset(),
                       source="social_care", family_name=surname, address_key=address,
                       placeholder_name=True)


def person(given: str, dob: str, surname: str = "marsh", address: str | None = HOME,
           nhs: str | None = None, source: str = "health") -> RecordFacts:
    return RecordFacts(nhs_number=nhs, dob=dob, given_name=given, given_name_canonical=given,
                       given_name_metaphone=None, given_names_all=frozenset([given]),
                       source=source, family_name=surname, address_key=address)


def test_a_pre_birth_record_joins_the_child_born_weeks_later_at_its_address() -> None:
    # The mother (her surname on the pre-birth record) and her baby, born 18 days after the
    # expected date with his father's surname, whose two records link by score.
    records = [unborn(), person("ezra", "2025-02-19", nhs="9434765919"),
               person("ezra", "2025-02-19", source="police"),
               person("helen", "1994-05-03", surname="burcombe")]
    result = run(records, [(1, 2, 0.9999)])
    assert result.labels[0] == result.labels[1] == result.labels[2]
    assert result.labels[3] != result.labels[0]
    assert result.birth_links == [(0, 1)]


def test_twins_born_from_one_pre_birth_record_take_it_neither() -> None:
    records = [unborn(), person("ezra", "2025-02-19", surname="burcombe"),
               person("isla", "2025-02-19", surname="burcombe")]
    result = run(records)
    assert len(set(result.labels.tolist())) == 3
    assert result.birth_links == []


def test_an_older_sibling_is_not_the_expected_child() -> None:
    records = [unborn(), person("ruby", "2021-06-30", surname="burcombe")]
    result = run(records)
    assert result.labels[0] != result.labels[1]


def test_a_baby_at_the_address_with_no_one_of_the_records_surname_is_not_taken() -> None:
    # A lodger's baby in the same house: nobody there carries the pre-birth record's surname.
    records = [unborn(surname="okafor"), person("ezra", "2025-02-19")]
    result = run(records)
    assert result.labels[0] != result.labels[1]


def test_a_baby_born_elsewhere_is_not_taken() -> None:
    records = [unborn(), person("ezra", "2025-02-10", surname="burcombe", address="3|BA1 2BB")]
    result = run(records)
    assert result.labels[0] != result.labels[1]


def test_a_reviewers_different_decision_stands() -> None:
    records = [unborn(), person("ezra", "2025-02-19", surname="burcombe")]
    result = run(records, cannot_link=[(0, 1)])
    assert result.labels[0] != result.labels[1]
    assert result.birth_links == []


def test_a_pre_birth_record_without_an_address_joins_the_only_child_of_its_surname_born_then() -> None:
    records = [unborn(address=None, surname="romhurst"),
               person("zara", "2025-01-27", surname="romhurst", address="4|IP3 2YF"),
               person("amy", "2025-01-20", surname="marsh", address="9|IP3 2YF")]
    result = run(records)
    assert result.labels[0] == result.labels[1] != result.labels[2]
    assert result.birth_links == [(0, 1)]


def test_two_children_of_that_surname_born_then_leave_an_addressless_record_to_a_reviewer() -> None:
    records = [unborn(address=None, surname="smith"),
               person("zara", "2025-01-27", surname="smith", address="4|IP3 2YF"),
               person("leo", "2025-02-10", surname="smith", address="7|NR1 1AA")]
    result = run(records)
    assert len(set(result.labels.tolist())) == 3
    assert result.birth_links == []


def test_an_addressless_record_does_not_reach_a_namesakes_baby_born_a_month_away() -> None:
    # With only the surname to go on, the window is three weeks: this pregnancy's child may not
    # be in the extracts yet, and a namesake's baby born 30 days earlier is not it.
    records = [unborn(expected="2025-02-18", address=None, surname="saxton"),
               person("evelyn", "2025-01-19", surname="saxton", address="33|PE33 5PX")]
    result = run(records)
    assert result.birth_links == []
    assert result.labels[0] != result.labels[1]
