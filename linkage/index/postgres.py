"""The identity index on PostgreSQL: generations published whole, and one link run at a time.

Several gateway processes on several hosts and the nightly link job share one database. A link run
builds in DuckDB as on one machine, then publishes: every table is copied into a fresh schema
and ``index_current`` is pointed at it, all in one transaction, so readers see the old generation
or the new one and never a mixture, and a run killed part way leaves nothing behind but a
rolled-back transaction. The generation before the current one is kept (a reader may be part way
through loading it when the swap commits); older ones are dropped.

The run lock is a session advisory lock: the server releases it when the holder's connection
ends, however the holder died.
"""

from __future__ import annotations

import contextlib
import hashlib
import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from linkage.index.errors import IndexUnavailable, LinkInProgress
from linkage.index.schema import INDEX_COMPONENT
from linkage.index.transfer import Column, build_tables, copy_to_postgres, load_into_duckdb
from stores.database import PostgresLocation
from stores.migrations import migrate

__all__ = [
    "RUN_ONLY_TABLES",
    "Generation",
    "clear_scratch",
    "connect",
    "current_generation",
    "drop_stale_generations",
    "ensure_control_tables",
    "generation_columns",
    "load_generation",
    "publish",
    "run_lock",
    "scratch_dir",
]

#: Tables only the next link run reads: a reader's replica leaves them out.
RUN_ONLY_TABLES = frozenset({"pair_comparisons", "record_fingerprints"})

_GENERATION_PREFIX = "index_g"


def _key(name: str) -> int:
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


_RUN_LOCK = _key("kinlink identity index: link run")
_MIGRATE_LOCK = _key("kinlink identity index: migrations")


@dataclass(frozen=True)
class Generation:
    generation: int
    schema_name: str
    run_id: str | None


def connect(location: PostgresLocation, purpose: str, autocommit: bool = True) -> Any:
    """A connection of this module's own: the run lock and a load must not share a pool's."""
    import psycopg

    try:
        con = psycopg.connect(location.url, autocommit=autocommit,
                              application_name=f"kinlink {purpose}")
    except psycopg.OperationalError as exc:
        # psycopg's message names host and user, never the password; the URL is not repeated.
        raise IndexUnavailable(f"cannot reach the identity index at {location.redacted}: "
                               f"{str(exc).strip().splitlines()[0]}") from None
    # COPY text must read back the same in DuckDB: UTC times, ISO dates, shortest exact doubles.
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET DateStyle = 'ISO, YMD'")
    con.execute("SET extra_float_digits = 1")
    if not autocommit:
        con.commit()
    return con


def ensure_control_tables(con: Any) -> None:
    """Migrate the control tables, one process at a time (gateway workers start together)."""
    con.execute("SELECT pg_advisory_lock(%s)", [_MIGRATE_LOCK])
    try:
        migrate(con, INDEX_COMPONENT, "linkage.index", "postgresql")
    finally:
        con.execute("SELECT pg_advisory_unlock(%s)", [_MIGRATE_LOCK])


def current_generation(con: Any) -> Generation | None:
    if not _has_control_tables(con):
        return None
    row = con.execute(
        "SELECT g.generation, g.schema_name, g.run_id FROM index_current c "
        "JOIN index_generations g USING (generation)").fetchone()
    return Generation(int(row[0]), row[1], row[2]) if row else None


def _has_control_tables(con: Any) -> bool:
    row = con.execute("SELECT to_regclass('index_current') IS NOT NULL").fetchone()
    return bool(row and row[0])


def generation_columns(con: Any, generation: int) -> list[Column]:
    rows = con.execute(
        "SELECT table_name, ordinal, column_name, duckdb_type FROM index_columns "
        "WHERE generation = %s ORDER BY table_name, ordinal", [generation]).fetchall()
    return [Column(*row) for row in rows]


@contextlib.contextmanager
def run_lock(location: PostgresLocation) -> Iterator[Any]:
    """Hold the index's run lock for the ``with`` block; yields the connection holding it."""
    con = connect(location, "link (run lock)")
    try:
        got = con.execute("SELECT pg_try_advisory_lock(%s)", [_RUN_LOCK]).fetchone()[0]
        if not got:
            raise LinkInProgress(f"another link run ({_holder(con)}) is writing the identity index at "
                        f"{location.redacted}; try again when it has finished")
        yield con
    finally:
        con.close()


