"""Moving index tables between DuckDB and PostgreSQL, column types intact, as fast as COPY goes.

Linkage computes in DuckDB on either engine; PostgreSQL only stores and shares the result. So a
table travels as CSV through ``COPY`` (DuckDB writes and reads CSV at memory speed; PostgreSQL's
``COPY`` is its fastest load path), each column mapped to the nearest PostgreSQL type, and each
column's DuckDB type recorded so the table loads back exactly as it was built: lists, structs
and maps travel as JSON, unsigned and huge integers as numeric. Doubles are written and read in
their shortest exact form, so scores (and the IDs that follow from them) survive a round trip.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

__all__ = ["Column", "build_tables", "copy_to_postgres", "load_into_duckdb"]

_CHUNK = 1 << 20

_SCALAR = {
    "BOOLEAN": "boolean",
    "TINYINT": "smallint",
    "UTINYINT": "smallint",
    "SMALLINT": "smallint",
    "USMALLINT": "integer",
    "INTEGER": "integer",
    "UINTEGER": "bigint",
    "BIGINT": "bigint",
    "UBIGINT": "numeric",
    "HUGEINT": "numeric",
    "UHUGEINT": "numeric",
    "FLOAT": "real",
    "DOUBLE": "double precision",
    "DATE": "date",
    "TIMESTAMP": "timestamp",
    "TIMESTAMP WITH TIME ZONE": "timestamptz",
    "TIME": "time",
    "VARCHAR": "text",
    "JSON": "text",
    "UUID": "uuid",
    "INTERVAL": "interval",
}
_NESTED = re.compile(r"(\[\d*\]$)|^(STRUCT|MAP|UNION)\(")
_DECIMAL = re.compile(r"^DECIMAL\(\d+,\d+\)$")


@dataclass(frozen=True)
class Column:
    table_name: str
    ordinal: int
    column_name: str
    duckdb_type: str

    @property
    def nested(self) -> bool:
        return bool(_NESTED.search(self.duckdb_type))

    @property
    def postgres_type(self) -> str:
        if self.nested:
            return "jsonb"
        if _DECIMAL.match(self.duckdb_type):
            return self.duckdb_type.lower().replace("decimal", "numeric")
        return _SCALAR.get(self.duckdb_type, "text")


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def build_tables(con: duckdb.DuckDBPyConnection) -> dict[str, list[Column]]:
    """The build's index tables and their columns (Splink's working tables excepted)."""
    rows = con.execute(
        """SELECT c.table_name, c.column_index, c.column_name, c.data_type
           FROM duckdb_columns() c JOIN duckdb_tables() t
             ON t.database_name = c.database_name AND t.schema_name = c.schema_name
            AND t.table_name = c.table_name
           WHERE c.database_name = current_database() AND c.schema_name = 'main'
             AND NOT t.temporary AND c.table_name NOT LIKE '\\_\\_splink%' ESCAPE '\\'
           ORDER BY c.table_name, c.column_index"""
    ).fetchall()
    tables: dict[str, list[Column]] = {}
    for table, ordinal, name, data_type in rows:
        tables.setdefault(table, []).append(Column(table, int(ordinal), name, data_type))
    return tables


def copy_to_postgres(duck: duckdb.DuckDBPyConnection, pg: Any, schema: str,
                     tables: dict[str, list[Column]], scratch: Path) -> dict[str, int]:
    """Create each table in ``schema`` and fill it from the DuckDB build; rows per table.

    ``pg`` is a psycopg connection inside the caller's transaction: nothing is visible to anyone
    else until the caller commits.
    """
    counts = {}
    for table, columns in tables.items():
        ddl = ", ".join(f"{_ident(c.column_name)} {c.postgres_type}" for c in columns)
        pg.execute(f"CREATE TABLE {_ident(schema)}.{_ident(table)} ({ddl})")
        exprs = ", ".join(
            f"to_json({_ident(c.column_name)})" if c.nested else _ident(c.column_name)
            for c in columns)
        path = scratch / f"{table}.csv"
        duck.execute(f"COPY (SELECT {exprs} FROM main.{_ident(table)}) "
                     f"TO '{_literal(path)}' (FORMAT csv, HEADER false)")
        with pg.cursor() as cur, cur.copy(
                f"COPY {_ident(schema)}.{_ident(table)} FROM STDIN (FORMAT csv)") as copy, \
                open(path, "rb") as handle:
            while chunk := handle.read(_CHUNK):
                copy.write(chunk)
        counts[table] = int(cur.rowcount)
        path.unlink()
    return counts


def load_into_duckdb(pg: Any, schema: str, columns: Iterable[Column],
                     duck: duckdb.DuckDBPyConnection, database: str, scratch: Path,
                     tables: set[str] | None = None) -> None:
    """Recreate a published generation's tables (or only ``tables``) in a DuckDB database."""
    by_table: dict[str, list[Column]] = {}
    for column in sorted(columns, key=lambda c: (c.table_name, c.ordinal)):
        if tables is None or column.table_name in tables:
            by_table.setdefault(column.table_name, []).append(column)
    for table, cols in by_table.items():
        path = scratch / f"{table}.load.csv"
        exprs = ", ".join(f"{_ident(c.column_name)}::text" if c.nested else _ident(c.column_name)
                          for c in cols)
        with open(path, "wb") as handle, pg.cursor() as cur, cur.copy(
                f"COPY (SELECT {exprs} FROM {_ident(schema)}.{_ident(table)}) "
                "TO STDOUT (FORMAT csv)") as copy:
            for chunk in copy:
                handle.write(chunk)
        target = f"{_ident(database)}.main.{_ident(table)}"
        duck.execute(f"CREATE TABLE {target} ("
                     + ", ".join(f"{_ident(c.column_name)} {c.duckdb_type}" for c in cols) + ")")
        raw = "{" + ", ".join(f"'c{i}': 'VARCHAR'" for i in range(len(cols))) + "}"
        casts = ", ".join(
            f"CAST(CAST(c{i} AS JSON) AS {c.duckdb_type})" if c.nested
            else f"CAST(c{i} AS {c.duckdb_type})"
            for i, c in enumerate(cols))
        if path.stat().st_size:  # an empty table (no review candidates, say) is an empty file
            duck.execute(f"INSERT INTO {target} SELECT {casts} FROM read_csv('{_literal(path)}', "
                         f"header = false, allow_quoted_nulls = false, columns = {raw})")
        path.unlink()


def _literal(path: Path) -> str:
    return str(path).replace("'", "''")
