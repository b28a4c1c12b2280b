"""Opening the identity index, and building a new one that replaces the old only on success.

A link run writes a complete new index into a DuckDB build file, then makes it the index: on one
machine by renaming it over the old file, on PostgreSQL by publishing it as a new generation
(``linkage.index.postgres``). A run that fails or is killed part way leaves the previous index
serving, untouched. What must outlive a run (lineage, the history of which records each ID held,
the comparison vectors an incremental run reuses) is carried forward by the run from the previous
index, attached to the build as ``previous``; reviewer decisions live beside the index
(``linkage.review.decisions``) so no swap can lose one.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import shutil
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import duckdb

from linkage.index.errors import IndexNotFound, IndexUnavailable, LinkInProgress
from linkage.index.schema import SCHEMA_VERSION, create_schema, is_current, upgrade_file
from stores.database import PostgresLocation, StoreLocation, parse_location

__all__ = [
    "SCHEMA_VERSION",
    "IndexNotFound",
    "IndexUnavailable",
    "LinkInProgress",
    "building_index",
    "connect_index",
    "create_schema",
    "default_db_path",
    "default_location",
    "run_lock",
]

IndexLocation = str | Path | StoreLocation

_log = logging.getLogger(__name__)


def default_db_path() -> Path:
    return Path(os.environ.get("KINLINK_DB", "kinlink.duckdb"))


def default_location() -> StoreLocation:
    """``KINLINK_DB`` (a path or a ``postgresql://`` URL), else ``kinlink.duckdb`` here."""
    return parse_location(os.environ.get("KINLINK_DB", "kinlink.duckdb"))


def connect_index(location: IndexLocation, read_only: bool = True) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection onto the current index, whatever engine keeps it.

    On PostgreSQL that is an in-memory replica of the current generation (less the tables only a
    link run reads), so every query written for DuckDB works unchanged.
    """
    where = parse_location(location)
    if isinstance(where, PostgresLocation):
        from linkage.index.replica import replicate

        return replicate(where)
    if not where.path.exists():
        raise IndexNotFound(
            f"no identity index at {where.path}: run `kinlink link --sources DIR` first")
    return duckdb.connect(str(where.path), read_only=read_only)


@contextlib.contextmanager
def run_lock(location: IndexLocation) -> Iterator[None]:
    """One link run per index at a time (a nightly job and a manual run must not interleave)."""
    where = parse_location(location)
    if isinstance(where, PostgresLocation):
        from linkage.index import postgres

        with postgres.run_lock(where):
            yield
        return
    with _file_lock(where.path):
        yield


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """An OS file lock (``flock``) is released by the kernel when its holder dies, so a run killed
    with -9 never leaves the index locked; the next run then removes the half-written build
    files the dead run left behind.
    """
    lock_path = path.with_name(f".{path.name}.lock")
    handle = open(lock_path, "a+")  # noqa: SIM115 - held for the whole run
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise LinkInProgress(f"another link run ({holder}) is writing {path}; "
                                 "try again when it has finished") from exc
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}")
        handle.flush()
        for stale in path.parent.glob(f".{path.name}.build-*"):
            with contextlib.suppress(FileNotFoundError):
                stale.unlink()
        yield
    finally:
        handle.close()


@contextlib.contextmanager
def building_index(location: IndexLocation) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection to a fresh index build; the previous index (if any) is attached as
    ``previous``. Holds the index's run lock throughout, and makes the build the index only on
    success.
    """
    where = parse_location(location)
    if isinstance(where, PostgresLocation):
        with _building_postgres(where) as con:
            yield con
        return
    path = where.path.resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    with _file_lock(path), _building_file(path) as con:
        yield con


@contextlib.contextmanager
def _building_file(path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    tmp = path.with_name(f".{path.name}.build-{uuid.uuid4().hex[:8]}")
    con = duckdb.connect(str(tmp))
    try:
        create_schema(con)
        if path.exists():
            con.execute(f"ATTACH '{_sql_literal(_previous_at_newest(path, tmp))}' "
                        "AS previous (READ_ONLY)")
        yield con
        started = time.perf_counter()
        if path.exists():
            con.execute("DETACH previous")
        con.execute("CHECKPOINT")
        con.close()
        os.replace(tmp, path)
        _log.info("identity index swapped in (%.2f s)", time.perf_counter() - started)
    except BaseException:
        with contextlib.suppress(Exception):
            con.close()
        raise
    finally:
        for leftover in (tmp, tmp.with_name(tmp.name + ".wal"),
                         tmp.with_name(tmp.name + ".previous"),
                         tmp.with_name(tmp.name + ".previous.wal")):
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()


def _previous_at_newest(path: Path, build: Path) -> Path:
    """The previous index, or (written by an older kinlink) an upgraded copy of it: the live file
    stays untouched, as readers hold it open."""
    if is_current(path):
        return path
    copy = build.with_name(build.name + ".previous")
    shutil.copyfile(path, copy)
    upgrade_file(copy)
    return copy


@contextlib.contextmanager
def _building_postgres(location: PostgresLocation) -> Iterator[duckdb.DuckDBPyConnection]:
    """Build locally in DuckDB with the current generation as ``previous``, then publish."""
    from linkage.index import postgres

    with postgres.run_lock(location) as lock:
        postgres.ensure_control_tables(lock)
        scratch = postgres.scratch_dir(location)
        postgres.clear_scratch(scratch)       # what a run killed part way left here
        postgres.drop_stale_generations(lock)
        current = postgres.current_generation(lock)
        con = duckdb.connect(str(scratch / "build.duckdb"))
        try:
            create_schema(con)
            if current is not None:
                previous = scratch / "previous.duckdb"
                with duckdb.connect(str(previous)) as copy:
                    postgres.load_generation(lock, current, copy, "previous", scratch)
                upgrade_file(previous)
                con.execute(f"ATTACH '{_sql_literal(previous)}' AS previous (READ_ONLY)")
            yield con
            if current is not None:
                con.execute("DETACH previous")
            generation, seconds = postgres.publish(location, con, scratch)
            _log.info("identity index generation %d published to %s (%.2f s)",
                      generation.generation, location.redacted, seconds)
        finally:
            with contextlib.suppress(Exception):
                con.close()
            postgres.clear_scratch(scratch)


def _sql_literal(path: Path) -> str:
    return str(path).replace("'", "''")

