"""A DuckDB replica of the current PostgreSQL generation, for the queries written for DuckDB.

The review queue, families, history and exports are DuckDB SQL over the index tables; on
PostgreSQL the reader loads the current generation into an in-memory DuckDB database and runs the
same SQL there. A generation is immutable once published, so the replica is exact until the next
one, which the reader notices by its number.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import duckdb

from linkage.index import postgres
from linkage.index.errors import IndexNotFound
from stores.database import PostgresLocation, postgres_pool

__all__ = ["current_number", "replicate"]

_ATTEMPTS = 3


def current_number(location: PostgresLocation) -> int | None:
    """The current generation's number: the cheap check a reader makes before reloading."""
    with postgres_pool(location, purpose="index reader", max_size=2).connection() as con:
        found = postgres.current_generation(con)
    return found.generation if found else None


def replicate(location: PostgresLocation,
              skip: frozenset[str] = postgres.RUN_ONLY_TABLES) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB database holding the current generation (its number in
    ``meta.generation``). Retries when a newer run drops the generation mid-load."""
    import psycopg

    for attempt in range(_ATTEMPTS):
        duck = duckdb.connect()
        con = postgres.connect(location, "index reader", autocommit=False)
        try:
            con.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
            with con.transaction(), tempfile.TemporaryDirectory(prefix="kinlink-replica-") as tmp:
                generation = postgres.current_generation(con)
                if generation is None:
                    raise IndexNotFound(f"no identity index at {location.redacted}: run "
                                        "`kinlink link --sources DIR --db URL` first")
                postgres.load_generation(con, generation, duck, "memory", Path(tmp), skip)
            duck.execute("DELETE FROM meta WHERE key = 'generation'")
            duck.execute("INSERT INTO meta VALUES ('generation', ?)", [str(generation.generation)])
            return duck
        except (psycopg.errors.UndefinedTable, psycopg.errors.InvalidSchemaName):
            duck.close()
            if attempt == _ATTEMPTS - 1:
                raise
            time.sleep(0.05)
        except BaseException:
            duck.close()
            raise
        finally:
            con.close()
    raise AssertionError("unreachable")

