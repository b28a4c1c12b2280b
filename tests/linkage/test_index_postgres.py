"""The identity index on PostgreSQL: the same persons as on DuckDB, generations published whole,
one run at a time across processes, a run killed mid-publish harmless, decisions kept."""

from __future__ import annotations

import csv
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import psycopg
import pytest
from typer.testing import CliRunner

from kinlink.cli import app
from linkage.index import LinkInProgress, connect_index
from linkage.index.reader import IdentityIndex
from linkage.index.store import run_lock
from linkage.review.decisions import DecisionStore, decisions_path_for
from linkage.synth import generate_population

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def population(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("pg-pop")
    generate_population(out, families=250, seed=23)
    return out


def link(population: Path, db: str | Path, *extra: str) -> None:
    result = runner.invoke(app, ["link", "--sources", str(population), "--db", str(db), "--json",
                                 *extra])
    assert result.exit_code == 0, result.output


def links(db: str | Path) -> dict[str, tuple[str, str]]:
    con = connect_index(db)
    try:
        return {r[0]: (r[1], r[2]) for r in con.execute(
            "SELECT unique_id, person_id, family_id FROM record_links").fetchall()}
    finally:
        con.close()


def partition(mapping: dict[str, tuple[str, str]], which: int) -> set[frozenset[str]]:
    groups: dict[str, set[str]] = {}
    for uid, ids in mapping.items():
        groups.setdefault(ids[which], set()).add(uid)
    return {frozenset(g) for g in groups.values()}


def generations(url: str) -> tuple[int, list[str]]:
    with psycopg.connect(url) as con:
        current = con.execute("SELECT generation FROM index_current").fetchone()[0]
        schemas = [r[0] for r in con.execute(
            "SELECT nspname FROM pg_namespace WHERE nspname LIKE 'index_g%' ORDER BY 1")]
    return current, schemas


def test_postgres_links_the_same_persons_as_duckdb_and_a_rerun_keeps_ids(
        population: Path, postgres_url: str, tmp_path: Path) -> None:
    duck = tmp_path / "kinlink.duckdb"
    link(population, duck)
    link(population, postgres_url)
    on_duckdb, on_postgres = links(duck), links(postgres_url)
    assert on_postgres.keys() == on_duckdb.keys()
    assert partition(on_postgres, 0) == partition(on_duckdb, 0)       # same persons
    assert partition(on_postgres, 1) == partition(on_duckdb, 1)       # same families

    first_generation, _ = generations(postgres_url)
    link(population, postgres_url)                 # incremental: comparison vectors came back
    assert links(postgres_url) == on_postgres      # every person and family ID kept
    current, schemas = generations(postgres_url)
    assert current == first_generation + 1
    assert len(schemas) == 2                       # the current generation and the one before
    link(population, postgres_url, "--full")
    assert links(postgres_url) == on_postgres
    assert len(generations(postgres_url)[1]) == 2  # older generations are dropped

    # What a run reads back from PostgreSQL is what it wrote: history, lineage and vectors.
    con = connect_index(postgres_url)
    try:
        history = con.execute("SELECT count(*) FROM record_link_history").fetchone()[0]
        runs = con.execute("SELECT count(*) FROM runs").fetchone()[0]
    finally:
        con.close()
    assert history == len(on_postgres) and runs == 1


def test_the_gateway_reader_follows_new_generations(population: Path, postgres_url: str,
                                                    tmp_path: Path) -> None:
    link(population, postgres_url)
    mapping = links(postgres_url)
    index = IdentityIndex(postgres_url, recheck_seconds=0)
    person = max(partition(mapping, 0), key=len)
    person_id = mapping[next(iter(person))][0]
    assert index.resolve(person_id) == person_id
    held = {f"{r.source}:{r.record_id}" for r in index.records(person_id)}
    assert held == set(person)
    family = index.family_of(person_id)
    assert person_id in {m["person_id"] for m in family}
    assert index.review_queue_length() >= 0
    assert index.families().get(person_id, frozenset()) == {
        m["person_id"] for m in family} - {person_id}

    # A new run without one of this person's records: the reader notices the new generation.
    smaller = tmp_path / "smaller"
    shutil.copytree(population, smaller)
    gone = sorted(person)[0]
    withdraw(smaller, gone.split(":", 1)[1])
    link(smaller, postgres_url)
    held_now = {f"{r.source}:{r.record_id}" for r in index.records(person_id)}
    assert gone not in held_now and held_now == set(person) - {gone}


def withdraw(folder: Path, record_id: str) -> None:
    """Remove one record from the extract that holds it (its first column is the record ID)."""
    for path in sorted(folder.glob("*.csv")):
        with open(path, encoding="utf-8", newline="") as handle:
            rows = list(csv.reader(handle))
        kept = [row for row in rows[1:] if row[0] != record_id]
        if len(kept) < len(rows) - 1 and "relationships" not in path.stem:
            with open(path, "w", encoding="utf-8", newline="") as handle:
                csv.writer(handle).writerows([rows[0], *kept])
            return
    raise AssertionError(f"record {record_id} not found")


def test_one_link_run_at_a_time_across_processes(population: Path, postgres_url: str) -> None:
    scheme, rest = postgres_url.split("://", 1)
    with_password = f"{scheme}://postgres:s3cret-pw@{rest.split('@', 1)[1]}"
    with run_lock(postgres_url):
        with pytest.raises(LinkInProgress), run_lock(postgres_url):
            pass
        child = subprocess.run(
            [sys.executable, "-m", "kinlink.cli", "link", "--sources", str(population)],
            env={**os.environ, "KINLINK_DB": with_password, "PYTHONPATH": str(ROOT)},
            capture_output=True, text=True, timeout=120)
    assert child.returncode == 2
    assert "another link run" in child.stderr
    assert "s3cret-pw" not in child.stderr + child.stdout
    with run_lock(postgres_url):                   # released with the holder's session
        pass


def test_kill_9_during_publish_keeps_the_previous_generation(population: Path,
                                                              postgres_url: str) -> None:
    link(population, postgres_url)
    before = links(postgres_url)
    serving, _ = generations(postgres_url)
    child = subprocess.Popen(
        [sys.executable, "-m", "kinlink.cli", "link", "--sources", str(population), "--db",
         postgres_url, "--full", "--json"],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with psycopg.connect(postgres_url, autocommit=True) as watcher:
        deadline = time.monotonic() + 120
        while not watcher.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = "
                "'kinlink link (publish)' AND query LIKE 'COPY%'").fetchone()[0]:
            assert child.poll() is None, "the run finished before it could be killed"
            assert time.monotonic() < deadline
            time.sleep(0.005)
        child.send_signal(signal.SIGKILL)
        child.wait()
        assert generations(postgres_url)[0] == serving   # the swap never happened
        assert links(postgres_url) == before             # the previous generation serves
        # The server notices the dead client and rolls its transaction back.
        deadline = time.monotonic() + 30
        while watcher.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name "
                              "LIKE 'kinlink link%'").fetchone()[0]:
            assert time.monotonic() < deadline
            time.sleep(0.05)
    link(population, postgres_url)
    assert links(postgres_url) == before
    current, schemas = generations(postgres_url)
    assert current > serving and len(schemas) == 2


