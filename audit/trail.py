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

import atexit
import contextlib
import functools
import os
import threading
import weakref
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import structlog

from audit.checkpoint import Checkpoint, SigningKey
from audit.events import AuditEvent
from audit.hashing import GENESIS, event_row
from audit.merkle import CompactRange
from audit.notifications import NotificationRule, derived_rows
from audit.store import DEFAULT_ORIGIN, AuditStore, Batch, OriginLocked, open_store
from stores.database import PostgresLocation, Session, StoreLocation, parse_location

if TYPE_CHECKING:
    from audit.verify import VerifyResult

__all__ = [
    "DEFAULT_ORIGIN",
    "GENESIS",
    "AppendReceipt",
    "AuditTrail",
    "AuditUnavailable",
    "audit_path_for",
    "checkpoint_path_for",
    "key_path_for",
    "vkey_path_for",
]

log = structlog.get_logger("kinlink.audit")

#: The most events one notifier round covers (a backlog is worked through in several rounds).
NOTIFY_ROUND = 2000


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


def vkey_path_for(audit_path: Path) -> Path:
    """Where the log's public verifier key is kept beside a trail (or beside its key file)."""
    return audit_path.with_name(f"{audit_path.stem}.vkey")


def checkpoint_path_for(audit_path: Path) -> Path:
    """Where the latest signed checkpoint is published as a plain-text note."""
    return audit_path.with_name(f"{audit_path.stem}.checkpoint")


def _rows_after(head: tuple[int, str], batch: list[_Pending]) -> Batch:
    """The rows for ``batch`` placed after ``head`` (next seq, chain hash), each caller's receipts
    filled in (cleared first: a store may call this again after a retry)."""
    seq, chain = head
    rows: list[tuple[object, ...]] = []
    for pending in batch:
        pending.receipts.clear()
        for event in pending.events:
            row = event_row(seq, chain, event)
            rows.append(row)
            chain = str(row[10])
            pending.receipts.append(AppendReceipt(seq, str(row[9])))
            seq += 1
    return {"audit_events": rows}


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


class CheckpointHealth:
    """The background checkpointer's state, so its failures are seen rather than swallowed.

    A trail that stops signing checkpoints still appends, but a deleted tail is no longer caught
    and witnesses have nothing new to countersign; readiness probes read ``problem``. Failures
    are logged by kind only: an exception's message may name a path or a value."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.consecutive_failures = 0
        self.last_error: str | None = None

    def failed(self, exc: BaseException) -> None:
        with self._lock:
            self.consecutive_failures += 1
            self.last_error = type(exc).__name__
            count = self.consecutive_failures
        log.warning("audit checkpoint failed", error=type(exc).__name__,
                    consecutive_failures=count)

    def succeeded(self) -> None:
        with self._lock:
            if self.consecutive_failures:
                log.info("audit checkpoints resumed", after_failures=self.consecutive_failures)
            self.consecutive_failures, self.last_error = 0, None

    @property
    def problem(self) -> str | None:
        """None while checkpoints succeed; else the failure's kind and how many in a row."""
        with self._lock:
            if not self.consecutive_failures:
                return None
            return f"{self.last_error} ({self.consecutive_failures} in a row)"


