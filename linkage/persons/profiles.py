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
    find: Callable[[int], int],
    size: Callable[[int], int],
    min_weight: float,
    margin_bits: float,
) -> list[tuple[float, int, int]]:
    """(profile weight, record of one person, record of the other) for pairs of persons whose
    profile reaches ``min_weight`` and is the only one within ``margin_bits`` of it for the
    smaller person. The records named are the best-scoring pair between the two persons."""
    profile: dict[tuple[int, int], np.ndarray] = {}
    best_pair: dict[tuple[int, int], tuple[float, int, int, int]] = {}  # weight, i, j, edge
    for k, (i, j, w) in enumerate(
            zip(left.tolist(), right.tolist(), weight.tolist(), strict=True)):
        a, b = find(i), find(j)
        if a == b:
            continue
        key = (a, b) if a < b else (b, a)
        seen = profile.get(key)
        if seen is None:
            profile[key] = gammas[k].copy()
            best_pair[key] = (w, i, j, k)
        else:
            np.maximum(seen, gammas[k], out=seen)
            if w > best_pair[key][0]:
                best_pair[key] = (w, i, j, k)
    weighed: dict[tuple[int, int], float] = {}
    rivals: dict[int, list[float]] = {}
    for key, gamma in profile.items():
        levels = gamma.tolist()
        if not model.personal(levels):
            continue
        # The best pair's own score (with its term frequencies) plus what the levels other
        # records reached add to it: nothing new, no second chance.
        w_best, _, _, k = best_pair[key]
        gain = model.weight(levels) - model.weight(gammas[k].tolist())
        if gain <= 0:
            continue
        w = w_best + gain
        weighed[key] = w
        for root in key:
            rivals.setdefault(root, []).append(w)
    out: list[tuple[float, int, int]] = []
    for key, w in weighed.items():
        if w < min_weight:
            continue
        small = min(key, key=size)
        if sum(1 for x in rivals[small] if x >= w - margin_bits) > 1:
            continue  # fits another person nearly as well: a reviewer's call
        _, i, j, _ = best_pair[key]
        out.append((w, i, j))
    out.sort(key=lambda t: (-t[0], t[1], t[2]))
    return out