def test_decisions_live_in_postgres_and_survive_reruns(population: Path,
                                                       postgres_url: str) -> None:
    link(population, postgres_url)
    mapping = links(postgres_url)
    person = sorted(max(partition(mapping, 0), key=len))
    left, right = person[0], person[1]
    result = runner.invoke(app, ["review", "decide", left, right, "--decision", "different",
                                 "--by", "sw-1", "--reason", "different children (test)",
                                 "--db", postgres_url])
    assert result.exit_code == 0, result.output
    link(population, postgres_url)
    after = links(postgres_url)
    assert after[left][0] != after[right][0]
    link(population, postgres_url)
    assert links(postgres_url)[left][0] != links(postgres_url)[right][0]
    store = DecisionStore(decisions_path_for(postgres_url))
    assert list(store.active()["decision"]) == ["different"]
    with psycopg.connect(postgres_url) as con, pytest.raises(psycopg.errors.RaiseException):
        con.execute("DELETE FROM review_decisions")
    listing = runner.invoke(app, ["review", "list", "--db", postgres_url])
    assert listing.exit_code == 0, listing.output


def test_commands_read_a_postgres_index(population: Path, postgres_url: str,
                                        tmp_path: Path) -> None:
    link(population, postgres_url)
    out = tmp_path / "identities.csv"
    result = runner.invoke(app, ["export", "identities", "--out", str(out), "--db", postgres_url])
    assert result.exit_code == 0, result.output
    exported = duckdb.sql(f"SELECT count(*) FROM read_csv('{out}')").fetchall()[0][0]
    assert exported == len(links(postgres_url))
    truth = population / "truth" / "truth.csv"
    result = runner.invoke(app, ["evaluate", "--truth", str(truth), "--db", postgres_url,
                                 "--json"])
    assert result.exit_code == 0, result.output
    person_id = next(iter(links(postgres_url).values()))[0]
    result = runner.invoke(app, ["history", person_id, "--db", postgres_url, "--json"])
    assert result.exit_code == 0, result.output
    assert person_id in result.output
