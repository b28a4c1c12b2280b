"""Where pairs are scored: DuckDB in-process (the default), or Splink's Spark backend."""

ENGINES = ("duckdb", "spark")

__all__ = ["ENGINES"]
