"""The audit trail's PostgreSQL store: one log written by many gateway processes.

Each process still group-commits its own callers (``audit.trail``); across processes a commit
takes a transaction-scoped advisory lock, reads the head (last sequence number and chain hash)
under it, and inserts after it. The lock serialises writers, the database's triggers refuse any
row that is not exactly the next one with the right chain hash, and the transaction makes the
events and their position durable together, so the log stays one total order with no gaps and
no fork however many workers write.

Reports read a per-process DuckDB replica (``replica``), refreshed with the events appended
since the last read: the trail is append-only, and the report queries (anomaly rules especially)
are written for DuckDB. Verification never trusts that replica; it reads the store itself.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import duckdb

from audit.hashing import EVENT_COLUMNS
from audit.store import BuildRows, DeriveRows, OriginLocked, StoredTrail
from stores.database import PostgresLocation, Session, postgres_pool
from stores.migrations import available, migrate

__all__ = ["COMMIT_LOCK", "NOTIFY_LOCK", "PostgresAuditStore", "grant_writer"]

#: The advisory lock every writer of the trail takes for its commit (an arbitrary constant).
COMMIT_LOCK = 0x6B696E6C696E6B01
#: The advisory lock a notifier round takes, so one worker at a time derives notifications; it
#: is not the commit lock, so appends never wait for a round.
NOTIFY_LOCK = 0x6B696E6C696E6B02

#: A round's notifications in one statement: four array parameters, unnested side by side.
_INSERT_NOTIFICATIONS = (
    "INSERT INTO notifications (seq, agency, recorded_at, body) SELECT * FROM unnest("
    "%s::bigint[], %s::text[], %s::timestamptz[], %s::text[]) ON CONFLICT DO NOTHING")

#: IG's small tables beside the trail, copied whole into a replica: (columns, DuckDB DDL).
_IG_TABLES = {
    "witness_cosignatures": (
        "witness, tree_size, note, created_at",
        "CREATE TABLE IF NOT EXISTS witness_cosignatures (witness VARCHAR, tree_size BIGINT, "
        "note VARCHAR, created_at TIMESTAMPTZ)"),
    "staff_register": (
        "user_id, person_id, added_at",
        "CREATE TABLE IF NOT EXISTS staff_register (user_id VARCHAR, person_id VARCHAR, "
        "added_at TIMESTAMPTZ)"),
}

_EVENT_COLUMNS = ", ".join(EVENT_COLUMNS)


class PostgresAuditStore:
    def __init__(self, location: PostgresLocation) -> None:
        self.location = location
        self.published: Path | None = None  # a database has no "beside": the trail names it
        self._pool = postgres_pool(location, purpose="audit", max_size=4)
        self._replica_lock = threading.Lock()
        self._replica: duckdb.DuckDBPyConnection | None = None
        self._replicated = 0

    @classmethod
    def open(cls, location: PostgresLocation) -> PostgresAuditStore:
        store = cls(location)
        store.ensure_schema()
        return store

    def ensure_schema(self) -> None:
        """Migrate to the current version, unless it is there already.

        The gateway's role may only insert and read (``kinlink audit init-db`` sets that up as
        the owner); it must not need to create anything when the schema is current."""
        import psycopg

        newest = available("audit", "postgresql")[-1].version
        with psycopg.connect(self.location.url, autocommit=True) as con:
            ledger = con.execute("SELECT to_regclass('schema_migrations')").fetchone()
            if ledger and ledger[0] is not None:
                # Read, not created: the gateway's role has no right to create anything.
                row = con.execute("SELECT max(version) FROM schema_migrations "
                                  "WHERE component = 'audit'").fetchone()
                if row and row[0] is not None and row[0] >= newest:
                    return
            # Two workers starting together: one migrates, the other then finds it done.
            con.execute("SELECT pg_advisory_lock(%s)", [COMMIT_LOCK])
            try:
                migrate(con, "audit", "audit", "postgresql")
            finally:
                con.execute("SELECT pg_advisory_unlock(%s)", [COMMIT_LOCK])

    @property
    def label(self) -> str:
        return self.location.redacted

    def commit(self, build: BuildRows) -> None:
        """One group commit: the head is read under the advisory lock each time, because other
        processes append too, and every table's rows go in the same transaction."""
        from audit.hashing import GENESIS

        with self._pool.connection() as con, con.transaction():
            con.execute("SELECT pg_advisory_xact_lock(%s)", [COMMIT_LOCK])
            last = con.execute(
                "SELECT seq, chain_hash FROM audit_events ORDER BY seq DESC LIMIT 1").fetchone()
            batch = build((last[0] + 1, last[1]) if last else (0, GENESIS))
            for table, rows in batch.items():
                if not rows:
                    continue
                marks = "(" + ", ".join(["%s"] * len(rows[0])) + ")"
                columns = f" ({_EVENT_COLUMNS})" if table == "audit_events" else ""
                con.execute(f"INSERT INTO {table}{columns} VALUES {', '.join([marks] * len(rows))}",
                            [value for row in rows for value in row])

    def derive_notifications(self, derive: DeriveRows, limit: int) -> int:
        """A round under the notify lock, the position read again once it is held (another
        worker may just have moved it); when nothing was committed after the position, it
        returns before taking the lock. The log's committed part is a gap-free prefix (each
        commit holds the commit lock until it is visible), so the events read after the
        position are the next ones, with none still to come between them."""
        with self._pool.connection() as con, con.transaction():
            done, head = con.execute(_POSITIONS).fetchone() or (None, None)
            if head is None or (done is not None and done >= head):
                return 0
            con.execute("SELECT pg_advisory_xact_lock(%s)", [NOTIFY_LOCK])
            done, _ = con.execute(_POSITIONS).fetchone() or (None, None)
            after = -1 if done is None else int(done)
            events = con.execute("SELECT seq, event_json FROM audit_events WHERE seq > %s "
                                 "ORDER BY seq LIMIT %s", [after, limit]).fetchall()
            if not events:
                return 0
            rows = derive(events)
            if rows:
                con.execute(_INSERT_NOTIFICATIONS,
                            [list(column) for column in zip(*rows, strict=True)])
            con.execute("INSERT INTO notification_progress (last_seq) VALUES (%s)",
                        [events[-1][0]])
        return len(events)

    def leaf_hashes_from(self, first: int) -> list[bytes]:
        with self._pool.connection() as con:
            rows = con.execute("SELECT leaf_hash FROM audit_events WHERE seq >= %s ORDER BY seq",
                               [first]).fetchall()
        return [bytes.fromhex(r[0]) for r in rows]

    def head_size(self) -> int:
        with self._pool.connection() as con:
            row = con.execute("SELECT max(seq) FROM audit_events").fetchone()
        return 0 if row is None or row[0] is None else int(row[0]) + 1

    def add_checkpoint(self, tree_size: int, note: str) -> None:
        with self._pool.connection() as con:
            con.execute("INSERT INTO checkpoints (tree_size, note) SELECT %s, %s WHERE NOT EXISTS "
                        "(SELECT 1 FROM checkpoints WHERE tree_size = %s)",
                        [tree_size, note, tree_size])

    def checkpoint_count(self) -> int:
        with self._pool.connection() as con:
            row = con.execute("SELECT count(*) FROM checkpoints").fetchone()
        return int(row[0]) if row else 0

    def origin(self) -> str | None:
        with self._pool.connection() as con:
            if _scalar(con, "SELECT to_regclass('audit_settings')") is None:
                return None
            row = con.execute("SELECT value FROM audit_settings WHERE name = 'origin'").fetchone()
        return row[0] if row else None

    def set_origin(self, origin: str) -> None:
        current = self.origin()
        if current == origin:
            return
        if current is not None and self.checkpoint_count():
            raise OriginLocked(f"the trail's origin is {current!r} and checkpoints are signed "
                               f"under it; it cannot become {origin!r}")
        with self._pool.connection() as con:
            con.execute("INSERT INTO audit_settings (name, value) VALUES ('origin', %s) "
                        "ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value", [origin])

    @contextlib.contextmanager
    def session(self) -> Iterator[Session]:
        with self._pool.connection() as con:
            yield Session(con, postgres=True)

    def ping(self) -> None:
        with self._pool.connection() as con:
            con.execute("SELECT count(*) FROM audit_events WHERE seq < 0").fetchone()

    def stored_trail(self) -> StoredTrail:
        """Every event, checkpoint and cosignature, read from the store itself (never from the
        replica) in one snapshot; reading is all it needs, so a read-only role can verify."""
        with self._pool.connection() as con, con.transaction():
            con.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            events = con.execute(f"SELECT {_EVENT_COLUMNS} FROM audit_events ORDER BY seq"
                                 ).fetchall()
            notes = [r[0] for r in con.execute(
                "SELECT note FROM checkpoints ORDER BY tree_size, created_at").fetchall()]
            cosigned = ([r[0] for r in con.execute(
                "SELECT note FROM witness_cosignatures ORDER BY tree_size").fetchall()]
                if _scalar(con, "SELECT to_regclass('witness_cosignatures')")
                else [])
        return StoredTrail(events, notes, cosigned, self.origin())

    def reader(self) -> duckdb.DuckDBPyConnection:
        return self.replica()

    def replica(self) -> duckdb.DuckDBPyConnection:
        """A DuckDB cursor over this process's copy of the trail, brought up to date first."""
        with self._replica_lock:
            if self._replica is None:
                self._replica = duckdb.connect()
                self._replica.execute(available("audit", "duckdb")[0].sql)
            with self._pool.connection() as con:
                events = con.execute(
                    f"SELECT {_EVENT_COLUMNS} FROM audit_events WHERE seq >= %s ORDER BY seq",
                    [self._replicated]).fetchall()
                notes = con.execute("SELECT tree_size, note, created_at FROM checkpoints"
                                    ).fetchall()
                small = {table: con.execute(f"SELECT {columns} FROM {table}").fetchall()
                         for table, (columns, _) in _IG_TABLES.items()}
            for table, (_, ddl) in _IG_TABLES.items():
                self._replica.execute(ddl)
                self._replica.execute(f"DELETE FROM {table}")
                if small[table]:
                    self._insert(self._replica, table, small[table])
            if events:
                self._insert(self._replica, "audit_events", events)
                self._replicated = events[-1][0] + 1
            self._replica.execute("DELETE FROM checkpoints")
            if notes:
                self._insert(self._replica, "checkpoints", notes)
            return self._replica.cursor()

    @staticmethod
    def _insert(con: duckdb.DuckDBPyConnection, table: str,
                rows: Sequence[tuple[Any, ...]]) -> None:
        width = len(rows[0])
        for start in range(0, len(rows), 1000):
            chunk = rows[start:start + 1000]
            marks = ", ".join(["(" + ", ".join(["?"] * width) + ")"] * len(chunk))
            con.execute(f"INSERT INTO {table} VALUES {marks}", [v for r in chunk for v in r])

    def close(self) -> None:
        with self._replica_lock:
            if self._replica is not None:
                self._replica.close()
                self._replica = None


