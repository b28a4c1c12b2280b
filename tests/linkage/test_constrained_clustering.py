"""The hard constraints hold whatever the scores say, including through a weak chaining record."""

from linkage.persons.constraints import RecordFacts, given_names_compatible
from tests.linkage.scored_pairs import child as facts
from tests.linkage.scored_pairs import cluster as run


def test_twins_are_never_merged_even_with_a_high_score() -> None:
    result = run([facts("jack"), facts("jacob")], [(0, 1, 0.999)])
    assert result.labels[0] != result.labels[1]
    assert result.edge_outcomes == ["constraint:twin-or-sibling"]


def test_a_weak_record_cannot_chain_two_twins_together() -> None:
    # 0 and 1 are twins; 2 has no given name and matches both about equally: held for review.
    records = [facts("olivia"), facts("sophie"), facts(None)]
    result = run(records, [(0, 2, 0.99), (1, 2, 0.98)])
    assert len(set(result.labels.tolist())) == 3
    assert result.edge_outcomes == ["held:ambiguous", "held:ambiguous"]


def test_a_weak_record_goes_to_the_clearly_better_twin_but_never_to_both() -> None:
    records = [facts("olivia"), facts("sophie"), facts(None)]
    result = run(records, [(0, 2, 0.99999), (1, 2, 0.96)])
    assert result.labels[2] == result.labels[0]
    assert result.labels[1] != result.labels[0]


def test_parent_and_junior_with_the_same_name_are_never_merged() -> None:
    records = [facts("james", dob="1976-07-29"), facts("james", dob="2015-12-15")]
    result = run(records, [(0, 1, 0.999)])
    assert result.labels[0] != result.labels[1]
    assert result.edge_outcomes == ["constraint:different-generation"]


def test_different_valid_nhs_numbers_never_share_a_person_transitively() -> None:
    records = [facts("amy", nhs="9434765919"), facts("amy"), facts("amy", nhs="9434765870")]
    result = run(records, [(0, 1, 0.999), (1, 2, 0.999)])
    assert len({result.labels[0], result.labels[2]}) == 2
    # The bridging record fits both equally, so it is held for review rather than chained.
    assert set(result.edge_outcomes) <= {"held:ambiguous", "constraint:different-nhs-number"}


def test_typos_and_nicknames_are_not_treated_as_different_children() -> None:
    assert given_names_compatible(facts("jon"), facts("john"))
    assert given_names_compatible(facts("alex"), facts("alexander"))
    assert not given_names_compatible(facts("jack"), facts("jacob"))
    result = run([facts("jon"), facts("john")], [(0, 1, 0.99)])
    assert result.labels[0] == result.labels[1]


def test_reviewer_cannot_link_is_honoured_and_must_link_conflicts_are_surfaced() -> None:
    records = [facts("amy", dob="2015-01-01"), facts("amy", dob="2015-01-01")]
    result = run(records, [(0, 1, 0.999)], cannot_link=[(0, 1)])
    assert result.labels[0] != result.labels[1]
    twins = [facts("jack"), facts("jacob")]
    result = run(twins, [], must_link=[(0, 1)])
    assert result.labels[0] != result.labels[1]
    assert result.conflicts == [(0, 1, "twin-or-sibling")]


def test_below_threshold_pairs_do_not_link() -> None:
    result = run([facts("amy"), facts("amy")], [(0, 1, 0.85)])
    assert result.labels[0] != result.labels[1]


def test_a_siblings_nhs_number_keyed_in_error_does_not_merge_two_children() -> None:
    records = [
        facts("olivia", dob="2021-11-10", nhs="9434765919"),
        facts("freya", dob="2023-08-13", nhs="9434765919"),
    ]
    result = run(records, [(0, 1, 0.999)])
    assert result.labels[0] != result.labels[1]
    assert result.edge_outcomes == ["constraint:identifier-on-another-child"]


def test_two_agencies_records_of_one_childs_mother_are_joined_through_the_child() -> None:
    from linkage.persons.clustering import Relative

    # 0, 1: the child at health and at school (linked); 2: health's "mother" record of 0, with a
    # date of birth; 3: the school's "parent" contact for 1, maiden name and no date of birth, so
    # never scored against 2. 4: the father, Helen's namesake excluded by role.
    records = [facts("ava", dob="2016-05-01"), facts("ava", dob="2016-05-01"),
               facts("helen", dob="1985-02-03"), facts("helen", dob=None), facts("mark", dob=None)]
    relatives = [Relative(2, 0, "mother"), Relative(3, 1, "parent"), Relative(4, 1, "father")]
    result = run(records, [(0, 1, 0.999)], relatives=relatives)
    assert result.labels[2] == result.labels[3]
    assert result.labels[4] not in (result.labels[2], result.labels[0])
    assert result.implied_links == [(2, 3)]


def test_a_parent_and_a_father_with_one_name_are_not_guessed_between() -> None:
    from linkage.persons.clustering import Relative

    records = [facts("ava", dob="2016-05-01"), facts("sam", dob=None), facts("sam", dob=None),
               facts("sam", dob=None)]
    relatives = [Relative(1, 0, "mother"), Relative(2, 0, "father"), Relative(3, 0, "parent")]
    result = run(records, [], relatives=relatives)
    assert len(set(result.labels.tolist())) == 4


def test_a_parents_record_never_joins_someone_born_after_their_child() -> None:
    from linkage.persons.clustering import Relative

    # 0 is a pupil born 2012; 1 is the school's parent contact for 0 (no date of birth), named
    # like 2, a girl born 2015 at the same address: the score says link, the family says no.
    records = [facts("ruby", dob="2012-01-05"), facts("dan", dob=None), facts("dan", dob="2015-10-25")]
    result = run(records, [(1, 2, 0.99)], relatives=[Relative(1, 0, "parent")])
    assert result.labels[1] != result.labels[2]
    assert result.edge_outcomes == ["constraint:parent-younger-than-child"]


