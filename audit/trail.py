"""The append-only audit trail: events in sequence, leaf hashes, a hash chain, signed checkpoints.

The trail is its own DuckDB file (``<index stem>.audit.duckdb``), never the identity index, which
each link run replaces whole. ``append`` commits before it returns; any failure raises
``AuditUnavailable`` and rolls back, so the caller can refuse to disclose.

DuckDB lets one process hold a file for writing, and while it does no other process can open it,
not even read-only. The gateway is that process, so whatever must happen while it runs happens
through it: searches and reports through ``cursor()``, and signed checkpoints from
``start_checkpointing``, each also written to ``<trail stem>.checkpoint`` beside the trail, a file
witnesses and monitors can read without touching the database.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from audit.checkpoint import Checkpoint, SigningKey
from audit.events import AuditEvent, canonical_json
from audit.merkle import CompactRange, leaf_hash
from audit.postgres import PostgresAuditStore
from kinlink.database import PostgresLocation, StoreLocation, parse_location
from kinlink.migrations import migrate

if TYPE_CHECKING:
    from audit.verify import VerifyResult

__all__ = [
    "AppendReceipt",
    "AuditTrail",
    "AuditUnavailable",
    "audit_path_for",
    "checkpoint_path_for",
    "key_path_for",
]

GENESIS = "0" * 64


class AuditUnavailable(RuntimeError):
    """The audit event could not be made durable: nothing may be disclosed."""


@dataclass(frozen=True)
class AppendReceipt:
    seq: int
    leaf_hash: str


def audit_path_for(db_path: Path) -> Path:
    return db_path.with_name(f"{db_path.stem}.audit.duckdb")


def key_path_for(audit_path: Path) -> Path:
    return audit_path.with_name(f"{audit_path.stem}.signing-key")


def checkpoint_path_for(audit_path: Path) -> Path:
    """Where the latest signed checkpoint is published as a plain-text note."""
    return audit_path.with_name(f"{audit_path.stem}.checkpoint")


def leaf_data(seq: int, event_json: str) -> bytes:
    """What a leaf commits to: the event *and its position*, so reordering changes the hash."""
    return canonical_json({"seq": seq, "event": json.loads(event_json)})


def chain_next(previous: str, leaf_hex: str) -> str:
    return hashlib.sha256(bytes.fromhex(previous) + bytes.fromhex(leaf_hex)).hexdigest()


def _rows_after(head: tuple[int, str], batch: list[_Pending]
                ) -> tuple[list[tuple[object, ...]], list[bytes]]:
    """The rows for ``batch`` placed after ``head`` (next seq, chain hash), each caller's receipts
    filled in: the one place an event gets its position, leaf hash and chain hash."""
    seq, chain = head
    rows: list[tuple[object, ...]] = []
    leaves: list[bytes] = []
    for pending in batch:
        for event in pending.events:
            payload = canonical_json(event.model_dump(mode="json")).decode()
            leaf = leaf_hash(leaf_data(seq, payload)).hex()
            chain = chain_next(chain, leaf)
            rows.append((seq, event.recorded_at, event.event_type, event.outcome,
                         event.subject_person_id, event.user_id, event.agency, event.purpose,
                         payload, leaf, chain))
            pending.receipts.append(AppendReceipt(seq, leaf))
            leaves.append(bytes.fromhex(leaf))
            seq += 1
    return rows, leaves


def _fail(batch: list[_Pending], exc: Exception) -> None:
    """Every caller in a failed group commit gets the same refusal and no receipts."""
    error = AuditUnavailable(f"audit write failed: {type(exc).__name__}")
    error.__cause__ = exc
    for pending in batch:
        pending.receipts.clear()
        pending.error = error


def _wake(batch: list[_Pending]) -> None:
    for pending in batch:
        pending.done = True
        pending.wake.set()


@dataclass(eq=False)
class _Pending:
    """One caller's events waiting for a group commit."""

    events: list[AuditEvent]
    receipts: list[AppendReceipt] = field(default_factory=list)
    wake: threading.Event = field(default_factory=threading.Event)
    leader: bool = False
    done: bool = False
    error: AuditUnavailable | None = None


