"""The audit trail in its own DuckDB file (``<index stem>.audit.duckdb``).

DuckDB lets one process hold a file for writing, and while it does no other process can open
it, not even read-only. That process is the trail's only writer, so the head (next sequence
number and chain hash) is read once and then kept, not queried per commit; every access goes
through the one connection under a lock, and readers get cursors of it.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from pathlib import Path

import duckdb

from audit.hashing import EVENT_COLUMNS, GENESIS
from audit.store import Batch, BuildRows, DeriveRows, OriginLocked, StoredTrail
from stores.database import Session
from stores.migrations import migrate

__all__ = ["DuckDBAuditStore"]


def _checkpoint_path(audit_path: Path) -> Path:
    return audit_path.with_name(f"{audit_path.stem}.checkpoint")


#: A round's notifications in one statement: four list parameters, unnested side by side (a
#: VALUES list binds each value separately, which costs ten times as much for a few hundred).
_INSERT_NOTIFICATIONS = (
    "INSERT INTO notifications SELECT unnest(?::BIGINT[]), unnest(?::VARCHAR[]), "
    "unnest(?::TIMESTAMPTZ[]), unnest(?::VARCHAR[]) ON CONFLICT DO NOTHING")


#: DuckDB threads for the writer. Its statements are a group commit of a few rows and a
#: notifier round; splitting such a statement across worker threads buys nothing and costs each
#: commit a hand-off (measured: ~20% more CPU and wall time per commit with 2 threads than 1, on
#: the bench's 2 cores). A scan of the whole trail (verify, reports) runs on one thread instead.
WRITER_THREADS = 1


def _has_table(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    return bool(con.execute("SELECT count(*) FROM information_schema.tables "
                            "WHERE table_name = ?", [name]).fetchall()[0][0])


class DuckDBAuditStore:
    def __init__(self, path: Path, con: duckdb.DuckDBPyConnection) -> None:
        self.path = path
        self.published: Path | None = _checkpoint_path(path)
        self._con = con
        self._lock = threading.Lock()
        self._head: tuple[int, str] | None = None
        self._notify_lock = threading.Lock()  # one notifier round at a time
        self._notified: int | None = None  # the position after the last round (None: unknown)

    @classmethod
    def open(cls, path: Path, *, read_only: bool = False) -> DuckDBAuditStore:
        """Open (creating and migrating unless ``read_only``) the trail file at ``path``."""
        if read_only:
            if not path.exists():
                raise FileNotFoundError(f"no audit trail at {path}")
            return cls(path, duckdb.connect(str(path), read_only=True))
        con = duckdb.connect(str(path), config={"threads": WRITER_THREADS})
        try:
            migrate(con, "audit", "audit", "duckdb")
        except BaseException:
            con.close()
            raise
        return cls(path, con)

    @property
    def label(self) -> str:
        return str(self.path)

    def commit(self, build: BuildRows) -> None:
        with self._lock:
            try:
                self._con.execute("BEGIN TRANSACTION")
                head = self._read_head()
                batch = build(head)
                self._insert(batch)
                self._con.execute("COMMIT")
            except BaseException:
                self._head = None  # re-read from the file before the next write
                with contextlib.suppress(Exception):
                    self._con.execute("ROLLBACK")
                raise
            events = batch.get("audit_events") or []
            if events:
                self._head = (events[-1][0] + 1, events[-1][10])

    def _read_head(self) -> tuple[int, str]:
        if self._head is None:
            row = self._con.execute("SELECT seq, chain_hash FROM audit_events "
                                    "ORDER BY seq DESC LIMIT 1").fetchone()
            self._head = (row[0] + 1, row[1]) if row else (0, GENESIS)
        return self._head

    def _insert(self, batch: Batch) -> None:
        for table, rows in batch.items():
            if not rows:
                continue
            # One statement for the whole group: executemany costs a statement per row.
            marks = "(" + ", ".join(["?"] * len(rows[0])) + ")"
            self._con.execute(f"INSERT INTO {table} VALUES {', '.join([marks] * len(rows))}",
                              [value for row in rows for value in row])

    def derive_notifications(self, derive: DeriveRows, limit: int) -> int:
        """A round on its own cursor, so appends go on while it runs (they touch other tables);
        with nothing committed since the last round, no transaction at all."""
        with self._notify_lock:
            if self._notified is not None and self._notified + 1 >= self.head_size():
                return 0
            with self._lock:
                cursor = self._con.cursor()
            try:
                cursor.execute("BEGIN TRANSACTION")
                row = cursor.execute("SELECT last_seq FROM notification_progress "
                                     "ORDER BY last_seq DESC LIMIT 1").fetchone()
                after = -1 if row is None else int(row[0])
                events = cursor.execute("SELECT seq, event_json FROM audit_events WHERE seq > ? "
                                        "ORDER BY seq LIMIT ?", [after, limit]).fetchall()
                if events:
                    rows = derive(events)
                    if rows:
                        columns = [list(column) for column in zip(*rows, strict=True)]
                        cursor.execute(_INSERT_NOTIFICATIONS, columns)
                    after = int(events[-1][0])
                    cursor.execute("INSERT INTO notification_progress (last_seq) VALUES (?)",
                                   [after])
                cursor.execute("COMMIT")
            except BaseException:
                self._notified = None
                with contextlib.suppress(Exception):
                    cursor.execute("ROLLBACK")
                raise
            finally:
                cursor.close()
            self._notified = after
            return len(events)

    def leaf_hashes_from(self, first: int) -> list[bytes]:
        with self._lock:
            rows = self._con.execute("SELECT leaf_hash FROM audit_events WHERE seq >= ? "
                                     "ORDER BY seq", [first]).fetchall()
        return [bytes.fromhex(r[0]) for r in rows]

    def head_size(self) -> int:
        with self._lock:
            return self._read_head()[0]

    def add_checkpoint(self, tree_size: int, note: str) -> None:
        with self._lock:
            self._con.execute("INSERT INTO checkpoints (tree_size, note) VALUES (?, ?)",
                              [tree_size, note])

    def checkpoint_count(self) -> int:
        with self._lock:
            return int(self._con.execute("SELECT count(*) FROM checkpoints").fetchall()[0][0])

    def origin(self) -> str | None:
        with self._lock:
            if not _has_table(self._con, "audit_settings"):  # read-only, not yet migrated
                return None
            row = self._con.execute("SELECT value FROM audit_settings WHERE name = 'origin'"
                                    ).fetchone()
        return row[0] if row else None

    def set_origin(self, origin: str) -> None:
        current = self.origin()
        if current == origin:
            return
        if current is not None and self.checkpoint_count():
            raise OriginLocked(f"the trail's origin is {current!r} and checkpoints are signed "
                               f"under it; it cannot become {origin!r}")
        with self._lock:
            self._con.execute("INSERT INTO audit_settings (name, value) VALUES ('origin', ?) "
                              "ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value", [origin])

    def stored_trail(self) -> StoredTrail:
        with self._lock:
            cur = self._con.cursor()
        # Checkpoints first: one signed after this read covers only events committed before it,
        # which the event read that follows sees, so a live writer cannot cause a false "deleted".
        notes = [r[0] for r in cur.execute(
            "SELECT note FROM checkpoints ORDER BY tree_size, rowid").fetchall()]
        cosigned = ([r[0] for r in cur.execute(
            "SELECT note FROM witness_cosignatures ORDER BY tree_size").fetchall()]
            if _has_table(cur, "witness_cosignatures") else [])
        events = cur.execute(f"SELECT {', '.join(EVENT_COLUMNS)} FROM audit_events "
                             "ORDER BY seq, rowid").fetchall()
        return StoredTrail(events, notes, cosigned, self.origin())

    def reader(self) -> duckdb.DuckDBPyConnection:
        with self._lock:
            return self._con.cursor()

    @contextlib.contextmanager
    def session(self) -> Iterator[Session]:
        with self._lock:
            cursor = self._con.cursor()
        try:
            yield Session(cursor, postgres=False)
        finally:
            cursor.close()

    def ping(self) -> None:
        with self._lock:
            self._con.execute("SELECT count(*) FROM audit_events WHERE seq < 0").fetchall()

    def close(self) -> None:
        with self._lock:
            self._con.close()
