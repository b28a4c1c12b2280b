"""A person's records are built once per index snapshot and kept with it (issue 19 throughput):
every call still gets its own list, an unknown person none, a new link run's snapshot its own
records, and a full store is emptied rather than grown."""

from __future__ import annotations

import duckdb
import pyarrow as pa
import pytest

from linkage.index import reader
from linkage.index.reader import IdentityIndex, _Snapshot

COLUMNS = ("person_id", "source", "record_id", "agency", "match_grade", "match_probability",
           "nhs_number", "upn", "local_id", "given_name", "middle_names", "family_name", "dob",
           "sex", "postcode", "address", "attributes", "former_upn", "former_family_name",
           "uprn", "expected_dob")


def snapshot(stamp: int, given: str) -> _Snapshot:
    """Two persons: P1 with two records, P2 with one; ``given`` is every record's given name."""
    rows = [("P1", "health", "h1", "health", "A", 0.99, '{"restriction": "adoption"}'),
            ("P1", "police", "p1", "police", "B", 0.9, None),
            ("P2", "health", "h2", "health", "A", 1.0, "{}")]
    data: dict[str, list[object]] = {c: [None] * len(rows) for c in COLUMNS}
    for i, (person, source, record, agency, grade, probability, attributes) in enumerate(rows):
        data["person_id"][i], data["source"][i], data["record_id"][i] = person, source, record
        data["agency"][i], data["match_grade"][i] = agency, grade
        data["match_probability"][i], data["attributes"][i] = probability, attributes
        data["given_name"][i] = given
    table = pa.table({c: pa.array(v, type=pa.float64() if c == "match_probability"
                                  else pa.string()) for c, v in data.items()})
    return _Snapshot(stamp, {"P1": ("active", None), "P2": ("active", None)}, table,
                     {"P1": (0, 2), "P2": (2, 1)}, {"health": {"restriction": "restricted"}},
                     duckdb.connect())


def index_on(first: _Snapshot) -> IdentityIndex:
    # Never re-checked against a file: the snapshot is the index (no clock decides that).
    index = IdentityIndex("/nonexistent/kinlink.duckdb", recheck_seconds=float("inf"))
    index._replace(first)
    return index


def test_records_built_once_each_call_its_own_list() -> None:
    index = index_on(snapshot(1, "Ada"))
    first = index.records("P1")
    assert [(r.source, r.record_id, r.restriction) for r in first] == [
        ("health", "h1", "adoption"), ("police", "p1", None)]
    first.clear()  # a caller's list is its own
    again = index.records("P1")
    assert [r.record_id for r in again] == ["h1", "p1"]
    assert again[0] is index.records("P1")[0]  # built once, not per call
    assert index.records("P404") == []


def test_new_snapshot_has_its_own_records() -> None:
    index = index_on(snapshot(1, "Ada"))
    assert {r.identity["given_name"] for r in index.records("P1")} == {"Ada"}
    index._replace(snapshot(2, "Grace"))  # a link run replaced the index
    assert {r.identity["given_name"] for r in index.records("P1")} == {"Grace"}


def test_full_store_is_emptied_not_grown(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reader, "BUILT_PERSONS", 1)
    index = index_on(snapshot(1, "Ada"))
    assert [r.record_id for r in index.records("P1")] == ["h1", "p1"]
    assert [r.record_id for r in index.records("P2")] == ["h2"]
    assert [r.record_id for r in index.records("P1")] == ["h1", "p1"]
    assert len(index._current().built) == 1


def test_unknown_person_is_not_remembered() -> None:
    index = index_on(snapshot(1, "Ada"))
    assert index.records("nobody") == []
    assert len(index._current().built) == 0
