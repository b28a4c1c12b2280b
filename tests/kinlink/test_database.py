"""Store locations, and migrations run the same way on both engines."""

from __future__ import annotations

from pathlib import Path

import duckdb
import psycopg
import pytest

from stores.database import DuckDBLocation, PostgresLocation, parse_location, postgres_pool
from stores.migrations import applied_version


def test_a_path_is_duckdb_and_a_url_is_postgres() -> None:
    assert parse_location("data/kinlink.duckdb") == DuckDBLocation(Path("data/kinlink.duckdb"))
    assert isinstance(parse_location("postgresql://u:p@h/db"), PostgresLocation)
    assert isinstance(parse_location("postgres://h/db"), PostgresLocation)


def test_a_password_never_reaches_a_message() -> None:
    location = parse_location("postgresql://kinlink:s3cret@db.internal:5432/kinlink")
    assert "s3cret" not in str(location)
    assert str(location) == "postgresql://kinlink:***@db.internal:5432/kinlink"


def test_the_test_server_is_real_and_pooled(postgres_url: str) -> None:
    pool = postgres_pool(PostgresLocation(postgres_url), purpose="test")
    with pool.connection() as con:
        assert con.execute("SELECT current_database()").fetchone()[0] == postgres_url.rsplit("/", 1)[1]


@pytest.mark.parametrize("engine", ["duckdb", "postgresql"])
def test_a_new_store_is_at_version_zero(engine: str, tmp_path: Path, postgres_url: str) -> None:
    if engine == "duckdb":
        con = duckdb.connect(str(tmp_path / "s.duckdb"))
    else:
        con = psycopg.connect(postgres_url, autocommit=True)
    with con:
        assert applied_version(con, "anything") == 0
