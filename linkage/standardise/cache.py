"""A per-value cache for the cleaning functions the reader and the standardiser both call.

One run cleans each distinct NHS number, UPN and postcode twice (the reader checks it, the
standardiser keys on it) and the realtime matcher cleans the same values again; the functions are
pure and their results frozen, so the second call can be a dictionary lookup.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache, wraps
from typing import TypeVar

__all__ = ["cached_per_value"]

R = TypeVar("R")

#: Distinct values kept per function (least recently used beyond): enough for a 65k-record run
#: (about 60k NHS numbers), a bounded few tens of MB on a million-record one.
_MAX_VALUES = 2**17


def cached_per_value(fn: Callable[[object], R]) -> Callable[[object], R]:
    """``fn`` with its results kept per value and type (``typed``: 1, 1.0 and "1" clean
    differently); an unhashable value is cleaned without the cache."""
    cached = lru_cache(maxsize=_MAX_VALUES, typed=True)(fn)

    @wraps(fn)
    def clean(raw: object) -> R:
        try:
            hash(raw)
        except TypeError:
            return fn(raw)
        return cached(raw)

    return clean
