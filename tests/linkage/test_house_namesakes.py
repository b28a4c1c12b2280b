"""An undated record joins the only person of its name at its house, and nobody when the house
holds two people who could bear the name."""

from linkage.persons.constraints import RecordFacts
from tests.linkage.scored_pairs import cluster as run

HOUSE, LINE = "73|TA2 7DJ", "73|halcon road tonebridge"


def person(given: str, dob: str | None, *, address_key: str | None = HOUSE,
           line: str | None = LINE, middle: str = "") -> RecordFacts:
    return RecordFacts(
        nhs_number=None, dob=dob, given_name=given, given_name_canonical=given,
        given_name_metaphone=None, given_names_all=frozenset({given, *middle.split()}),
        source="police", address_key=address_key, address_line_key=line, sex="F",
    )


def test_an_undated_contact_joins_the_only_person_of_her_name_at_her_house() -> None:
    # A school contact (no date, no postcode) and her own dated record: 0.85 falls short alone.
    records = [person("claire", None, address_key=None), person("claire", "1986-03-17")]
    result = run(records, [(0, 1, 0.85)])
    assert result.labels[0] == result.labels[1]
    assert result.namesake_links == [(0, 1)]


def test_two_people_who_could_bear_the_name_at_the_house_leave_it_to_a_reviewer() -> None:
    # A mother and her daughter Clare live there: the undated record could be either.
    records = [person("claire", None), person("claire", "1986-03-17"), person("clare", "2012-05-01")]
    result = run(records, [(0, 1, 0.85), (0, 2, 0.6)])
    assert len(set(result.labels.tolist())) == 3
    assert result.namesake_links == []


def test_dated_records_below_the_threshold_are_left_to_the_model() -> None:
    records = [person("claire", "1986-03-17"), person("claire", "1987-03-17")]
    result = run(records, [(0, 1, 0.85)])
    assert result.labels[0] != result.labels[1]


def test_a_shared_middle_name_is_not_the_same_first_name() -> None:
    # Thomas (a father, no date) and his son Adam Thomas at one house.
    records = [person("thomas", None), person("adam", "2006-06-12", middle="thomas")]
    result = run(records, [(0, 1, 0.9)])
    assert result.labels[0] != result.labels[1]


def test_one_street_line_under_two_postcodes_is_two_houses() -> None:
    records = [person("michelle", None, address_key="112|TA6 8BA", line="112|blackdown lane"),
               person("michelle", "1991-11-22", address_key="112|TA1 7WQ", line="112|blackdown lane")]
    result = run(records, [(0, 1, 0.8)])
    assert result.labels[0] != result.labels[1]
    # Without a postcode on one side, the street line names the house.
    records[0] = person("michelle", None, address_key=None, line="112|blackdown lane")
    assert run(records, [(0, 1, 0.8)]).labels.tolist() == [0, 0]


def test_a_pair_the_model_finds_unlikely_is_not_joined() -> None:
    records = [person("claire", None, address_key=None), person("claire", "1986-03-17")]
    assert run(records, [(0, 1, 0.3)]).labels.tolist() == [0, 1]
