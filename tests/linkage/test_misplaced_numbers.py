"""A sibling's NHS number keyed onto a child's record is recognised and set aside, so the record
joins its own child; when nothing says whose number it is, nothing is done."""

import numpy as np

from linkage.persons.constraints import sibling_identifier_error
from linkage.persons.identifier_errors import misplaced_nhs_numbers
from tests.linkage.scored_pairs import child as facts
from tests.linkage.scored_pairs import cluster as run

OLIVIA, FREYA = "9434765919", "9434765870"


def test_a_record_with_its_sisters_number_joins_its_own_child_with_her_own_number() -> None:
    records = [
        facts("freya", "2023-08-13", FREYA),   # 0: Freya's health record
        facts("freya", "2023-08-13", OLIVIA),  # 1: Freya's social care record, Olivia's number
        facts("olivia", "2021-11-10", OLIVIA),  # 2: Olivia's own record
        facts("freya", "2023-08-13"),          # 3: Freya at the police: matches 0 and 1 alike
    ]
    result = run(records, [(0, 1, 0.9999), (1, 2, 0.999), (0, 3, 0.999), (1, 3, 0.999)])
    labels = result.labels.tolist()
    assert labels[0] == labels[1] == labels[3]
    assert labels[2] != labels[0]
    [found] = result.misplaced_numbers
    assert (found.nhs_number, found.records, found.owner_records) == (OLIVIA, (1,), (2,))
    # The pair that shares the number is kept apart and stays visible as the constraint it is.
    assert result.edge_outcomes[1] == "constraint:identifier-on-another-child"
    # The link made once the number was set aside says so.
    assert result.edge_outcomes[0] == "linked:nhs-number-of-another-child-set-aside"


def test_outnumbered_records_give_the_number_to_the_child_who_holds_it_more_often() -> None:
    records = [
        facts("olivia", "2021-11-10", OLIVIA),  # 0, 1: Olivia's health and school records
        facts("olivia", "2021-11-10", OLIVIA),
        facts("freya", "2023-08-13", OLIVIA),  # 2: Freya with her sister's number
        facts("freya", "2023-08-13"),          # 3: Freya without an NHS number
    ]
    result = run(records, [(0, 1, 0.9999), (2, 3, 0.999), (0, 2, 0.999)])
    labels = result.labels.tolist()
    assert labels[2] == labels[3] and labels[0] == labels[1] and labels[0] != labels[2]


def test_a_number_on_two_children_with_nothing_else_to_go_on_is_left_alone() -> None:
    # One record each, and each child also matches a record without a number: a tie.
    records = [
        facts("olivia", "2021-11-10", OLIVIA),
        facts("freya", "2023-08-13", OLIVIA),
        facts("olivia", "2021-11-10"),
        facts("freya", "2023-08-13"),
    ]
    result = run(records, [(0, 2, 0.999), (1, 3, 0.999), (0, 1, 0.999)])
    assert result.misplaced_numbers == []
    labels = result.labels.tolist()
    assert labels[0] == labels[2] and labels[1] == labels[3] and labels[0] != labels[1]


def test_twins_each_with_the_others_number_somewhere_are_not_guessed_between() -> None:
    # Both children also show up with a third number elsewhere: nothing says whose it is.
    records = [
        facts("olivia", "2021-11-10", OLIVIA),
        facts("freya", "2021-11-10", OLIVIA),
        facts("olivia", "2021-11-10", "9434765889"),
        facts("freya", "2021-11-10", FREYA),
    ]
    found = misplaced_nhs_numbers(records, np.array([0, 1]), np.array([2, 3]),
                                  np.array([True, True]))
    assert found == []


def test_an_estimated_first_of_january_date_is_not_a_different_child() -> None:
    # "Idla", born "2020-01-01" (estimated), is Isla with a typo, not a sibling with her number.
    isla, idla = facts("isla", "2020-07-25", OLIVIA), facts("idla", "2020-01-01", OLIVIA)
    assert not sibling_identifier_error(isla, idla)
    # A real date that is neither the child's nor a day/month swap still is a sibling's.
    assert sibling_identifier_error(isla, facts("idla", "2020-03-02", OLIVIA))
