"""The identity index's schema, versioned: migrations for both engines, and the older files.

A DuckDB index is built fresh by every run (at the newest version), but the previous index a run
carries IDs, lineage and history from may have been written by an older kinlink: it is upgraded in
place, under the run lock, before the run reads it. Index files from before the migration ledger
recorded their version in ``meta.schema_version``; such a file is recognised as that version (the
ledger is filled in, nothing re-applied) and upgraded from there.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb

from stores.migrations import applied_version, available, migrate

__all__ = [
    "INDEX_COMPONENT",
    "SCHEMA_VERSION",
    "create_schema",
    "is_current",
    "migrate_index",
    "upgrade_file",
]

INDEX_COMPONENT = "index"

#: The newest DuckDB index migration; kept as a string, as ``meta.schema_version`` always was.
SCHEMA_VERSION = str(available("linkage.index", "duckdb")[-1].version)


def create_schema(con: duckdb.DuckDBPyConnection) -> None:
    """A new, empty index at the newest version (a link run's build file)."""
    migrate_index(con)


def migrate_index(con: duckdb.DuckDBPyConnection, target: int | None = None) -> list[int]:
    """Bring a DuckDB index up to ``target`` (default newest); returns the versions applied."""
    _recognise_legacy(con)
    return migrate(con, INDEX_COMPONENT, "linkage.index", "duckdb", target)


def upgrade_file(path: Path) -> list[int]:
    """Upgrade an index file in place (the caller holds the run lock)."""
    with duckdb.connect(str(path)) as con:
        return migrate_index(con)


def is_current(path: Path) -> bool:
    """Whether an index file is at the newest version, asked read-only: the live index is held
    open read-only by the gateway, and DuckDB would refuse a writer."""
    with duckdb.connect(str(path), read_only=True) as con:
        has_ledger = con.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database() "
            "AND table_name = 'schema_migrations'").fetchall()[0][0]
        if not has_ledger:
            return False
        row = con.execute("SELECT max(version) FROM schema_migrations WHERE component = ?",
                          [INDEX_COMPONENT]).fetchall()
    return bool(row and row[0][0] is not None and str(row[0][0]) == SCHEMA_VERSION)


def _recognise_legacy(con: duckdb.DuckDBPyConnection) -> None:
    """Fill in the ledger of an index written before it existed, from ``meta.schema_version``."""
    if applied_version(con, INDEX_COMPONENT):
        return
    has_meta = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database() "
        "AND schema_name = 'main' AND table_name = 'meta'"
    ).fetchall()[0][0]
    if not has_meta:
        return
    row = con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchall()
    if not row:
        return
    version = _legacy_version(row[0][0])
    known = available("linkage.index", "duckdb")
    for step in known[:version]:
        con.execute(
            "INSERT INTO schema_migrations (component, version, name) VALUES (?, ?, ?)",
            [INDEX_COMPONENT, step.version, step.name],
        )


def _legacy_version(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise RuntimeError(f"the index's meta.schema_version is {value!r}, not a version number: "
                           "is this a kinlink identity index?") from exc
