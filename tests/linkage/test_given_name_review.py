"""A pair refused only for want of personal evidence, agreeing on everything but the given
name, goes to a reviewer unless the data show two children (issue 14: "never silently
refused"). Measured: on the independent populations 52 of 53 and 37 of 38 such pairs are one
child (a preferred or middle name); on seed 7, 14 of 17 (the rest twins) — so review, not a link."""

from dataclasses import replace

import numpy as np

from linkage.model.comparisons import AddressLevel, DobLevel, FamilyNameLevel, GivenNameLevel
from linkage.persons.constraints import RecordFacts
from linkage.persons.outcomes import Outcome
from linkage.persons.profiles import ProfileModel
from tests.linkage.scored_pairs import child, cluster

MODEL = ProfileModel(("given_name", "dob", "family_name", "address"), ({},) * 4, 0.0)


def at(source: str, given: str) -> RecordFacts:
    return replace(child(given, "2020-06-14"), source=source, family_name="iqbal",
                   address_key="5|IP15AJ", sex="M")


def _run(records: list[RecordFacts], edges: list[tuple[int, int, float, bool]]) -> list[str]:
    """Cluster ``edges`` (record, record, probability, personal evidence): the given name
    agrees where the evidence says so, everything else agrees throughout. A hundred other
    children, each at the GP and at school under one name, come first, so that another given
    name is no habit of these sources; only ``edges``' outcomes are returned."""
    filler: list[RecordFacts] = []
    for n in range(100):
        filler += [replace(at(s, f"child{n}"), dob=f"{2005 + n // 28}-01-{n % 28 + 1:02d}")
                   for s in ("health", "education")]
    base = len(filler)
    records = [*filler, *records]
    edges = [*((2 * n, 2 * n + 1, 0.999999, True) for n in range(100)),
             *((i + base, j + base, p, ok) for i, j, p, ok in edges)]
    gammas = np.array([[GivenNameLevel.EXACT if ok else GivenNameLevel.DIFFERENT,
                        DobLevel.EXACT, FamilyNameLevel.EXACT, AddressLevel.SAME_HOUSE]
                       for *_, ok in edges], dtype=np.int8)
    result = cluster(records, [e[:3] for e in edges],
                     personal_evidence=np.array([e[3] for e in edges], dtype=bool),
                     profile=(MODEL, gammas))
    return list(result.edge_outcomes)[100:]


def test_one_child_under_another_first_name_in_another_register_goes_to_review() -> None:
    # Mohammed at the GP, Idris (his middle name) at school: no register lists two children.
    outcomes = _run([at("health", "mohammed"), at("education", "idris")],
                    [(0, 1, 0.99999, False)])
    assert outcomes == [Outcome.REVIEW_GIVEN_NAME_ONLY]


def test_twins_each_in_both_registers_are_refused_not_queued() -> None:
    # The look-alike: twins Hassan and Hussain, each at the GP and at school: the GP register
    # lists two children, so the cross pairs stay refused.
    records = [at("health", "hassan"), at("education", "hassan"),
               at("health", "hussain"), at("education", "hussain")]
    outcomes = _run(records, [(0, 1, 0.999999, True), (2, 3, 0.999999, True),
                              (0, 3, 0.99999, False), (1, 2, 0.99999, False)])
    assert outcomes[:2] == [Outcome.LINKED] * 2
    assert outcomes[2:] == [Outcome.INSUFFICIENT_PERSONAL_EVIDENCE] * 2


def test_only_the_strongest_pair_between_two_persons_is_queued() -> None:
    # Idris on the school roll twice, Mohammed at the GP: one question for the reviewer.
    records = [at("health", "mohammed"), at("education", "idris"), at("education", "idris")]
    outcomes = _run(records, [(1, 2, 0.999999, True), (0, 1, 0.99999, False),
                              (0, 2, 0.9999, False)])
    assert outcomes == [Outcome.LINKED, Outcome.REVIEW_GIVEN_NAME_ONLY,
                        Outcome.INSUFFICIENT_PERSONAL_EVIDENCE]