def grant_writer(location: PostgresLocation, role: str, origin: str | None = None) -> None:
    """Set the trail up as its owner and let ``role`` (the gateway's) append and read, nothing
    more: no UPDATE, DELETE or TRUNCATE, and no ownership, so it cannot drop the tables or the
    triggers either. Run once, by the owner, before the gateway first starts.

    ``origin`` is the install's log name, recorded here because the gateway's role may only read
    it (default: the one already recorded, else ``DEFAULT_ORIGIN``)."""
    import psycopg
    from psycopg import sql

    from audit.store import DEFAULT_ORIGIN

    store = PostgresAuditStore.open(location)
    try:
        store.set_origin(origin or store.origin() or DEFAULT_ORIGIN)
    finally:
        store.close()
    who = sql.Identifier(role)
    with psycopg.connect(location.url, autocommit=True) as con, con.transaction():
        for statement in (
            "REVOKE ALL ON audit_events, checkpoints, witness_cosignatures, staff_register, "
            "audit_settings, notifications, notification_deliveries, notification_progress "
            "FROM {who}",
            "GRANT SELECT, INSERT ON notifications, notification_deliveries, "
            "notification_progress TO {who}",
            "GRANT SELECT, INSERT ON audit_events, checkpoints TO {who}",
            "GRANT SELECT ON audit_settings TO {who}",
            "GRANT SELECT ON witness_cosignatures, staff_register TO {who}",
            "GRANT SELECT ON schema_migrations TO {who}",
        ):
            con.execute(sql.SQL(statement).format(who=who))


#: The notifier's position and the log's last event (NULL: none yet), in one snapshot.
_POSITIONS = ("SELECT (SELECT last_seq FROM notification_progress ORDER BY last_seq DESC "
              "LIMIT 1), (SELECT seq FROM audit_events ORDER BY seq DESC LIMIT 1)")


def _scalar(con: Any, sql: str) -> Any:
    """The one value a one-row query returns (None when it returns no row)."""
    row = con.execute(sql).fetchone()
    return row[0] if row else None
