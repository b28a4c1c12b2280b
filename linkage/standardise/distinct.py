"""A rule run once per distinct value of a column, its result spread back to every row by code.

Why: ``Series.map(dict)`` hashes every row twice (once building the dictionary's index, once
looking each row up in it) and a per-row ``map(lambda)`` calls Python a million times at 1M
records. ``pd.factorize`` hashes each row once and gives every row the code of its distinct value;
the rule runs per distinct value and a ``take`` on the codes spreads the results. The output is
built the way ``Series.map(dict)`` builds it (the results inferred as one Series, missing rows
filled with that dtype's NA), so the column's values *and dtype* are what they were; the tests in
``tests/linkage/test_standardise_distinct.py`` hold the two together.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from pandas.api.extensions import ExtensionArray
from pandas.core.array_algos.take import take_nd

__all__ = ["Distinct", "map_distinct"]


class Distinct:
    """The distinct values of one column (missing values left out, first appearance first) and
    each row's code among them (-1 for a missing value)."""

    def __init__(self, series: pd.Series) -> None:
        codes, uniques = pd.factorize(series)
        self.codes: np.ndarray = codes
        self.values: list[Any] = list(uniques._values)  # as ``Series.unique`` gives them
        self.index = series.index
        #: The column's own array: an extension array (pandas' text dtype) recasts what a map
        #: gives, and so must this.
        self._array = series._values

    def __len__(self) -> int:
        return len(self.values)

    def apply(self, fn: Callable[[Any], Any]) -> list[Any]:
        """``fn`` of each distinct value, in their order."""
        return [fn(v) for v in self.values]

    def spread(self, results: Sequence[Any]) -> pd.Series:
        """One result per distinct value to one per row, exactly as ``Series.map`` with the
        dictionary {value: result} gives it: the dtype inferred from the results (float64 when
        there are none), a missing row NA of that dtype."""
        if not len(results):
            mapper = np.empty(0, dtype=np.float64)
        else:
            mapper = pd.Series(list(results))._values
        spread = take_nd(mapper, self.codes)
        if isinstance(spread, np.ndarray) and isinstance(self._array, ExtensionArray):
            spread = self._array._cast_pointwise_result(spread)
        return pd.Series(spread, index=self.index, copy=False)

    def map(self, fn: Callable[[Any], Any]) -> pd.Series:
        return self.spread(self.apply(fn))


def map_distinct(series: pd.Series, fn: Callable[[Any], Any]) -> pd.Series:
    """``series.map({v: fn(v) for v in series.dropna().unique()})``, hashing each row once."""
    return Distinct(series).map(fn)