class AuditTrail:
    """Group commit, the Merkle tree and signed checkpoints over an :class:`AuditStore`."""

    def __init__(self, store: AuditStore, key: SigningKey, published: Path | None = None) -> None:
        self.store = store
        self._published = published or store.published
        self._key = key
        self._lock = threading.Lock()  # the tree
        self._queue_lock = threading.Lock()  # the queue of callers waiting to commit
        self._pending: list[_Pending] = []
        self._busy = False
        # The Merkle tree's right edge over committed leaves, so a checkpoint costs O(log n);
        # caught up from the store, so appends by other processes are in it too.
        self._range = CompactRange()
        self._checkpointer: threading.Thread | None = None
        self._stop_checkpointing = threading.Event()
        self._notify: NotificationRule | None = None
        self._notifier: threading.Thread | None = None
        self._stop_notifying = threading.Event()
        #: How the background checkpointing is doing (``start_checkpointing``).
        self.checkpoint_health = CheckpointHealth()

    @property
    def path(self) -> Path | str:
        return self.store.label

    @classmethod
    def open(cls, path: Path | str | StoreLocation, origin: str | None = None,
             key_path: Path | None = None) -> AuditTrail:
        """The trail in a DuckDB file, or in a PostgreSQL database shared by several processes.

        A file trail keeps its checkpoint signing key beside it; a database has no "beside", so
        its key is a file named by ``key_path`` (or ``KINLINK_AUDIT_KEY``), the same file for
        every worker, so that every checkpoint is signed by the one log key. The public
        verifier key is written beside the signing key (``.vkey``) for verifiers to take.

        ``origin`` is the install's log name; recorded on first use and kept with the trail,
        which refuses another once a checkpoint is signed under it."""
        where = parse_location(path)
        if isinstance(where, PostgresLocation):
            named = key_path or (Path(os.environ["KINLINK_AUDIT_KEY"])
                                 if os.environ.get("KINLINK_AUDIT_KEY") else None)
            if named is None:
                raise AuditUnavailable("an audit trail in PostgreSQL needs its signing key file: "
                                       "set audit_key (KINLINK_AUDIT_KEY)")
            published: Path | None = named.with_name(f"{named.stem}.checkpoint")
        else:
            named = key_path or key_path_for(where.path)
            published = None
        try:
            store = open_store(where)
        except Exception as exc:
            place = where.redacted if isinstance(where, PostgresLocation) else where.path
            raise AuditUnavailable(f"cannot open the audit trail at {place}: "
                                   f"{type(exc).__name__}: {exc}") from exc
        try:
            name = _settled_origin(store, origin)
            key = SigningKey.load_or_create(named, name)
        except BaseException:
            store.close()
            raise
        _publish_vkey(vkey_path_for(named), key)
        return cls(store, key, published)

    @property
    def key_name(self) -> str:
        return self._key.name

    @property
    def origin(self) -> str:
        return self._key.name

    @property
    def public_key(self) -> bytes:
        return self._key.public_bytes

    @property
    def vkey(self) -> str:
        from audit.cosignature import verifier_key

        return verifier_key(self._key.name, self._key.public_bytes)

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
        try:
            self.store.commit(lambda head: _rows_after(head, batch))
        except Exception as exc:
            _fail(batch, exc)
        _wake(batch)

    def notify_with(self, rule: NotificationRule | None) -> None:
        """Tell owners of disclosures by ``rule`` (None: stop telling).

        Set once by whoever knows the agreements (the gateway), so that the callers who write
        events need not know notifications exist. The notifications are derived from the
        committed log after the last event already covered (``catch_up_notifications``), not
        written with each event: the disclosure path pays nothing for them. Events not yet
        covered when the rule changes are told by the new rule: the gateway sets it once at
        start, and a clean shutdown covers every event first, so only the last second before
        a crash can be told by agreements loaded after it."""
        self._notify = rule

    def catch_up_notifications(self) -> None:
        """Write the notifications of every event committed so far that a round has not yet
        covered (nothing without a rule); raises AuditUnavailable if the store refuses them.

        Each round writes its notifications and its new position in one transaction, so a
        crash between rounds loses nothing (the next round starts from the stored position)
        and repeats nothing."""
        rule = self._notify
        if rule is None:
            return
        derive = functools.partial(derived_rows, rule)
        try:
            while self.store.derive_notifications(derive, NOTIFY_ROUND) == NOTIFY_ROUND:
                pass
        except Exception as exc:
            raise AuditUnavailable(f"owner notifications could not be brought up to date: "
                                   f"{type(exc).__name__}") from exc

    def start_notifying(self, every_seconds: float) -> None:
        """Catch the notifications up every ``every_seconds`` in the background, so that each
        reader's own catch-up is small and a copy of the trail read elsewhere (``kinlink
        notifications list``) is at most that far behind. Failures are logged by kind and
        retried at the next interval; readers catch up (or are refused) themselves."""
        if every_seconds <= 0:
            raise ValueError("the notification interval must be positive")
        if self._notifier is not None:
            return

        def run() -> None:
            while not self._stop_notifying.wait(every_seconds):
                try:
                    self.catch_up_notifications()
                except AuditUnavailable as exc:
                    log.warning("owner notification round failed",
                                error=type(exc.__cause__).__name__)

        self._notifier = threading.Thread(target=run, name="audit-notifications", daemon=True)
        _BACKGROUND.add(self)
        self._notifier.start()

    @contextlib.contextmanager
    def session(self) -> Iterator[Session]:
        """A session on the trail's store for its small side tables (notifications and their
        deliveries): through the writer's own connection on DuckDB, pooled on PostgreSQL.

        The notifications are caught up first, so a reader sees those of every event committed
        before it asked (a feed read after a disclosure lists it); if they cannot be, the
        reader is refused (AuditUnavailable) rather than shown a list with a hole."""
        self.catch_up_notifications()
        with self.store.session() as session:
            yield session

    def _tree(self) -> CompactRange:
        """The tree over every committed leaf, caught up with the store (caller holds _lock)."""
        for leaf in self.store.leaf_hashes_from(self._range.size):
            self._range.append(leaf)
        return self._range

    def leaf_hashes(self) -> list[bytes]:
        return self.store.leaf_hashes_from(0)

    def checkpoint(self) -> Checkpoint:
        """Sign the current tree head, store it and publish it beside the trail.

        Any committed snapshot of the log is a gap-free prefix, so the tree over what is read
        now is a tree head every later state extends."""
        with self._lock:
            tree = self._tree()
            note = Checkpoint.signed(self._key.name, tree.size, tree.root(), self._key)
            self.store.add_checkpoint(tree.size, note.text())
        published = self._published
        if published is not None:
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
                    if size != signed_size:
                        signed_size = self.checkpoint().size
                except Exception as exc:  # the store is away: retried at the next interval
                    self.checkpoint_health.failed(exc)
                else:
                    self.checkpoint_health.succeeded()

        self._checkpointer = threading.Thread(target=run, name="audit-checkpoints", daemon=True)
        _BACKGROUND.add(self)
        self._checkpointer.start()

    def size(self) -> int:
        """Events committed so far (by every writer)."""
        return self.store.head_size()

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A DuckDB cursor for reading (search, reports) beside the writer, in this process; on
        PostgreSQL over this process's replica, brought up to date first."""
        return self.store.reader()

    def verify(self) -> VerifyResult:
        """Verify the trail from its store (never from a replica), against its own public key
        and the published checkpoint note."""
        from audit.verify import verify_store

        return verify_store(self.store, self.vkey, anchors=_published_anchor(self._published))

    def ping(self) -> None:
        """Raise unless the trail's store answers (for readiness probes)."""
        self.store.ping()

    def _stop_background(self) -> None:
        self._stop_checkpointing.set()
        self._stop_notifying.set()
        for worker in (self._checkpointer, self._notifier):
            if worker is not None:
                worker.join()
        _BACKGROUND.discard(self)

    def close(self) -> None:
        """Stop the background work, write the last notifications (a trail closed cleanly is
        read elsewhere with every one in it; should that fail, the next round writes them) and
        close the store."""
        self._stop_background()
        try:
            self.catch_up_notifications()
        except AuditUnavailable as exc:
            log.warning("owner notifications left for the next start",
                        error=type(exc.__cause__).__name__)
        with self._lock:
            self.store.close()


