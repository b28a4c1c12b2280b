"""Opening the identity index, and building a new one that replaces the old only on success.

A link run writes a complete new index into a sibling file and renames it over the old one when it
has finished; a run that fails or is killed part way leaves the previous index serving, untouched.
What must outlive a run (lineage, the history of which records each ID held, the comparison
vectors an incremental run reuses) is carried forward by the run from the attached previous index;
reviewer decisions live beside the index (``linkage.review.decisions``) so no swap can lose one.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import uuid
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import duckdb

__all__ = [
    "SCHEMA_VERSION",
    "IndexNotFound",
    "LinkInProgress",
    "building_index",
    "connect_index",
    "create_schema",
    "default_db_path",
    "run_lock",
]

#: 2: record_fingerprints, pair_comparisons, record_link_history, family_member_history.
SCHEMA_VERSION = "2"


class IndexNotFound(FileNotFoundError):
    """There is no identity index at the path given: run ``kinlink link`` first."""


def default_db_path() -> Path:
    return Path(os.environ.get("KINLINK_DB", "kinlink.duckdb"))


def create_schema(con: duckdb.DuckDBPyConnection) -> None:
    sql = resources.files("linkage.index").joinpath("schema.sql").read_text(encoding="utf-8")
    con.execute(sql)
    con.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", [SCHEMA_VERSION])


def connect_index(path: Path, read_only: bool = True) -> duckdb.DuckDBPyConnection:
    if not path.exists():
        raise IndexNotFound(f"no identity index at {path}: run `kinlink link --sources DIR` first")
    return duckdb.connect(str(path), read_only=read_only)


class LinkInProgress(RuntimeError):
    """Another link run holds this index's lock."""


@contextlib.contextmanager
def run_lock(path: Path) -> Iterator[None]:
    """One link run per index at a time (a nightly job and a manual run must not interleave).

    An OS file lock (``flock``) is released by the kernel when its holder dies, so a run killed
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
def building_index(path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection to a fresh index file; the previous index (if any) is attached as ``previous``.

    Holds the index's run lock throughout, and swaps the new file in only on success.
    """
    path = path.resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    with run_lock(path), _building(path) as con:
        yield con


@contextlib.contextmanager
def _building(path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    tmp = path.with_name(f".{path.name}.build-{uuid.uuid4().hex[:8]}")
    con = duckdb.connect(str(tmp))
    try:
        create_schema(con)
        if path.exists():
            con.execute(f"ATTACH '{_sql_literal(path)}' AS previous (READ_ONLY)")
        yield con
        if path.exists():
            con.execute("DETACH previous")
        con.execute("CHECKPOINT")
        con.close()
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(Exception):
            con.close()
        for leftover in (tmp, tmp.with_name(tmp.name + ".wal")):
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()
        raise


def _sql_literal(path: Path) -> str:
    return str(path).replace("'", "''")
