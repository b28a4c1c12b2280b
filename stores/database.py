"""Where a store lives: a DuckDB file (the embedded default) or a PostgreSQL database.

Every ``--db`` and every configured store takes either a path or a ``postgresql://`` URL; this is
the one place that tells them apart, so each store decides its engine the same way. PostgreSQL
connections come from one psycopg pool per URL per process: a gateway worker serves many
concurrent requests over a handful of connections, and a pool notices and replaces a connection
the server dropped (a restart, a failover) instead of failing every later request.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

if TYPE_CHECKING:
    from psycopg_pool import ConnectionPool

__all__ = [
    "DuckDBLocation",
    "PostgresLocation",
    "Session",
    "StoreLocation",
    "close_pools",
    "connect",
    "create_once",
    "is_postgres",
    "parse_location",
    "postgres_pool",
]

_SCHEMES = ("postgresql", "postgres")


@dataclass(frozen=True)
class DuckDBLocation:
    path: Path

    def __str__(self) -> str:
        return str(self.path)


@dataclass(frozen=True)
class PostgresLocation:
    """A PostgreSQL database and, optionally, the schema a store lives in.

    ``url`` is what libpq accepts; ``redacted`` is what may appear in logs and error messages
    (the password removed), because connection strings end up in tracebacks.
    """

    url: str

    @property
    def redacted(self) -> str:
        parts = urlsplit(self.url)
        if parts.password is None:
            return self.url
        host = parts.hostname or ""
        if parts.port:
            host = f"{host}:{parts.port}"
        netloc = f"{parts.username}:***@{host}" if parts.username else host
        return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))

    def __str__(self) -> str:
        return self.redacted


StoreLocation = DuckDBLocation | PostgresLocation


def is_postgres(value: str | Path | StoreLocation) -> bool:
    if isinstance(value, PostgresLocation):
        return True
    if isinstance(value, DuckDBLocation | Path):
        return False
    return urlsplit(value).scheme in _SCHEMES


def parse_location(value: str | Path | StoreLocation) -> StoreLocation:
    """A ``--db`` value as a location: ``postgresql://…`` or ``postgres://…`` URL, else a path."""
    if isinstance(value, DuckDBLocation | PostgresLocation):
        return value
    if is_postgres(value):
        return PostgresLocation(str(value))
    return DuckDBLocation(Path(value))


_pools: dict[tuple[str, str], ConnectionPool] = {}
_pools_lock = threading.Lock()


def postgres_pool(location: PostgresLocation, *, purpose: str = "default",
                  min_size: int = 1, max_size: int = 8) -> ConnectionPool:
    """This process's pool for ``location`` (one per purpose, so a slow report cannot starve the
    audit writer of connections)."""
    from psycopg_pool import ConnectionPool

    key = (location.url, purpose)
    with _pools_lock:
        pool = _pools.get(key)
        if pool is None or pool.closed:
            pool = ConnectionPool(location.url, min_size=min_size, max_size=max_size,
                                  open=True, name=f"kinlink-{purpose}",
                                  check=ConnectionPool.check_connection)
            _pools[key] = pool
        return pool


def close_pools() -> None:
    """Close every pool this process opened (at shutdown, and between tests)."""
    with _pools_lock:
        for pool in _pools.values():
            pool.close()
        _pools.clear()


class Session:
    """One connection to either engine, speaking the project's SQL (``?`` placeholders).

    The small stores (client and staff registers, one-time tokens) use the same statements on
    both engines; only the placeholder style differs, so it is translated here rather than
    written twice. Statements must be portable: ``ON CONFLICT`` rather than ``INSERT OR
    REPLACE``, standard types, no engine-specific functions.
    """

    def __init__(self, con: Any, postgres: bool) -> None:
        self._con = con
        self.postgres = postgres

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> Any:
        if self.postgres and params is not None:
            sql = sql.replace("%", "%%").replace("?", "%s")
        return self._con.execute(sql, params) if params is not None else self._con.execute(sql)


@contextlib.contextmanager
def connect(location: StoreLocation, *, read_only: bool = False,
            purpose: str = "default") -> Iterator[Session]:
    """A session on ``location``; on PostgreSQL a pooled connection whose work commits when the
    block ends without an error (and rolls back when it raises)."""
    if isinstance(location, PostgresLocation):
        with postgres_pool(location, purpose=purpose).connection() as con:
            yield Session(con, postgres=True)
        return
    import duckdb

    local = duckdb.connect(str(location.path), read_only=read_only)
    try:
        yield Session(local, postgres=False)
    finally:
        local.close()


def create_once(session: Session, name: str, ddl: str) -> None:
    """Run ``ddl`` (CREATE … IF NOT EXISTS) on PostgreSQL under a transaction-scoped advisory lock
    named for ``name``: two workers starting together would otherwise race on the catalogue
    ("duplicate key value violates unique constraint pg_type_typname_nsp_index")."""
    exists = session.execute("SELECT to_regclass(?) IS NOT NULL", [name]).fetchone()
    if exists and exists[0]:
        return  # set up already (by `kinlink db init`, or another worker): nothing to create
    with session._con.transaction():
        session.execute("SELECT pg_advisory_xact_lock(hashtext(?))", [f"kinlink-ddl:{name}"])
        session.execute(ddl)