def _holder(con: Any) -> str:
    classid, objid = (_RUN_LOCK >> 32) & 0xFFFFFFFF, _RUN_LOCK & 0xFFFFFFFF
    row = con.execute(
        "SELECT a.pid, coalesce(host(a.client_addr), 'local') FROM pg_locks l "
        "JOIN pg_stat_activity a USING (pid) WHERE l.locktype = 'advisory' AND l.granted "
        "AND l.classid = %s AND l.objid = %s AND l.objsubid = 1",
        [classid, objid]).fetchone()
    return f"server process {row[0]} from {row[1]}" if row else "another process"


def scratch_dir(location: PostgresLocation) -> Path:
    """Where a run builds, per database: emptied by the next run if a run dies and leaves files."""
    digest = hashlib.sha256(location.url.encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / "kinlink-index-build" / digest


def clear_scratch(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True, exist_ok=True)


def load_generation(con: Any, generation: Generation, duck: duckdb.DuckDBPyConnection,
                    database: str, scratch: Path, skip: frozenset[str] = frozenset()) -> None:
    """Copy a generation into a DuckDB database (a run's ``previous``, or a reader's replica)."""
    columns = generation_columns(con, generation.generation)
    wanted = {c.table_name for c in columns} - skip
    load_into_duckdb(con, generation.schema_name, columns, duck, database, scratch, wanted)


def publish(location: PostgresLocation, build: duckdb.DuckDBPyConnection,
            scratch: Path) -> tuple[Generation, float]:
    """Copy the build into a new generation and make it current, in one transaction."""
    started = time.perf_counter()
    tables = build_tables(build)
    version = build.execute("SELECT max(version) FROM schema_migrations WHERE component = ?",
                            [INDEX_COMPONENT]).fetchone()
    run = build.execute("SELECT value FROM meta WHERE key = 'last_run_id'").fetchone()
    con = connect(location, "link (publish)", autocommit=False)
    try:
        with con.transaction():
            number = int(con.execute("SELECT nextval('index_generation_seq')").fetchone()[0])
            schema = f"{_GENERATION_PREFIX}{number:06d}"
            con.execute(f'CREATE SCHEMA "{schema}"')
            copy_to_postgres(build, con, schema, tables, scratch)
            con.execute(
                "INSERT INTO index_generations (generation, schema_name, run_id, "
                "index_schema_version) VALUES (%s, %s, %s, %s)",
                [number, schema, run[0] if run else None, int(version[0]) if version else 0])
            with con.cursor() as cur:
                cur.executemany(
                    "INSERT INTO index_columns VALUES (%s, %s, %s, %s, %s)",
                    [(number, c.table_name, c.ordinal, c.column_name, c.duckdb_type)
                     for columns in tables.values() for c in columns])
            con.execute(
                "INSERT INTO index_current (singleton, generation) VALUES (true, %s) "
                "ON CONFLICT (singleton) DO UPDATE SET generation = excluded.generation",
                [number])
            seconds = time.perf_counter() - started
            con.execute("UPDATE index_generations SET publish_seconds = %s WHERE generation = %s",
                        [seconds, number])
        con.autocommit = True
        drop_stale_generations(con)
    finally:
        con.close()
    return Generation(number, schema, run[0] if run else None), seconds


def drop_stale_generations(con: Any) -> list[str]:
    """Drop generations older than the one before the current, and schemas no run finished.

    A drop waits at most a moment for readers still holding the old tables; one that cannot get
    its lock is left for the next run to drop.
    """
    import psycopg

    current = current_generation(con)
    keep: set[str] = set()
    if current is not None:
        rows = con.execute(
            "SELECT schema_name FROM index_generations WHERE generation <= %s "
            "ORDER BY generation DESC LIMIT 2", [current.generation]).fetchall()
        keep = {r[0] for r in rows}
    schemas = [r[0] for r in con.execute(
        "SELECT nspname FROM pg_namespace WHERE nspname ~ %s ORDER BY nspname",
        [f"^{_GENERATION_PREFIX}[0-9]+$"]).fetchall()]
    dropped = []
    for schema in schemas:
        if schema in keep:
            continue
        try:
            with con.transaction():
                con.execute("SET LOCAL lock_timeout = '2s'")
                con.execute(f'DROP SCHEMA "{schema}" CASCADE')
                con.execute("DELETE FROM index_generations WHERE schema_name = %s", [schema])
        except psycopg.errors.LockNotAvailable:
            continue
        dropped.append(schema)
    return dropped
