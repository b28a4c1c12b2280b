"""Linkage as a scheduled job: one run at a time, and a run killed part way (kill -9) leaves the
previous index serving and lets the next run complete."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from kinlink.cli import app
from linkage.index import LinkInProgress
from linkage.index.store import run_lock
from linkage.synth import generate_population

runner = CliRunner()


@pytest.fixture(scope="module")
def population(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("lock-pop")
    generate_population(out, families=700, seed=17)
    return out


def persons(db: Path) -> dict[str, str]:
    with duckdb.connect(str(db), read_only=True) as con:
        return dict(con.execute("SELECT unique_id, person_id FROM record_links").fetchall())


def test_a_second_run_is_refused_while_one_holds_the_lock(population: Path,
                                                          tmp_path: Path) -> None:
    db = tmp_path / "kinlink.duckdb"
    with run_lock(db.resolve()):
        result = runner.invoke(app, ["link", "--sources", str(population), "--db", str(db)])
        assert result.exit_code == 2 and "another link run" in result.output
        with pytest.raises(LinkInProgress), run_lock(db.resolve()):
            pass
    assert not db.exists()


def test_kill_9_mid_run_keeps_the_previous_index_and_the_next_run_completes(
    population: Path, tmp_path: Path
) -> None:
    db = tmp_path / "kinlink.duckdb"
    assert runner.invoke(app, ["link", "--sources", str(population), "--db", str(db)]).exit_code == 0
    before = persons(db)
    child = subprocess.Popen(
        [sys.executable, "-m", "kinlink.cli", "link", "--sources", str(population), "--db",
         str(db), "--full", "--json"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while not list(tmp_path.glob(".kinlink.duckdb.build-*")) and time.monotonic() < deadline:
        assert child.poll() is None, "the run finished before it could be killed"
        time.sleep(0.02)
    time.sleep(0.3)                      # well into the run
    child.send_signal(signal.SIGKILL)
    child.wait()
    assert list(tmp_path.glob(".kinlink.duckdb.build-*")), "the killed run left its build file"
    assert persons(db) == before         # the previous index still serves, untouched
    result = runner.invoke(app, ["link", "--sources", str(population), "--db", str(db)])
    assert result.exit_code == 0, result.output
    assert not list(tmp_path.glob(".kinlink.duckdb.build-*"))   # cleaned up by the next run
    assert persons(db) == before         # same data, same persons and IDs
