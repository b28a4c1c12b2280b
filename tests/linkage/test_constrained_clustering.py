"""The hard constraints hold whatever the scores say, including through a weak chaining record."""

import numpy as np

from linkage.persons.clustering import ClusteringRules, cluster_records
from linkage.persons.constraints import RecordFacts, given_names_compatible


def facts(given: str | None, dob: str | None = "2015-03-02", nhs: str | None = None) -> RecordFacts:
    return RecordFacts(
        nhs_number=nhs,
        dob=dob,
        given_name=given,
        given_name_canonical=given,
        given_name_metaphone=None,
        given_names_all=frozenset([given]) if given else frozenset(),
    )


def run(records, edges, **kw):
    left = np.array([e[0] for e in edges])
    right = np.array([e[1] for e in edges])
    p = np.array([e[2] for e in edges], dtype=float)
    w = np.log2(p / (1 - p + 1e-12))
    return cluster_records(records, left, right, p, w, ClusteringRules(), **kw)


def test_twins_are_never_merged_even_with_a_high_score() -> None:
    result = run([facts("jack"), facts("jacob")], [(0, 1, 0.999)])
    assert result.labels[0] != result.labels[1]
    assert result.edge_outcomes == ["constraint:twin-or-sibling"]


def test_a_weak_record_cannot_chain_two_twins_together() -> None:
    # 0 and 1 are twins; 2 has no given name and matches both strongly.
    records = [facts("olivia"), facts("sophie"), facts(None)]
    result = run(records, [(0, 2, 0.99), (1, 2, 0.98)])
    assert result.labels[0] != result.labels[1]
    assert result.labels[2] == result.labels[0]  # the stronger link wins


def test_different_valid_nhs_numbers_never_share_a_person_transitively() -> None:
    records = [facts("amy", nhs="9434765919"), facts("amy"), facts("amy", nhs="9434765870")]
    result = run(records, [(0, 1, 0.999), (1, 2, 0.999)])
    assert len({result.labels[0], result.labels[2]}) == 2
    assert "constraint:different-nhs-number" in result.edge_outcomes


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
    result = run([facts("amy"), facts("amy")], [(0, 1, 0.9)])
    assert result.labels[0] != result.labels[1]
