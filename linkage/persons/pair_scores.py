"""The probability of each scored pair, looked up by its two records, held in two arrays.

Clustering asks for the probabilities between every record of two persons when two groups meet
(``group_agreement``). A dict keyed by each pair held a tuple, two ints and a float per scored
pair, some 200 bytes each: at 1M records millions of pairs, hundreds of MB and seconds to build,
for lookups that touch a few per cent of them. Two sorted arrays hold the same 16 bytes a pair.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["PairScores"]


class PairScores:
    """``probability[k]`` of pair ``left[k]``–``right[k]`` (either order), 0 for a pair not
    scored. A pair listed twice has its last listing's figure, as a dict filled in order would."""

    def __init__(self, left: np.ndarray, right: np.ndarray, probability: np.ndarray,
                 records: int) -> None:
        self._span = max(int(records), 1)
        keys = self._keys(np.asarray(left, dtype=np.int64), np.asarray(right, dtype=np.int64))
        order = np.argsort(keys, kind="stable")
        self._keys_sorted = keys[order]
        self._values = np.asarray(probability, dtype=np.float64)[order]

    def _keys(self, i: np.ndarray, j: np.ndarray) -> np.ndarray:
        return np.minimum(i, j) * self._span + np.maximum(i, j)

    def mean_between(self, members_a: Sequence[int], members_b: Sequence[int]) -> float:
        """The mean probability over every pair of a record of ``members_a`` and one of
        ``members_b``, summed one by one in that order (each of a's against each of b's), so the
        figure is the float a running total over the pairs gives, to the last bit."""
        a = np.asarray(members_a, dtype=np.int64)
        b = np.asarray(members_b, dtype=np.int64)
        keys = self._keys(a[:, None], b[None, :]).ravel()
        # The last listing of each key: the rightmost equal key.
        at = np.searchsorted(self._keys_sorted, keys, side="right") - 1
        found = at >= 0
        at = np.where(found, at, 0)
        if len(self._keys_sorted):
            found &= self._keys_sorted[at] == keys
            values = np.where(found, self._values[at], 0.0)
        else:
            values = np.zeros(len(keys))
        # ``cumsum`` adds in order (``sum`` would add pairwise, to a different last bit).
        total = float(np.cumsum(values)[-1]) if len(values) else 0.0
        return total / (len(a) * len(b))
