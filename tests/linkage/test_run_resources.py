"""A link run's budget and its accounts: DuckDB gets the memory limit asked for, a bad limit is
refused before any work, and every stage reports its own seconds and peak memory."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from kinlink.cli import app
from linkage.pipeline import (
    INDEX_STAGES,
    LinkOptions,
    LinkRun,
    default_memory_limit,
    peak_memory_mb,
    reset_peak_memory,
)
from linkage.synth import generate_population
from stores.database import parse_location

runner = CliRunner()


def test_each_stage_reports_seconds_and_its_own_peak_memory(tmp_path: Path) -> None:
    sources = tmp_path / "sources"
    generate_population(sources, families=150, seed=4)
    db = tmp_path / "kinlink.duckdb"
    result = runner.invoke(app, ["link", "--sources", str(sources), "--db", str(db), "--json",
                                 "--memory-limit", "512MB"])
    assert result.exit_code == 0, result.output
    text = result.stdout
    summary = json.loads(text[text.index("{"): text.rindex("}") + 1])
    stages = ["read and standardise", *(name for name, _ in INDEX_STAGES)]
    assert list(summary["seconds"]) == stages
    assert list(summary["peak_mb"]) == stages
    # Python, pandas, DuckDB and Splink are loaded by then: tens of MB at the very least.
    assert all(v > 50 for v in summary["peak_mb"].values()), summary["peak_mb"]
    assert summary["memory_limit"] == "512MB"


def test_the_peak_is_reset_between_stages() -> None:
    reset_peak_memory()
    before = peak_memory_mb()
    block = bytearray(200 * 2**20)
    block[::4096] = b"x" * len(block[::4096])  # touch every page, so it is resident
    during = peak_memory_mb()
    del block
    reset_peak_memory()
    after = peak_memory_mb()
    assert during >= before + 190
    assert after < during - 150


def test_duckdb_is_given_the_limit(tmp_path: Path) -> None:
    run = LinkRun(tmp_path, parse_location(tmp_path / "x.duckdb"),
                  LinkOptions(memory_limit="300MB"), lambda _name: pytest.fail("no stage"))
    with duckdb.connect() as con:
        run.open_index(con)
        limit = con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0]
    assert limit == "286.1 MiB"  # 300 MB, as DuckDB shows it


def test_the_default_limit_is_half_the_machine(tmp_path: Path) -> None:
    import os

    total_mb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2**20
    assert default_memory_limit() == f"{total_mb // 2}MB"


def test_a_bad_limit_is_refused_before_any_work(tmp_path: Path) -> None:
    db = tmp_path / "kinlink.duckdb"
    result = runner.invoke(app, ["link", "--sources", str(tmp_path / "missing"), "--db", str(db),
                                 "--memory-limit", "lots"])
    assert result.exit_code == 2
    assert "--memory-limit must be a size such as 4GB" in result.output
    assert not db.exists()
