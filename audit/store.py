"""The one interface the trail writes and reads through, whichever engine holds it.

``AuditTrail`` keeps what is the same on every engine — group commit, the Merkle tree, signing
checkpoints — and talks to a store only through :class:`AuditStore`. The engine is chosen once,
in :func:`open_store`; nothing above it asks which one it has.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import duckdb

from stores.database import PostgresLocation, Session, StoreLocation, parse_location

__all__ = ["DEFAULT_ORIGIN", "AuditStore", "Batch", "BuildRows", "DeriveRows", "OriginLocked",
           "StoredTrail", "open_store"]

#: The origin of an install that names none (kept for trails written before origins were set).
DEFAULT_ORIGIN = "kinlink.local/audit"

#: A group commit's rows by table (``audit_events`` first), inserted in one transaction.
Batch = dict[str, list[tuple[Any, ...]]]
#: Given the head ``(next seq, chain hash)`` read under the store's write lock, the rows to add.
BuildRows = Callable[[tuple[int, str]], Batch]
#: Given committed events as ``(seq, event_json)`` in seq order, their ``notifications`` rows.
DeriveRows = Callable[[Sequence[tuple[int, str]]], list[tuple[Any, ...]]]


@dataclass(frozen=True)
class StoredTrail:
    """Everything verify reads, from one snapshot of the store.

    ``events`` rows hold every column of ``audit_events`` in ``audit.hashing.EVENT_COLUMNS``
    order; ``checkpoints`` are the signed notes in size order; ``cosigned`` the witnesses'
    countersigned notes the store holds; ``origin`` the install's origin, if recorded."""

    events: Sequence[tuple[Any, ...]]
    checkpoints: Sequence[str]
    cosigned: Sequence[str] = field(default_factory=list)
    origin: str | None = None


class AuditStore(Protocol):
    #: Where the published checkpoint note goes by default (None: the store has no "beside").
    published: Path | None

    @property
    def label(self) -> str:
        """The store's place, fit for a message (no password)."""
        ...

    def commit(self, build: BuildRows) -> None:
        """Insert what ``build`` returns after the current head, all in one transaction."""
        ...

    def derive_notifications(self, derive: DeriveRows, limit: int) -> int:
        """One notifier round, in one transaction: the committed events after the stored
        position (at most ``limit``), their notifications by ``derive`` inserted (any already
        there kept as it is) and the position moved to the last of them. One round at a time
        across every writer of the store. Returns how many events it covered (0: none new)."""
        ...

    def leaf_hashes_from(self, first: int) -> list[bytes]: ...

    def head_size(self) -> int: ...

    def add_checkpoint(self, tree_size: int, note: str) -> None:
        """Store a signed note, unless one for this size is there (another writer signed it)."""
        ...

    def checkpoint_count(self) -> int: ...

    def origin(self) -> str | None: ...

    def set_origin(self, origin: str) -> None:
        """Record the install's origin; refused once a checkpoint exists under another."""
        ...

    def stored_trail(self) -> StoredTrail: ...

    def reader(self) -> duckdb.DuckDBPyConnection:
        """A DuckDB cursor for reports (the same SQL on every engine)."""
        ...

    def session(self) -> AbstractContextManager[Session]:
        """A read-write session on the store itself (``?`` placeholders, either engine)."""
        ...

    def ping(self) -> None: ...

    def close(self) -> None: ...


class OriginLocked(ValueError):
    """The origin cannot change: checkpoints are signed under the one recorded."""


def open_store(where: Path | str | StoreLocation, *, read_only: bool = False) -> AuditStore:
    """The store at ``where``: a DuckDB file or a PostgreSQL database. ``read_only`` opens it
    without migrating or writing anything, as a verifier or an auditor's role would."""
    from audit.duckdb_store import DuckDBAuditStore
    from audit.postgres import PostgresAuditStore

    location = parse_location(where)
    if isinstance(location, PostgresLocation):
        return (PostgresAuditStore(location) if read_only
                else PostgresAuditStore.open(location))
    return DuckDBAuditStore.open(location.path, read_only=read_only)
