"""A second chance for records that fall just short against each record of a person, but not
against the person.

A child who moved and changed surname has records that agree with the old records on the given
name and date of birth, and with the new records on the surname and the address. Each pair of
records scores below the threshold, yet what the child's person knows (every name, date and
address of all its records) fits. The *profile* of two persons is, for each comparison, the
best level any pair of their records reached; weighed with the model's own m/u figures it is the
score the two records would have had if one record had held everything the person holds. It
never uses a level no pair of records reached, so every part of it can be read off a pair.

A profile link needs what any link needs — something personal (an identifier, or a given name
matching exactly, by nickname or by typo, with dates of birth not flatly different) — and it
must be the only person the smaller side fits: a record that fits a father and his Junior, or
two twins, joins neither.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["ProfileModel", "profile_candidates"]

#: Level numbers, as Splink numbers them (top level first; 0 = different, -1 = missing).
_GIVEN_NAME_PERSONAL = 3  # exact, diminutive or typo
_DOB_DIFFERENT = 0


@dataclass(frozen=True)
class ProfileModel:
    """The model's weights per comparison level, read from the fitted model."""

    names: tuple[str, ...]
    #: Per comparison, the Bayes factor in bits of each level number (-1 = missing = 0 bits).
    level_bits: tuple[dict[int, float], ...]
    prior_bits: float

    @classmethod
    def from_splink_json(cls, model: dict[str, Any]) -> ProfileModel:
        """Each level's log2(m/u); a level without both figures (a fixed-weight level) adds
        nothing, so a profile never claims more than the model can say."""
        import math

        names: list[str] = []
        tables: list[dict[int, float]] = []
        for comparison in model["comparisons"]:
            levels = [lv for lv in comparison["comparison_levels"]
                      if not lv.get("is_null_level")]
            table = {-1: 0.0}
            for k, level in enumerate(levels):
                m, u = level.get("m_probability"), level.get("u_probability")
                table[len(levels) - 1 - k] = math.log2(m / u) if m and u else 0.0
            names.append(str(comparison["output_column_name"]))
            tables.append(table)
        p = float(model["probability_two_random_records_match"])
        return cls(tuple(names), tuple(tables), math.log2(p / (1 - p)))

    def weight(self, gamma: Sequence[int]) -> float:
        return self.prior_bits + sum(
            table.get(int(g), 0.0) for table, g in zip(self.level_bits, gamma, strict=True))

    def personal(self, gamma: Sequence[int]) -> bool:
        level = dict(zip(self.names, (int(g) for g in gamma), strict=True))
        if any(level.get(n) == 1 for n in ("nhs_number", "upn", "local_id_key")):
            return True
        return (level.get("given_name", -1) >= _GIVEN_NAME_PERSONAL
                and level.get("dob", -1) != _DOB_DIFFERENT)


def profile_candidates(
    model: ProfileModel,
    left: np.ndarray,
    right: np.ndarray,
    weight: np.ndarray,
    gammas: np.ndarray,
    roots: np.ndarray,
    size: Callable[[int], int],
    min_weight: float,
    margin_bits: float,
) -> list[tuple[float, int, int]]:
    """(profile weight, record of one person, record of the other) for pairs of persons whose
    profile reaches ``min_weight`` and is the only one within ``margin_bits`` of it for the
    smaller person. The records named are the best-scoring pair between the two persons."""
    # The same reading as pair by pair, a whole array at a time: each pair's persons, the pairs
    # of each two persons, their best level per comparison and their best-scoring pair (the
    # first of the highest weight, in the pairs' order).
    if len(left) == 0:
        return []
    a, b = roots[left], roots[right]
    across = np.flatnonzero(a != b)
    if len(across) == 0:
        return []
    low, high = np.minimum(a, b)[across], np.maximum(a, b)[across]
    order = across[np.argsort(low * (int(high.max()) + 1) + high, kind="stable")]
    low, high = np.minimum(a, b)[order], np.maximum(a, b)[order]
    starts = np.flatnonzero(np.r_[True, (low[1:] != low[:-1]) | (high[1:] != high[:-1])])
    sizes = np.diff(np.r_[starts, len(order)])
    levels = np.maximum.reduceat(gammas[order], starts, axis=0)
    w_sorted = weight[order]
    top = np.maximum.reduceat(w_sorted, starts)
    position = np.where(w_sorted == np.repeat(top, sizes), np.arange(len(order)), len(order))
    best = order[np.minimum.reduceat(position, starts)]
    # The best pair's own score (with its term frequencies) plus what the levels other
    # records reached add to it: nothing new, no second chance.
    gain = _weights(model, levels) - _weights(model, gammas[best])
    keep = np.flatnonzero(_personal(model, levels) & (gain > 0))
    weighed: dict[tuple[int, int], float] = {}
    best_pair: dict[tuple[int, int], tuple[int, int]] = {}
    rivals: dict[int, list[float]] = {}
    for g, w, k in zip(keep.tolist(), (weight[best[keep]] + gain[keep]).tolist(),
                       best[keep].tolist(), strict=True):
        key = (int(low[starts[g]]), int(high[starts[g]]))
        weighed[key] = w
        best_pair[key] = (int(left[k]), int(right[k]))
        for root in key:
            rivals.setdefault(root, []).append(w)
    out: list[tuple[float, int, int]] = []
    for key, w in weighed.items():
        if w < min_weight:
            continue
        small = min(key, key=size)
        if sum(1 for x in rivals[small] if x >= w - margin_bits) > 1:
            continue  # fits another person nearly as well: a reviewer's call
        i, j = best_pair[key]
        out.append((w, i, j))
    out.sort(key=lambda t: (-t[0], t[1], t[2]))
    return out


def _weights(model: ProfileModel, gammas: np.ndarray) -> np.ndarray:
    """``model.weight`` of each row of ``gammas``, summed in the same order, so every figure is
    the same float to the last bit."""
    total = np.zeros(len(gammas))
    for column, table in enumerate(model.level_bits):
        bits = np.zeros(256)  # every int8 level; one the model does not name adds nothing
        for level, value in table.items():
            if -128 <= level < 128:
                bits[level + 128] = value
        total = total + bits[gammas[:, column].astype(np.int64) + 128]
    return model.prior_bits + total


def _personal(model: ProfileModel, gammas: np.ndarray) -> np.ndarray:
    """``model.personal`` of each row of ``gammas``."""
    def level(name: str, missing: int) -> np.ndarray:
        if name not in model.names:
            return np.full(len(gammas), missing, dtype=np.int64)
        return gammas[:, model.names.index(name)].astype(np.int64)

    identified = np.zeros(len(gammas), dtype=bool)
    for name in ("nhs_number", "upn", "local_id_key"):
        identified |= level(name, 0) == 1
    return identified | ((level("given_name", -1) >= _GIVEN_NAME_PERSONAL)
                         & (level("dob", -1) != _DOB_DIFFERENT))
