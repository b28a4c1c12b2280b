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

import threading
from collections.abc import Sequence
from typing import Any

import duckdb

from kinlink.database import PostgresLocation, postgres_pool
from kinlink.migrations import available, migrate

__all__ = ["COMMIT_LOCK", "PostgresAuditStore", "grant_writer"]

#: The advisory lock every writer of the trail takes for its commit (an arbitrary constant).
COMMIT_LOCK = 0x6B696E6C696E6B01

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

_EVENT_COLUMNS = ("seq, recorded_at, event_type, outcome, subject_person_id, user_id, agency, "
                  "purpose, event_json, leaf_hash, chain_hash")


class PostgresAuditStore:
    def __init__(self, location: PostgresLocation) -> None:
        self.location = location
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

    def commit(self, build_rows: Any) -> Any:
        """Run one group commit: ``build_rows(head)`` gets ``(next_seq, chain_hash)`` read under
        the lock and returns ``(rows, result)``; the rows are inserted in the same transaction."""
        with self._pool.connection() as con, con.transaction():
            con.execute("SELECT pg_advisory_xact_lock(%s)", [COMMIT_LOCK])
            last = con.execute(
                "SELECT seq, chain_hash FROM audit_events ORDER BY seq DESC LIMIT 1").fetchone()
            head = (last[0] + 1, last[1]) if last else None
            rows, result = build_rows(head)
            placeholders = ", ".join(["(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"] * len(rows))
            con.execute(f"INSERT INTO audit_events ({_EVENT_COLUMNS}) VALUES {placeholders}",
                        [value for row in rows for value in row])
        return result

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
            con.execute("INSERT INTO checkpoints (tree_size, note) VALUES (%s, %s)",
                        [tree_size, note])

    def has_checkpoint(self, tree_size: int) -> bool:
        with self._pool.connection() as con:
            return con.execute("SELECT 1 FROM checkpoints WHERE tree_size = %s LIMIT 1",
                               [tree_size]).fetchone() is not None

    def ping(self) -> None:
        with self._pool.connection() as con:
            con.execute("SELECT count(*) FROM audit_events WHERE seq < 0").fetchone()

    def rows_for_verification(self) -> tuple[list[tuple[Any, ...]], list[str]]:
        """Every event and checkpoint note, read from the store itself in one snapshot."""
        with self._pool.connection() as con, con.transaction():
            con.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            events = con.execute("SELECT seq, event_json, leaf_hash, chain_hash FROM audit_events "
                                 "ORDER BY seq").fetchall()
            notes = [r[0] for r in con.execute(
                "SELECT note FROM checkpoints ORDER BY tree_size, created_at").fetchall()]
        return events, notes

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


def grant_writer(location: PostgresLocation, role: str) -> None:
    """Set the trail up as its owner and let ``role`` (the gateway's) append and read, nothing
    more: no UPDATE, DELETE or TRUNCATE, and no ownership, so it cannot drop the tables or the
    triggers either. Run once, by the owner, before the gateway first starts."""
    import psycopg
    from psycopg import sql

    PostgresAuditStore.open(location)
    who = sql.Identifier(role)
    with psycopg.connect(location.url, autocommit=True) as con, con.transaction():
        for statement in (
            "REVOKE ALL ON audit_events, checkpoints, witness_cosignatures, staff_register "
            "FROM {who}",
            "GRANT SELECT, INSERT ON audit_events, checkpoints TO {who}",
            "GRANT SELECT ON witness_cosignatures, staff_register TO {who}",
            "GRANT SELECT ON schema_migrations TO {who}",
        ):
            con.execute(sql.SQL(statement).format(who=who))
