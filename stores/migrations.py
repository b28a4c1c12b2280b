"""Versioned schema migrations, one runner for every store and both engines.

A store keeps its migrations as numbered SQL files, ``<package>/migrations/<engine>/NNNN_what.sql``
(engine ``duckdb`` or ``postgresql``), and records each one applied in ``schema_migrations``. An
existing store is upgraded in place by applying, in order and each in its own transaction, the
files it has not seen; a store is never downgraded, and one newer than this code is refused
rather than written with an old idea of its tables.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from typing import Any, Literal

__all__ = ["Engine", "Migration", "SchemaTooNew", "applied_version", "available", "migrate"]

Engine = Literal["duckdb", "postgresql"]

_FILE = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")

_LEDGER = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    component VARCHAR NOT NULL,
    version INTEGER NOT NULL,
    name VARCHAR NOT NULL,
    applied_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT current_timestamp,
    PRIMARY KEY (component, version)
)
"""


class SchemaTooNew(RuntimeError):
    """The store was migrated by a newer kinlink than this one."""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def available(package: str, engine: Engine) -> list[Migration]:
    """The migrations shipped in ``package`` for ``engine``, in version order."""
    folder = resources.files(package).joinpath("migrations", engine)
    found = []
    for entry in folder.iterdir():
        match = _FILE.match(entry.name)
        if match:
            found.append(Migration(int(match[1]), match[2], entry.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if versions != list(range(1, len(versions) + 1)):
        raise RuntimeError(f"{package} {engine} migrations are not numbered 1..n: {versions}")
    return found


def applied_version(con: Any, component: str) -> int:
    """The highest migration applied to ``component`` (0 for a new store)."""
    con.execute(_LEDGER)
    row = con.execute("SELECT max(version) FROM schema_migrations WHERE component = %s"
                      if _is_psycopg(con) else
                      "SELECT max(version) FROM schema_migrations WHERE component = ?",
                      [component]).fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def migrate(con: Any, component: str, package: str, engine: Engine,
            target: int | None = None) -> list[int]:
    """Bring ``component`` up to ``target`` (default: the newest); returns the versions applied.

    ``con`` is a DuckDB connection or a psycopg connection in autocommit mode. Each migration and
    its ledger row commit together, so a failure leaves the store at the last whole version.
    """
    steps = available(package, engine)
    newest = steps[-1].version if steps else 0
    target = newest if target is None else target
    if _is_psycopg(con) and _recorded_version(con, component) >= target:
        # Up to date: read only. A gateway's database role may not create anything, not even
        # with IF NOT EXISTS (PostgreSQL checks the schema privilege first).
        return []
    current = applied_version(con, component)
    if current > newest:
        raise SchemaTooNew(f"{component} store is at schema version {current}; this kinlink "
                           f"knows up to {newest}: upgrade kinlink before using it")
    done = []
    for step in steps:
        if current < step.version <= target:
            _apply(con, component, step)
            done.append(step.version)
    return done


def _apply(con: Any, component: str, step: Migration) -> None:
    if _is_psycopg(con):
        with con.transaction():
            con.execute(step.sql)
            con.execute("INSERT INTO schema_migrations (component, version, name) "
                        "VALUES (%s, %s, %s)", [component, step.version, step.name])
        return
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(step.sql)
        con.execute("INSERT INTO schema_migrations (component, version, name) VALUES (?, ?, ?)",
                    [component, step.version, step.name])
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


def _recorded_version(con: Any, component: str) -> int:
    """The ledger's version for ``component`` without creating the ledger (PostgreSQL)."""
    exists = con.execute("SELECT to_regclass('schema_migrations') IS NOT NULL").fetchone()
    if not exists or not exists[0]:
        return 0
    row = con.execute("SELECT max(version) FROM schema_migrations WHERE component = %s",
                      [component]).fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def _is_psycopg(con: Any) -> bool:
    return type(con).__module__.startswith("psycopg")
