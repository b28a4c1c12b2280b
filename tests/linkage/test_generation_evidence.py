"""The generation rule holds two records of one name apart only when the data show two people:
two dates of birth a generation apart *and* each date carried by records of its own, or a
source that lists each person once. One record whose date is a generation off, in a file of
many copies per person (FEBRL 3), is a date keyed wrong: it links."""

from dataclasses import replace

import numpy as np

from linkage.model.comparisons import AddressLevel, DobLevel, FamilyNameLevel, GivenNameLevel
from linkage.persons.clustering import evidence_in_duplicated_sources
from linkage.persons.constraints import RecordFacts
from linkage.persons.profiles import ProfileModel
from tests.linkage.scored_pairs import child, cluster


def at(source: str, given: str, dob: str) -> RecordFacts:
    return replace(child(given, dob), source=source, family_name="linnell", address_key="2|3185")


def _filler(source: str, people: int) -> tuple[list[RecordFacts], list[tuple[int, int, float]]]:
    """Other persons of one source, each recorded twice (a source full of duplicates)."""
    records, edges = [], []
    for n in range(people):
        dob = f"19{40 + n:02d}-03-1{n % 9}"
        records += [at(source, "mark", dob), at(source, "mark", dob)]
        edges.append((2 * n, 2 * n + 1, 0.999))
    return records, edges


def _joshua(source: str, father: int, son: int) -> tuple[list[RecordFacts], list[tuple[int, int, float]]]:
    """A filler source plus ``father`` records of Joshua born 1926 and ``son`` born 1948, all
    at one house: pairs of one date score far above those of two (as they do when the date is
    the only field that differs), and both are strong matches."""
    filler, edges = _filler(source, 20)
    base = len(filler)
    people = ([at(source, "joshua", "1926-08-12")] * father
              + [at(source, "joshua", "1948-05-11")] * son)
    pairs = [(base + i, base + j, 0.999999 if people[i].dob == people[j].dob else 0.9992)
             for i in range(len(people)) for j in range(i + 1, len(people))]
    return [*filler, *people], [*edges, *pairs]


def test_a_lone_date_a_generation_off_in_a_file_of_duplicates_links() -> None:
    records, edges = _joshua("febrl", father=3, son=1)
    base = len(records) - 4
    result = cluster(records, edges)
    assert len({int(result.labels[base + n]) for n in range(4)}) == 1


def test_a_father_and_son_each_with_records_of_their_own_stay_apart() -> None:
    # The look-alike: the same file, but the 1948 date is on two records: two people.
    records, edges = _joshua("febrl", father=2, son=2)
    base = len(records) - 4
    result = cluster(records, edges)
    assert result.labels[base] == result.labels[base + 1]
    assert result.labels[base + 2] == result.labels[base + 3]
    assert result.labels[base] != result.labels[base + 2]
    assert "constraint:different-generation" in result.edge_outcomes


def test_a_father_and_son_in_a_register_stay_apart() -> None:
    # A register lists each person once: one record of each is already two people.
    records = [at("gp", "joshua", "1926-08-12"), at("gp", "joshua", "1948-05-11")]
    result = cluster(records, [(0, 1, 0.9992)])
    assert result.labels[0] != result.labels[1]
    assert result.edge_outcomes == ["constraint:different-generation"]


def _dates(others: list[str], extra: list[RecordFacts]) -> tuple[np.ndarray, list[RecordFacts]]:
    """40 pairs of one name at one house agreeing on the date, then one pair per ``others``
    date, then ``extra`` unpaired records; returns which pairs are personal evidence."""
    records: list[RecordFacts] = []
    dobs = [DobLevel.EXACT] * 40 + [DobLevel.DIFFERENT] * len(others)
    for other in ["1926-08-12"] * 40 + others:
        records += [at("cases", "joshua", "1926-08-12"), at("cases", "joshua", other)]
    records += extra
    n = len(dobs)
    left = np.arange(0, 2 * n, 2)
    gammas = np.array([[GivenNameLevel.EXACT, d, FamilyNameLevel.EXACT, AddressLevel.SAME_HOUSE]
                       for d in dobs], dtype=np.int8)
    model = ProfileModel(("given_name", "dob", "family_name", "address"), ({},) * 4, 0.0)
    return evidence_in_duplicated_sources(records, left, left + 1, frozenset(),
                                          (model, gammas)), records


def test_a_lone_date_a_generation_off_is_evidence_where_dates_are_replaced() -> None:
    found, _ = _dates(["1931-02-02", "1933-04-04", "1948-05-11"], [])
    assert found.tolist() == [False] * 40 + [True] * 3


def test_a_generation_off_date_carried_by_another_record_is_no_evidence() -> None:
    # The look-alike: Joshua born 1948 has a record of his own besides: a son, not a typo.
    found, _ = _dates(["1931-02-02", "1933-04-04", "1948-05-11"],
                      [at("cases", "joshua", "1948-05-11")])
    assert found.tolist() == [False] * 40 + [True, True, False]


def test_a_generation_off_date_is_no_evidence_without_the_habit() -> None:
    # One pair a generation apart beside forty agreeing ones is no habit of the file.
    found, _ = _dates(["1948-05-11"], [])
    assert not found.any()