#: Trails with background workers running, stopped when the interpreter exits: a daemon thread
#: still inside a DuckDB call when Python finalises is unwound from under C++ and aborts the
#: process (``FATAL: exception not rethrown``), whatever the work that came before.
_BACKGROUND: weakref.WeakSet[AuditTrail] = weakref.WeakSet()


@atexit.register
def _stop_background_workers() -> None:
    for trail in list(_BACKGROUND):
        trail._stop_background()


def _settled_origin(store: AuditStore, wanted: str | None) -> str:
    """The origin the trail is kept under: the one recorded, else ``wanted`` (or the default)
    recorded now. Another origin than the recorded one is refused once checkpoints exist."""
    recorded = store.origin()
    if wanted is None or wanted == recorded:
        if recorded is not None:
            return recorded
        wanted = DEFAULT_ORIGIN
    try:
        store.set_origin(wanted)
    except OriginLocked as exc:
        raise AuditUnavailable(str(exc)) from exc
    except Exception as exc:
        raise AuditUnavailable(f"the trail's origin is not recorded and cannot be by this role "
                               f"({type(exc).__name__}): run `kinlink db init` as the owner"
                               ) from exc
    return wanted


def _publish_vkey(path: Path, key: SigningKey) -> None:
    """Keep the public verifier key beside the signing key, replaced only when it changed.

    A key mounted from a read-only secrets directory has no writable "beside": the trail still
    opens (the vkey is then printed by ``kinlink audit log-key --key``), and says so once."""
    from audit.cosignature import verifier_key

    text = verifier_key(key.name, key.public_bytes) + "\n"
    try:
        if path.exists() and path.read_text(encoding="utf-8") == text:
            return
        draft = path.with_name(path.name + ".tmp")
        draft.write_text(text, encoding="utf-8")
        os.replace(draft, path)
    except OSError as exc:
        log.warning("audit verifier key not written beside the signing key",
                    error=type(exc).__name__)


def _published_anchor(path: Path | None) -> list[str]:
    if path is None or not path.exists():
        return []
    return [path.read_text(encoding="utf-8")]