class AuditTrail:
    def __init__(self, path: Path | PostgresLocation, con: duckdb.DuckDBPyConnection | None,
                 key: SigningKey, postgres: PostgresAuditStore | None = None,
                 published: Path | None = None) -> None:
        self.path = path
        self._con = con  # type: ignore[assignment]
        self._postgres = postgres
        self._published = published or checkpoint_path_for(path)  # type: ignore[arg-type]
        self._key = key
        self._lock = threading.Lock()  # the connection
        self._queue_lock = threading.Lock()  # the queue of callers waiting to commit
        self._pending: list[_Pending] = []
        self._busy = False
        # Next sequence number and chain hash. This process is the trail's only writer (DuckDB
        # locks the file), so the head is read once and then kept, not queried per commit.
        self._head: tuple[int, str] | None = None
        # The Merkle tree's right edge over committed leaves, so a checkpoint costs O(log n).
        self._range: CompactRange | None = None
        self._checkpointer: threading.Thread | None = None
        self._stop_checkpointing = threading.Event()

    @classmethod
    def open(cls, path: Path | str | StoreLocation, origin: str = "kinlink.local/audit",
             key_path: Path | None = None) -> AuditTrail:
        """The trail in a DuckDB file, or in a PostgreSQL database shared by several processes.

        A file trail keeps its checkpoint signing key beside it; a database has no "beside", so
        its key is a file named by ``key_path`` (or ``KINLINK_AUDIT_KEY``), the same file for
        every worker, so that every checkpoint is signed by the one log key."""
        where = parse_location(path)
        if isinstance(where, PostgresLocation):
            named = key_path or (Path(os.environ["KINLINK_AUDIT_KEY"])
                                 if os.environ.get("KINLINK_AUDIT_KEY") else None)
            if named is None:
                raise AuditUnavailable("an audit trail in PostgreSQL needs its signing key file: "
                                       "set audit_key (KINLINK_AUDIT_KEY)")
            try:
                store = PostgresAuditStore.open(where)
            except Exception as exc:
                raise AuditUnavailable(f"cannot open the audit trail at {where.redacted}: "
                                       f"{type(exc).__name__}") from exc
            return cls(where, None, SigningKey.load_or_create(named, origin), postgres=store,
                       published=named.with_name(f"{named.stem}.checkpoint"))
        file = where.path
        try:
            con = duckdb.connect(str(file))
            migrate(con, "audit", "audit", "duckdb")
        except duckdb.Error as exc:
            raise AuditUnavailable(f"cannot open the audit trail at {file}: {exc}") from exc
        return cls(file, con, SigningKey.load_or_create(key_path or key_path_for(file), origin))

    @property
    def key_name(self) -> str:
        return self._key.name

    @property
    def public_key(self) -> bytes:
        return self._key.public_bytes

    def append(self, events: Sequence[AuditEvent]) -> list[AppendReceipt]:
        """Write ``events``; returns only once they are committed (or raises AuditUnavailable).

        Group commit: concurrent callers share one transaction. The first caller to find no
        commit in progress leads: it takes every batch queued so far, writes them in arrival
        order in one transaction, wakes their callers with their receipts, and hands the lead to
        the next queued caller. One fsync then serves many requests, and the log keeps one total
        order with gap-free sequence numbers.
        """
        item = _Pending(list(events))
        with self._queue_lock:
            self._pending.append(item)
            if not self._busy:
                self._busy = True
                item.leader = True
        if not item.leader:
            item.wake.wait()
        if not item.done:
            with self._queue_lock:
                batch, self._pending = self._pending, []
            try:
                self._commit(batch)
            finally:
                # Even if this thread is interrupted mid-commit, the lead must pass on (and every
                # waiter in the batch be woken), or every later append would wait for ever.
                for pending in batch:
                    if not pending.done:
                        pending.error = AuditUnavailable("audit write interrupted")
                        pending.receipts.clear()
                        pending.done = True
                        pending.wake.set()
                with self._queue_lock:
                    if self._pending:
                        successor = self._pending[0]
                        successor.leader = True
                        successor.wake.set()
                    else:
                        self._busy = False
        if item.error is not None:
            raise item.error
        return item.receipts

    def _commit(self, batch: list[_Pending]) -> None:
        if self._postgres is not None:
            self._commit_shared(batch)
            return
        with self._lock:
            try:
                cur = self._con
                cur.execute("BEGIN TRANSACTION")
                head, tree = self._load_head()
                rows, leaves = _rows_after(head, batch)
                seq, chain = head[0] + len(rows), (rows[-1][10] if rows else head[1])
                # One statement for the whole group: executemany costs a statement per row.
                placeholders = ", ".join(["(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"] * len(rows))
                cur.execute(f"INSERT INTO audit_events VALUES {placeholders}",
                            [value for row in rows for value in row])
                cur.execute("COMMIT")
                self._head = (seq, chain)
                for leaf_bytes in leaves:
                    tree.append(leaf_bytes)
            except Exception as exc:
                # Re-read from the store before the next write.
                self._head, self._range = None, None
                with contextlib.suppress(Exception):
                    self._con.execute("ROLLBACK")
                _fail(batch, exc)
        _wake(batch)

    def _commit_shared(self, batch: list[_Pending]) -> None:
        """One group commit to PostgreSQL: the head is read under the store's lock each time,
        because other processes append too."""
        assert self._postgres is not None

        def build(head: tuple[int, str] | None) -> tuple[list[tuple[object, ...]], list[bytes]]:
            for pending in batch:
                pending.receipts.clear()
            return _rows_after(head or (0, GENESIS), batch)

        try:
            self._postgres.commit(build)
        except Exception as exc:
            _fail(batch, exc)
        _wake(batch)

    def _shared_tree(self) -> CompactRange:
        """The tree over every committed leaf, caught up with other processes' appends."""
        assert self._postgres is not None
        tree = self._range or CompactRange()
        for leaf in self._postgres.leaf_hashes_from(tree.size):
            tree.append(leaf)
        self._range = tree
        return tree

    def _load_head(self) -> tuple[tuple[int, str], CompactRange]:
        """Next sequence number, chain hash and tree edge, read once (caller holds ``_lock``)."""
        if self._head is None or self._range is None:
            rows = self._con.execute(
                "SELECT seq, leaf_hash, chain_hash FROM audit_events ORDER BY seq").fetchall()
            tree = CompactRange()
            for _, leaf, _ in rows:
                tree.append(bytes.fromhex(leaf))
            self._head = (rows[-1][0] + 1, rows[-1][2]) if rows else (0, GENESIS)
            self._range = tree
        return self._head, self._range

    def leaf_hashes(self) -> list[bytes]:
        if self._postgres is not None:
            return self._postgres.leaf_hashes_from(0)
        rows = self._con.execute("SELECT leaf_hash FROM audit_events ORDER BY seq").fetchall()
        return [bytes.fromhex(r[0]) for r in rows]

    def checkpoint(self) -> Checkpoint:
        """Sign the current tree head, store it and publish it beside the trail."""
        with self._lock:
            if self._postgres is not None:
                # Any committed snapshot of the shared log is a gap-free prefix, so the tree
                # over what is read now is a tree head every later state extends.
                tree = self._shared_tree()
                note = Checkpoint.signed(self._key.name, tree.size, tree.root(), self._key)
                if not self._postgres.has_checkpoint(tree.size):  # another worker signed it
                    self._postgres.add_checkpoint(tree.size, note.text())
            else:
                _, tree = self._load_head()
                note = Checkpoint.signed(self._key.name, tree.size, tree.root(), self._key)
                self._con.execute(
                    "INSERT INTO checkpoints (tree_size, note) VALUES (?, ?)",
                    [tree.size, note.text()],
                )
        published = self._published
        draft = published.with_name(published.name + ".tmp")
        draft.write_text(note.text(), encoding="utf-8")
        os.replace(draft, published)
        return note

    def start_checkpointing(self, every_seconds: float) -> None:
        """Sign a checkpoint every ``every_seconds`` while the trail has grown since the last.

        A checkpoint is what makes deleting the tail of the trail detectable, and what witnesses
        countersign; a long-running writer must therefore make them itself, since nothing else
        can open the file while it runs.
        """
        if every_seconds <= 0:
            raise ValueError("the checkpoint interval must be positive")
        if self._checkpointer is not None:
            return

        def run() -> None:
            signed_size = -1
            while not self._stop_checkpointing.wait(every_seconds):
                try:
                    size = self.size()
                except Exception:  # the store is away: retried at the next interval
                    continue
                if size != signed_size:
                    with contextlib.suppress(Exception):  # retried at the next interval
                        signed_size = self.checkpoint().size

        self._checkpointer = threading.Thread(target=run, name="audit-checkpoints", daemon=True)
        self._checkpointer.start()

    def size(self) -> int:
        """Events committed so far (by every writer)."""
        if self._postgres is not None:
            return self._postgres.head_size()
        with self._lock:
            _, tree = self._load_head()
            return tree.size

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A DuckDB cursor for reading (search, reports) beside the writer, in this process; on
        PostgreSQL over this process's replica, brought up to date first."""
        if self._postgres is not None:
            return self._postgres.replica()
        return self._con.cursor()

    def verify(self) -> VerifyResult:
        """Verify the trail from its store (never from a replica)."""
        from audit.verify import verify_rows, verify_trail

        if self._postgres is not None:
            events, notes = self._postgres.rows_for_verification()
            return verify_rows(events, notes, self._key.name, self._key.public_bytes)
        return verify_trail(self.path, self._key.name, self._key.public_bytes,  # type: ignore[arg-type]
                            con=self.cursor())

    def ping(self) -> None:
        """Raise unless the trail's store answers (for readiness probes)."""
        if self._postgres is not None:
            self._postgres.ping()
            return
        with self._lock:
            self._con.execute("SELECT count(*) FROM audit_events WHERE seq < 0").fetchall()

    def close(self) -> None:
        self._stop_checkpointing.set()
        if self._checkpointer is not None:
            self._checkpointer.join()
        with self._lock:
            if self._postgres is not None:
                self._postgres.close()
            else:
                self._con.close()
