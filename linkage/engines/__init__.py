"""Where pairs are scored: DuckDB in-process (the default), or Splink's Spark backend."""

from __future__ import annotations

import importlib.util
import shutil

ENGINES = ("duckdb", "spark")

__all__ = ["ENGINES", "EngineUnavailable", "require_engine"]


class EngineUnavailable(RuntimeError):
    """The engine asked for cannot run on this machine, with the line that installs it."""


def require_engine(engine: str) -> None:
    """Refuse an engine before any work is done when what it needs is missing.

    A Spark run otherwise reads and standardises every extract and fits the model before it first
    imports pyspark, so a missing extra cost minutes and ended in a traceback.
    """
    if engine not in ENGINES:
        raise EngineUnavailable(f"--engine must be one of {', '.join(ENGINES)}, not {engine!r}")
    if engine != "spark":
        return
    if importlib.util.find_spec("pyspark") is None:
        raise EngineUnavailable(
            "--engine spark needs the 'spark' extra: pip install 'kinlink[spark]' "
            "(from a clone: .venv/bin/pip install -e '.[spark]')")
    if shutil.which("java") is None:
        raise EngineUnavailable(
            "--engine spark needs a Java 17 runtime on PATH (Debian: apt-get install "
            "openjdk-17-jre-headless)")
