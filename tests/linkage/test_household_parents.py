"""A parent's contact record joins that parent's own records through the child's household, and
never a grandmother, a namesake of another age, or a recorded carer."""

from linkage.persons.clustering import Relative
from linkage.persons.constraints import RecordFacts
from tests.linkage.scored_pairs import cluster

HOME = "12|TA1 1AA"


def rec(given: str, dob: str | None, surname: str, address: str | None = HOME,
        sex: str | None = None, source: str = "health") -> RecordFacts:
    return RecordFacts(nhs_number=None, dob=dob, given_name=given, given_name_canonical=given,
                       given_name_metaphone=None, given_names_all=frozenset([given]),
                       source=source, family_name=surname, address_key=address, sex=sex)


def run(records: list[RecordFacts], relatives: list[Relative],
        edges: list[tuple[int, int, float]] = ()):  # type: ignore[no-untyped-def]
    return cluster(records, edges, relatives=relatives)


def family(contact: RecordFacts, *others: RecordFacts) -> list[RecordFacts]:
    """0: the pupil at home; 1: the school's parent contact for 0; then the household."""
    return [rec("ava", "2016-05-01", "jones", source="education"), contact, *others]


def test_a_mothers_school_contact_under_her_old_surname_joins_her_own_record() -> None:
    # Helen's school contact: no date of birth, her maiden name; her GP record has her married
    # name and date of birth at the child's address. Scoring alone cannot link them.
    records = family(rec("helen", None, "evans", source="education"),
                     rec("helen", "1985-02-03", "jones", sex="F"))
    result = run(records, [Relative(1, 0, "parent")])
    assert result.labels[1] == result.labels[2]
    assert result.labels[0] != result.labels[1]
    assert result.household_parent_links == [(1, 2)]


def test_a_mother_and_a_grandmother_with_one_name_take_the_contact_neither() -> None:
    records = family(rec("helen", None, "evans", source="education"),
                     rec("helen", "1985-02-03", "jones", sex="F"),
                     rec("helen", "1961-09-12", "evans", sex="F"))
    result = run(records, [Relative(1, 0, "parent")])
    assert len(set(result.labels.tolist())) == 4


def test_a_sister_too_young_to_be_the_parent_is_not_taken() -> None:
    records = family(rec("helen", None, "jones", source="education"),
                     rec("helen", "2009-07-30", "jones", sex="F"))
    result = run(records, [Relative(1, 0, "parent")])
    assert result.labels[1] != result.labels[2]


def test_a_mother_is_not_joined_to_a_man_of_her_name() -> None:
    records = family(rec("sam", None, "evans", source="education"),
                     rec("sam", "1983-02-03", "jones", sex="M"))
    result = run(records, [Relative(1, 0, "mother")])
    assert result.labels[1] != result.labels[2]


def test_the_childs_recorded_carer_is_not_the_parent_another_agency_names() -> None:
    # 3 is social care's "carer" record of the child (the grandmother), linked by score to her
    # GP record 2: the school's parent contact named like her is someone else.
    records = family(rec("rebecca", None, "greel", source="education"),
                     rec("rebecca", "1965-01-04", "green", sex="F"),
                     rec("rebecca", "1965-01-04", "green", source="social_care"),
                     rec("ava", "2016-05-01", "jones", source="social_care"))
    result = run(records, [Relative(1, 0, "parent"), Relative(3, 4, "carer")],
                 edges=[(2, 3, 0.9999), (0, 4, 0.9999)])
    assert result.labels[1] not in (result.labels[2], result.labels[0])


def test_a_contact_whose_own_date_of_birth_differs_is_not_joined() -> None:
    # The father's social care record carries his date of birth; another Sean of another age
    # at the address is not him.
    records = family(rec("sean", "1995-06-13", "marford", address="5|TA6 5RU",
                         source="social_care"),
                     rec("sean", "1990-12-27", "white", sex="M"))
    result = run(records, [Relative(1, 0, "father")])
    assert result.labels[1] != result.labels[2]


def test_a_parent_living_elsewhere_is_not_taken() -> None:
    records = family(rec("helen", None, "evans", source="education"),
                     rec("helen", "1985-02-03", "jones", sex="F", address="3|BA1 2BB"))
    result = run(records, [Relative(1, 0, "parent")])
    assert result.labels[1] != result.labels[2]


def test_a_contact_already_with_the_parent_brings_in_her_other_records_with_her_birthday() -> None:
    # 1 (contact) and 2 (her GP record) are linked by score; 3 is her police record at the same
    # address under her new surname, same date of birth, which scored short against both.
    records = family(rec("helen", None, "evans", source="education"),
                     rec("helen", "1985-02-03", "evans", sex="F"),
                     rec("helen", "1985-02-03", "jones", sex="F", source="police"))
    result = run(records, [Relative(1, 0, "parent")], edges=[(1, 2, 0.9999)])
    assert result.labels[1] == result.labels[2] == result.labels[3]
    assert result.household_parent_links == [(1, 3)]


def test_a_grandmother_of_the_same_name_is_not_brought_in_beside_the_mother() -> None:
    records = family(rec("helen", None, "evans", source="education"),
                     rec("helen", "1985-02-03", "evans", sex="F"),
                     rec("helen", "1961-09-12", "jones", sex="F", source="police"))
    result = run(records, [Relative(1, 0, "parent")], edges=[(1, 2, 0.9999)])
    assert result.labels[1] == result.labels[2]
    assert result.labels[3] != result.labels[1]


def pupil(given: str, dob: str, surname: str, address: str = HOME) -> RecordFacts:
    return rec(given, dob, surname, address=address, source="education")


def test_a_schools_contacts_for_two_pupils_who_live_together_are_one_mother() -> None:
    # Ava and her brother Leo (same home, same surname) each have a "mother" contact named
    # Helen with no date of birth and no other record: one Helen.
    records = [pupil("ava", "2016-05-01", "jones"), pupil("leo", "2013-02-11", "jones"),
               rec("helen", None, "jones", source="education"),
               rec("helen", None, "evans", source="education")]
    result = run(records, [Relative(2, 0, "mother"), Relative(3, 1, "mother")])
    assert result.labels[2] == result.labels[3]
    assert result.implied_links == [(2, 3)]


def test_two_families_sharing_a_house_keep_their_namesake_fathers_apart() -> None:
    # William Marcott and Isabella Khan live at one address: two families, two Matthews.
    records = [pupil("william", "2015-12-07", "marcott"), pupil("isabella", "2013-05-31", "khan"),
               rec("matthew", None, "clark", source="education"),
               rec("matthew", None, "marcott", source="education")]
    result = run(records, [Relative(2, 0, "father"), Relative(3, 1, "father")])
    assert result.labels[2] != result.labels[3]


def test_a_child_who_moved_does_not_join_the_household_of_the_old_home() -> None:
    # Leo Jones moved into the Joneses' old house; his records are at two addresses, so his
    # mother Helen is not taken to be Ava's mother Helen.
    records = [pupil("ava", "2016-05-01", "jones"),
               pupil("leo", "2013-02-11", "jones"), pupil("leo", "2013-02-11", "jones",
                                                          address="7|BA1 1BB"),
               rec("helen", None, "jones", source="education"),
               rec("helen", None, "jones", source="social_care")]
    result = run(records, [Relative(3, 0, "mother"), Relative(4, 1, "mother")],
                 edges=[(1, 2, 0.9999)])
    assert result.labels[3] != result.labels[4]
