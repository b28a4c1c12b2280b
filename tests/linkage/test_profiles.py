"""A record short of the threshold against each of a person's records joins the person when the
person's profile fits; never a twin, never one of two persons it fits alike."""

import numpy as np

from linkage.persons.clustering import ClusteringRules, cluster_records
from linkage.persons.constraints import RecordFacts
from linkage.persons.profiles import ProfileModel

# A small model: bits per level (Splink numbering; -1 missing counts 0).
MODEL = ProfileModel(
    names=("nhs_number", "given_name", "family_name", "dob", "address"),
    level_bits=({1: 25.0, 0: -9.0, -1: 0.0}, {5: 7.0, 0: -5.0, -1: 0.0},
                {4: 7.0, 0: -2.0, -1: 0.0}, {6: 13.0, 2: 5.0, 0: -7.0, -1: 0.0},
                {4: 13.0, 1: 2.0, 0: -4.0, -1: 0.0}),
    prior_bits=-16.0,
)


def rec(given: str, dob: str | None, nhs: str | None = None) -> RecordFacts:
    return RecordFacts(nhs_number=nhs, dob=dob, given_name=given, given_name_canonical=given,
                       given_name_metaphone=None, given_names_all=frozenset([given]),
                       source="health")


def run(records, edges):
    """edges: (left, right, gamma vector); weights come from MODEL, as Splink would give them."""
    left = np.array([e[0] for e in edges], dtype=np.int64)
    right = np.array([e[1] for e in edges], dtype=np.int64)
    gammas = np.array([e[2] for e in edges], dtype=np.int8)
    w = np.array([MODEL.weight(g) for g in gammas.tolist()])
    p = 2.0 ** w / (1 + 2.0 ** w)
    return cluster_records(records, left, right, p, w, ClusteringRules(),
                           profile=(MODEL, gammas))


# Ava's old record (0: old surname, date of birth, old address) and new one (1: new surname, no
# date of birth) are linked by her NHS number. Record 2 (new surname, her date of birth, a third
# address) falls short against each, but her person holds both the surname and the date.
OLD_NEW = (0, 1, [1, 5, 0, -1, 0])
SHORT_OLD = (0, 2, [-1, 5, 0, 6, 0])
SHORT_NEW = (1, 2, [-1, 5, 4, -1, 0])
DOB = "2015-03-02"


def test_a_record_short_against_each_record_joins_the_person_whose_profile_fits() -> None:
    records = [rec("ava", DOB, "9434765919"), rec("ava", None, "9434765919"), rec("ava", DOB)]
    result = run(records, [OLD_NEW, SHORT_OLD, SHORT_NEW])
    assert result.labels[2] == result.labels[0] == result.labels[1]
    assert result.profile_links == [(0, 2)]  # the best pair, for a reviewer to start from
    assert result.edge_outcomes[1:] == ["below_threshold", "below_threshold"]


def test_nothing_new_in_the_profile_gives_no_second_chance() -> None:
    records = [rec("ava", DOB, "9434765919"), rec("ava", None, "9434765919"), rec("ava", DOB)]
    result = run(records, [OLD_NEW, SHORT_OLD])
    assert result.labels[2] != result.labels[0]
    assert result.profile_links == []


def test_a_twin_with_another_given_name_is_not_taken_through_the_profile() -> None:
    records = [rec("ava", DOB, "9434765919"), rec("ava", None, "9434765919"), rec("isla", DOB)]
    result = run(records, [OLD_NEW, (0, 2, [-1, 0, 0, 6, 0]), (1, 2, [-1, 0, 4, -1, 0])])
    assert result.labels[2] != result.labels[0]


def test_a_record_fitting_two_persons_alike_joins_neither() -> None:
    # Persons {0, 1} and {3, 4} (another Ava with another NHS number) fit record 2 equally.
    records = [rec("ava", DOB, "9434765919"), rec("ava", None, "9434765919"), rec("ava", DOB),
               rec("ava", DOB, "9434765870"), rec("ava", None, "9434765870")]
    result = run(records, [OLD_NEW, SHORT_OLD, SHORT_NEW, (3, 4, [1, 5, 0, -1, 0]),
                           (3, 2, [-1, 5, 0, 6, 0]), (4, 2, [-1, 5, 4, -1, 0])])
    assert len({result.labels[0], result.labels[2], result.labels[3]}) == 3
    assert result.labels[0] != result.labels[3]
