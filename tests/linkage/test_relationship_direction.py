"""A relationships file is read the way its dates of birth say, whichever way round it is written."""

import pandas as pd

from linkage.ingest.relationship_direction import orient_relationships

DOB = {
    "health:M1": "1985-02-03", "health:C1": "2015-06-07",
    "health:M2": "1990-01-20", "health:C2": "2018-03-04",
    "health:M3": "1979-05-06", "health:C3": "2009-08-09",
    "health:M4": "1992-11-12", "health:C4": "2020-12-13",
    "health:M5": "1988-07-08", "health:C5": "2016-09-10",
}


def frame(rows: list[tuple[str, str, str]]) -> pd.DataFrame:
    return pd.DataFrame([("health", *r) for r in rows],
                        columns=["source", "record_id", "related_record_id", "relationship"])


def test_a_file_listing_the_mother_second_is_turned_round() -> None:
    rows = [(f"C{i}", f"M{i}", "mother") for i in range(1, 6)] + [("C1", "C2", "sibling")]
    oriented, [how] = orient_relationships(frame(rows), DOB)
    assert how.relative_second and how.parent_rows_dated == 5
    mothers = oriented[oriented["relationship"] == "mother"]
    assert list(mothers["record_id"]) == [f"M{i}" for i in range(1, 6)]
    assert list(mothers["related_record_id"]) == [f"C{i}" for i in range(1, 6)]


def test_a_file_written_the_contracts_way_is_left_as_it_is() -> None:
    rows = [(f"M{i}", f"C{i}", "Mother") for i in range(1, 6)]
    oriented, [how] = orient_relationships(frame(rows), DOB)
    assert not how.relative_second
    assert list(oriented["record_id"]) == [f"M{i}" for i in range(1, 6)]
    assert set(oriented["relationship"]) == {"mother"}


def test_too_few_dated_rows_keep_the_contracts_reading() -> None:
    rows = [("C1", "M1", "mother"), ("C2", "M2", "mother"), ("C3", "X9", "mother")]
    oriented, [how] = orient_relationships(frame(rows), DOB)
    assert not how.relative_second and how.parent_rows_dated == 2
    assert list(oriented["record_id"]) == ["C1", "C2", "C3"]


def test_child_rows_and_synonyms_become_the_roles_the_rules_know() -> None:
    rows = [(f"M{i}", f"C{i}", "mum") for i in range(1, 5)] + [("C5", "M5", "son"),
                                                                ("C1", "C2", "brother")]
    oriented, [how] = orient_relationships(frame(rows), DOB)
    assert not how.relative_second
    son = oriented.iloc[4]
    assert (son["record_id"], son["related_record_id"], son["relationship"]) == ("M5", "C5", "parent")
    assert list(oriented["relationship"]) == ["mother"] * 4 + ["parent", "sibling"]
