from itertools import count

from linkage.identity.carry_over import carry_over


def _minter():
    c = count(1)
    return lambda: f"NEW{next(c)}"


def test_unchanged_clusters_keep_their_ids() -> None:
    previous = {"a": "P1", "b": "P1", "c": "P2"}
    result = carry_over({0: ["a", "b"], 1: ["c"], 2: ["d"]}, previous, {}, _minter())
    assert result.ids[0] == "P1" and result.ids[1] == "P2"
    assert result.ids[2] == "NEW1"
    assert result.retired == {}
    assert [(e.entity_id, e.event) for e in result.events] == [("NEW1", "created")]


def test_merge_keeps_the_larger_and_retires_the_other_to_the_survivor() -> None:
    previous = {"a": "P1", "b": "P1", "c": "P2"}
    result = carry_over({0: ["a", "b", "c"]}, previous, {}, _minter())
    assert result.ids[0] == "P1"
    assert result.retired == {"P2": "P1"}
    merged = [e for e in result.events if e.event == "merged"]
    assert [(e.entity_id, e.other_id) for e in merged] == [("P2", "P1")]


def test_split_keeps_the_id_on_the_larger_part_and_mints_one_for_the_rest() -> None:
    previous = {"a": "P1", "b": "P1", "c": "P1"}
    result = carry_over({0: ["a"], 1: ["b", "c"]}, previous, {}, _minter())
    assert result.ids[1] == "P1"
    assert result.ids[0] == "NEW1"
    assert any(e.event == "split" and e.other_id == "P1" for e in result.events)


def test_withdrawn_records_retire_an_id_with_no_survivor() -> None:
    previous = {"a": "P1", "z": "P9"}
    result = carry_over({0: ["a"]}, previous, {}, _minter())
    assert result.retired == {"P9": None}


def test_ties_go_to_the_older_id() -> None:
    previous = {"a": "P_NEW", "b": "P_OLD"}
    created = {"P_NEW": "2026-02-01", "P_OLD": "2025-01-01"}
    result = carry_over({0: ["a", "b"]}, previous, created, _minter())
    assert result.ids[0] == "P_OLD"
    assert result.retired == {"P_NEW": "P_OLD"}