def test_a_fathers_school_contact_goes_to_him_not_to_junior_who_cannot_be_a_parent() -> None:
    from linkage.persons.clustering import Relative

    # 0: the pupil (b. 2016); 1: the school's DOB-less parent contact for 0, named Paul; 2: Paul
    # senior (b. 1994); 3: Paul junior (b. 2014), 0's brother. Both Pauls score alike against 1,
    # but Junior cannot be the parent of a child born two years after him.
    records = [facts("ava", dob="2016-05-01"), facts("paul", dob=None),
               facts("paul", dob="1994-04-27"), facts("paul", dob="2014-03-02")]
    result = run(records, [(1, 2, 0.9999), (1, 3, 0.9999)], relatives=[Relative(1, 0, "parent")])
    assert result.labels[1] == result.labels[2]
    assert result.labels[3] not in (result.labels[1], result.labels[0])


def test_a_dob_less_record_fitting_father_and_junior_alike_is_still_held_without_a_child() -> None:
    # The same Pauls, but the DOB-less record names no child: either could be its subject.
    records = [facts("paul", dob=None), facts("paul", dob="1994-04-27"),
               facts("paul", dob="2014-03-02")]
    result = run(records, [(0, 1, 0.9999), (0, 2, 0.9999)])
    assert len(set(result.labels.tolist())) == 3
    assert result.edge_outcomes == ["held:ambiguous", "held:ambiguous"]


def test_a_childs_own_records_join_though_one_agency_names_a_father_too_young() -> None:
    from linkage.persons.clustering import Relative

    # 0, 1: Millie at health and at social care, one NHS number; social care also names a
    # "father" (2, her mother's partner) born 11 years before her. That record does not make
    # Millie's records two children; it still keeps the partner out of her person.
    records = [facts("millie", dob="2013-09-09", nhs="9434765919"),
               facts("millie", dob="2013-09-09", nhs="9434765919"),
               facts("joseph", dob="2002-01-09")]
    result = run(records, [(0, 1, 0.9999)], relatives=[Relative(2, 1, "father")])
    assert result.labels[0] == result.labels[1]
    assert result.labels[2] != result.labels[0]


def test_one_agency_keying_one_child_twice_with_a_typo_and_one_nhs_number_is_one_child() -> None:
    from linkage.persons.constraints import pair_conflict

    # Same agency, same date, same NHS number; "olrvia" is a typo of "olivia" too far for the
    # typo similarity. Twins never share an NHS number, so this is one child keyed twice.
    records = [facts("olrvia", nhs="9073767059"), facts("olivia", nhs="9073767059")]
    assert pair_conflict(records[0], records[1]) is None
    result = run(records, [(0, 1, 0.9999)])
    assert result.labels[0] == result.labels[1]
    assert result.edge_outcomes == ["linked"]


def test_twins_one_letter_apart_stay_apart_without_a_shared_nhs_number() -> None:
    # Jack and Zack, twins at one agency: one letter apart, no shared number, never one child.
    result = run([facts("jack"), facts("zack")], [(0, 1, 0.999)])
    assert result.labels[0] != result.labels[1]
    assert result.edge_outcomes == ["constraint:twin-or-sibling"]
    # Charlotte and Amelia, one twin's number keyed on both: names too far apart to be one
    # child's typo, so the shared number is the error and they stay two children.
    same = run([facts("charlotte", nhs="9073767059"), facts("amelia", nhs="9073767059")],
               [(0, 1, 0.999)])
    assert same.labels[0] != same.labels[1]


def test_a_reissued_upn_on_one_childs_duplicate_does_not_split_it_but_twins_stay_apart() -> None:
    def pupil(given: str, upn: str, dob: str = "2011-05-04") -> RecordFacts:
        return RecordFacts(nhs_number=None, dob=dob, given_name=given, given_name_canonical=given,
                           given_name_metaphone=None, given_names_all=frozenset([given]),
                           upn=upn, source="education")

    # One child keyed twice by a school that issued a second UPN: same name, same birthday.
    result = run([pupil("olivia", "Q926289915580"), pupil("olivia", "G926291618469")],
                 [(0, 1, 0.9999)])
    assert result.labels[0] == result.labels[1]
    # Twins a letter apart, each with their own UPN, are two children.
    result = run([pupil("ella", "Q926289915580"), pupil("ellie", "G926291618469")],
                 [(0, 1, 0.9999)])
    assert result.labels[0] != result.labels[1]
    assert result.edge_outcomes == ["constraint:different-upn"]
    # A different UPN with a different birthday is another child, whatever the name.
    result = run([pupil("olivia", "Q926289915580"), pupil("olivia", "G926291618469", "2012-05-04")],
                 [(0, 1, 0.9999)])
    assert result.labels[0] != result.labels[1]


def test_a_record_naming_one_twin_exactly_goes_to_that_twin_not_to_review() -> None:
    # Twins Isla and Isabella; a third record says "isla" and scores well against both (the
    # names share letters), but it names Isla. A record with no given name stays held.
    records = [facts("isla"), facts("isabella"), facts("isla"), facts(None)]
    result = run(records, [(0, 2, 0.99999), (1, 2, 0.9999), (0, 3, 0.999), (1, 3, 0.999)])
    labels = result.labels.tolist()
    assert labels[2] == labels[0] != labels[1]
    assert labels[3] not in (labels[0], labels[1])
    assert result.edge_outcomes[2:] == ["held:ambiguous", "held:ambiguous"]
