"""A bounded memory of values that are dear to build and never change once built.

Three places keep such values between requests: the gateway remembers tokens that passed the full
signature check, the identity index the records it built for a person of one snapshot, and the
real-time matcher the constraint facts of an index record. Each needs the same thing: a lookup
by key and a bound, so that a long-running server's memory does not grow with every key ever
asked about. When full it is emptied, not trimmed: the values are cheap to build again, and an
LRU's bookkeeping on every hit would cost more than the rebuilding saves on these paths (each hit
is a few microseconds of a request). Reads and writes are single dict operations, safe under the
GIL for the threads of one server; two threads building one value both build it, which is only
wasted work.
"""

from __future__ import annotations

from typing import Generic, TypeVar

__all__ = ["BoundedMemo"]

K = TypeVar("K")
V = TypeVar("V")


class BoundedMemo(Generic[K, V]):
    """Values by key, at most ``limit`` of them: a new one past that empties the memory first."""

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError(f"a memo must hold at least one value, not {limit}")
        self.limit = limit
        self._values: dict[K, V] = {}

    def get(self, key: K) -> V | None:
        return self._values.get(key)

    def keep(self, key: K, value: V) -> V:
        """Remember ``value`` under ``key`` and give it back."""
        if key not in self._values and len(self._values) >= self.limit:
            self._values.clear()
        self._values[key] = value
        return value

    def forget(self, key: K) -> None:
        self._values.pop(key, None)

    def __len__(self) -> int:
        return len(self._values)
