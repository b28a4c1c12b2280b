"""Opaque, unique identifiers that do not reveal the order in which records were made.

A sequential record ID would leak the generator's structure (a family's records side by side), and a
linkage model could learn that instead of the evidence. Each sequence walks an affine permutation of
its number space, which is unique by construction and cheap.
"""

from __future__ import annotations

import random
from math import gcd

__all__ = ["IdSequence"]


class IdSequence:
    """``prefix`` plus ``width`` digits, each value used once, in a scrambled order."""

    def __init__(self, prefix: str, width: int, salt: str) -> None:
        self._prefix = prefix
        self._width = width
        self._space = 10**width
        rng = random.Random(salt)
        while True:
            a = rng.randrange(self._space // 3, self._space)
            if gcd(a, self._space) == 1:
                break
        self._a = a
        self._b = rng.randrange(self._space)
        self._k = 0

    def next(self) -> str:
        if self._k >= self._space:
            raise ValueError(f"identifier space {self._prefix}{'9' * self._width} exhausted")
        value = (self._a * self._k + self._b) % self._space
        self._k += 1
        return f"{self._prefix}{value:0{self._width}d}"
