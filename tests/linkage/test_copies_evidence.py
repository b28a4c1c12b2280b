"""A register that writes each adult many times over, fields missing (the shape of the public
adult sets; ``bench/adult_copies.py``): one copy's year mistyped a generation off must not hold
every other copy of the person apart, and a name with nothing beside it to compare is no
evidence that two records are one person. Each rule beside the case it must not merge."""

from __future__ import annotations

from dataclasses import replace

from linkage.model.comparisons import AddressLevel, DobLevel, FamilyNameLevel, GivenNameLevel
from linkage.persons.clustering import fits_two_people
from linkage.persons.constraints import RecordFacts
from linkage.realtime.levels import personal_evidence
from tests.linkage.scored_pairs import child, cluster


def adult(dob: str | None, source: str = "register", given: str = "amy") -> RecordFacts:
    return replace(child(given, dob), source=source, family_name="ashworth")


def test_a_copy_with_its_year_mistyped_makes_no_copy_ambiguous_in_a_file_of_copies() -> None:
    record, best, typo = adult("1970-06-02"), adult("1970-06-02"), adult("1990-06-02")
    ranked = [(30.0, best), (28.0, typo)]
    assert fits_two_people(record, ranked, 6.0, frozenset(), frozenset({"register"})) is None
    # The same two neighbours in a register (each person once): a parent and a child of one
    # name, about equally likely, so the record is held as before.
    assert fits_two_people(record, ranked, 6.0, frozenset({"register"}), frozenset()) == 1
    # And across a file of copies and a register, the register's date is its own person's.
    other = adult("1990-06-02", source="health")
    assert fits_two_people(record, [(30.0, best), (28.0, other)], 6.0, frozenset({"health"}),
                           frozenset({"register"})) == 1


def _in_a_file_of_copies(copies: list[RecordFacts]) -> list[int]:
    """Labels of ``copies`` in a register where ten other people have three copies each (enough
    duplicated records for the file to count as one of copies). Pairs of one date score 0.999,
    pairs of two dates 0.97: above the threshold, but weaker, as the model scores them."""
    others = [replace(adult(f"19{40 + n}-01-1{n % 9}", given=f"other{n}"), family_name=f"f{n}")
              for n in range(10) for _ in range(3)]
    records = copies + others
    edges = [(i, j, 0.999 if copies[i].dob == copies[j].dob else 0.97)
             for i in range(len(copies)) for j in range(i + 1, len(copies))]
    start = len(copies)
    edges += [(start + 3 * n + a, start + 3 * n + b, 0.999)
              for n in range(10) for a, b in ((0, 1), (0, 2), (1, 2))]
    return cluster(records, edges).labels.tolist()[:len(copies)]


def test_ten_copies_with_one_year_mistyped_are_one_person() -> None:
    labels = _in_a_file_of_copies([adult("1970-06-02") for _ in range(9)] + [adult("1990-06-02")])
    assert len(set(labels)) == 1


def test_a_father_and_son_of_one_name_each_with_copies_stay_two() -> None:
    # Each date carried by copies of its own: two people, whatever the file (the merge's rule).
    labels = _in_a_file_of_copies([adult("1970-06-02") for _ in range(5)]
                                  + [adult("1995-06-02") for _ in range(5)])
    assert len(set(labels[:5])) == 1 and len(set(labels[5:])) == 1 and labels[0] != labels[5]


def _gammas(dob: DobLevel, address: AddressLevel) -> dict[str, int]:
    return {"nhs_number": -1, "upn": -1, "local_id_key": -1, "given_name": GivenNameLevel.EXACT,
            "family_name": FamilyNameLevel.EXACT, "dob": dob, "address": address, "sex": -1}


def test_a_name_with_nothing_beside_it_is_no_personal_evidence() -> None:
    left = right = {"given_name": "comfort", "family_name": "adeyemi"}
    assert not personal_evidence(_gammas(DobLevel.NULL, AddressLevel.NULL), left, right)
    # A date or an address to compare (and not contradicting it) makes the name count again.
    assert personal_evidence(_gammas(DobLevel.NULL, AddressLevel.SAME_HOUSE), left, right)
    assert personal_evidence(_gammas(DobLevel.NULL, AddressLevel.DIFFERENT_AREA), left, right)
    assert personal_evidence(_gammas(DobLevel.EXACT, AddressLevel.NULL), left, right)
    # A shared identifier needs nothing else.
    assert personal_evidence(_gammas(DobLevel.NULL, AddressLevel.NULL) | {"nhs_number": 1},
                             left, right)
