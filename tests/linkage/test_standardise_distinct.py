"""The per-distinct fast paths give what the row-by-row (or ``Series.map(dict)``) ways gave:
the same values, the same missing markers (None or NaN) and the same dtypes, on awkward input."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest

from linkage.ingest.reader import _attributes_json, _attributes_json_by_row, _stripped
from linkage.standardise.distinct import Distinct, map_distinct
from linkage.standardise.nhs_number import clean_nhs_number, clean_nhs_numbers
from linkage.standardise.records import _per_distinct_pair
from linkage.standardise.upn import CHECK_ALPHABET, clean_upn, clean_upns, upn_check_letter

_COLUMNS = [
    pd.Series(["a", None, "b", "a"], dtype=object),
    pd.Series(["a", None, "b"], dtype="str"),
    pd.Series([None, None], dtype=object),
    pd.Series([None, None], dtype="str"),
    pd.Series([], dtype=object),
    pd.Series([], dtype="str"),
    pd.Series([np.nan, "x", None, "x"], dtype=object),
    pd.Series([1.0, np.nan]),
    pd.Series(["Zoë", "zoe", "ZOË", ""], dtype=object, index=[7, 3, 5, 1]),
]
_RULES: list[Callable[[Any], Any]] = [
    lambda v: 1, lambda v: True, lambda v: None, str, lambda v: (v, 1), lambda v: [v],
    lambda v: None if v == "a" else "z", lambda v: 1.5, lambda v: np.nan,
]


def _cells(series: pd.Series) -> list[str]:
    return [repr(v) for v in series.tolist()]


@pytest.mark.parametrize("column", _COLUMNS)
@pytest.mark.parametrize("rule", _RULES)
def test_map_distinct_is_a_dictionary_map(column: pd.Series, rule: Callable[[Any], Any]) -> None:
    expected = column.map({v: rule(v) for v in column.dropna().unique()})
    got = map_distinct(column, rule)
    assert got.dtype == expected.dtype
    assert _cells(got) == _cells(expected)
    assert got.index.equals(expected.index)


def test_pairs_are_computed_once_each_and_spread_to_every_row() -> None:
    first = pd.Series(["ann", None, "ann", "bob", None, "bob"], dtype=object)
    second = pd.Series(["x", "x", "x", None, None, "y"], dtype="str")
    calls: list[tuple[Any, Any]] = []

    def rule(a: Any, b: Any) -> str:
        calls.append((a, b))
        return f"{a}|{b}"

    a, b = Distinct(first), Distinct(second)
    got = _per_distinct_pair(a, a.values, b, b.values, rule)
    assert got == ["ann|x", "None|x", "ann|x", "bob|None", "None|None", "bob|y"]
    assert len(calls) == 5


_AWKWARD = ["plain", 'quote " and \\ backslash', "tab\tnew\nline", "\x00\x1f control",
            "Zoë ☃ 𝄞", "</script>", "\u2028", "{}", "[1]", "1", "null"]


def _frame(columns: dict[str, list[Any]]) -> pd.DataFrame:
    return pd.DataFrame(columns, dtype=object)


def test_attributes_json_is_what_json_dumps_of_each_row_gives() -> None:
    values = [*_AWKWARD, None, np.nan, ""]
    n = len(values)
    frame = _frame({"b_col": values, "a col ☃": values[::-1],
                    'k"ey': [values[(i * 5) % n] for i in range(n)],
                    "empty": [None] * n})
    names = sorted(frame.columns)
    got = _attributes_json(frame, names)
    assert got == _attributes_json_by_row(frame, names)
    assert got[0] == json.dumps({"b_col": "plain", 'k"ey': "plain"})
    assert all(isinstance(json.loads(row), dict) for row in got)
    assert json.loads(_attributes_json(_frame({"x": [None]}), ["x"])[0]) == {}


def test_attributes_of_anything_but_text_take_the_row_by_row_way() -> None:
    frame = pd.DataFrame({"n": [1, 1.0, True, None], "s": ["a", "b", None, "d"]}, dtype=object)
    assert _attributes_json(frame, ["n", "s"]) == _attributes_json_by_row(frame, ["n", "s"])
    assert _attributes_json(frame, ["n", "s"])[1] == '{"n": 1.0, "s": "b"}'
    assert _attributes_json(frame, []) == ["{}"] * 4


def test_stripping_is_pythons_strip_with_empty_as_none() -> None:
    cells = [" a ", "\u00a0b\u3000", "\x1cc\x1f", "", "   ", None, "\u200bd", "e\u2028"]
    assert _stripped(pd.Series(cells, dtype=object)) == [
        (v.strip() or None) if isinstance(v, str) else v for v in cells]


def _nhs_cases() -> list[object]:
    rng = np.random.default_rng(3)
    random_tens = ["".join(map(str, row)) for row in rng.integers(0, 10, size=(20000, 10))]
    return ["9434765919", "9434765918", "0000000000", "9999999999", "6666666666", "1234567890",
            "0123456789", "9876543210", "0987654321", "1234567891", "943 476 5919",
            "943-476-5919", "", " ", None, np.nan, 9434765919, 9434765919.0, "943476591",
            "94347659190", "\u0669434765919", "０１２３４５６７８９", "9434765919\n",
            "abcdefghij", *random_tens]


def test_nhs_numbers_in_bulk_are_the_one_by_one_rule() -> None:
    cases = _nhs_cases()
    expected = [(r.value, r.status) for r in map(clean_nhs_number, cases)]
    assert clean_nhs_numbers(cases) == expected
    assert {s for _, s in expected} >= {"valid", "invalid_check", "placeholder", "wrong_length",
                                        "missing"}
    assert clean_nhs_numbers([]) == []


def test_upns_in_bulk_are_the_one_by_one_rule() -> None:
    rng = np.random.default_rng(4)
    cases: list[object] = ["A123456789012", "a123456789012", " A123456789012", "A12345678901I",
                           "A12345678901S", "A12345678901O", "A12345678901Z", "", None, 5,
                           "ÄA12345678901", "A1234567890１2", "A12345678901"]
    for row in rng.integers(0, 10, size=(20000, 11)):
        body = "".join(map(str, row)) + str(rng.choice(list("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ")))
        first = (upn_check_letter(body) if body[-1] in "0123456789" + CHECK_ALPHABET
                 and rng.random() < 0.5 else str(rng.choice(list(CHECK_ALPHABET + "IOS"))))
        cases.append(first + body)
    expected = [clean_upn(c) for c in cases]
    assert clean_upns(cases) == expected
    assert {r.status for r in expected} == {"valid", "temporary", "bad_check", "malformed",
                                             "missing"}
    assert clean_upns([]) == []
