"""The index and decisions stores are versioned: files from before the migration ledger are
recognised as their version and upgraded in place with their contents intact and usable."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import psycopg
import pytest
from typer.testing import CliRunner

from kinlink.cli import app
from linkage.index import postgres
from linkage.index.schema import SCHEMA_VERSION, upgrade_file
from linkage.review.decisions import DecisionStore
from linkage.synth import generate_population
from stores.migrations import SchemaTooNew, applied_version

runner = CliRunner()

_V2_TABLES = ("record_fingerprints", "pair_comparisons", "record_link_history",
              "family_member_history")
_V3_COLUMNS = ("former_upn", "former_family_name", "uprn", "expected_dob")  # of source_records


@pytest.fixture(scope="module")
def population(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("migrate-pop")
    generate_population(out, families=120, seed=31)
    return out


def link(population: Path, db: Path) -> None:
    result = runner.invoke(app, ["link", "--sources", str(population), "--db", str(db), "--json"])
    assert result.exit_code == 0, result.output


def as_written_before_the_ledger(db: Path, version: int) -> None:
    """Turn a current index into what an older kinlink wrote: no ledger, none of the columns
    schema 3 added, and (version 1) none of the tables schema 2 added."""
    with duckdb.connect(str(db)) as con:
        con.execute("DROP TABLE schema_migrations")
        for column in _V3_COLUMNS:
            con.execute(f"ALTER TABLE source_records DROP COLUMN {column}")
        if version == 1:
            for table in _V2_TABLES:
                con.execute(f"DROP TABLE {table}")
        con.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", [str(version)])


def snapshot(db: Path) -> dict[str, list[tuple]]:
    with duckdb.connect(str(db), read_only=True) as con:
        return {table: sorted(con.execute(f"SELECT * FROM {table}").fetchall(), key=repr)
                for table in ("record_links", "persons", "families", "lineage", "family_members")}


def test_a_version_1_index_is_upgraded_in_place_and_stays_usable(population: Path,
                                                                 tmp_path: Path) -> None:
    db = tmp_path / "kinlink.duckdb"
    link(population, db)
    as_written_before_the_ledger(db, 1)
    before = snapshot(db)
    ids = {r[0]: r[3] for r in before["record_links"]}

    # A run over it reads an upgraded copy (readers hold the live file open) and keeps every ID.
    run_over = tmp_path / "run-over.duckdb"
    shutil.copyfile(db, run_over)
    link(population, run_over)
    assert {r[0]: r[3] for r in snapshot(run_over)["record_links"]} == ids
    assert not list(tmp_path.glob(".run-over.duckdb.build-*"))

    assert upgrade_file(db) == [2, 3]              # recognised as 1; only 2 and 3 applied
    assert snapshot(db) == before                  # contents intact
    with duckdb.connect(str(db)) as con:
        assert applied_version(con, "index") == int(SCHEMA_VERSION) == 3
        assert con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchall() \
            == [("3",)]
        # History seeded from the current links: one open row per record, from when it linked.
        open_rows = con.execute(
            "SELECT count(*) FROM record_link_history h JOIN record_links l USING (unique_id) "
            "WHERE h.valid_to IS NULL AND h.valid_from = l.linked_at "
            "AND h.person_id = l.person_id").fetchall()[0][0]
    assert open_rows == len(before["record_links"])
    assert upgrade_file(db) == []                  # idempotent

    # Usable: a run on the upgraded index carries every ID over.
    link(population, db)
    assert {r[0]: r[3] for r in snapshot(db)["record_links"]} == ids


def test_a_version_2_index_without_a_ledger_is_recognised_not_reapplied(
        population: Path, tmp_path: Path) -> None:
    db = tmp_path / "kinlink.duckdb"
    link(population, db)
    link(population, db)                           # two runs: history has content of its own
    with duckdb.connect(str(db), read_only=True) as con:
        history = con.execute("SELECT count(*) FROM record_link_history").fetchall()[0][0]
    as_written_before_the_ledger(db, 2)
    assert upgrade_file(db) == [3]
    with duckdb.connect(str(db)) as con:
        assert applied_version(con, "index") == 3
        assert con.execute("SELECT count(*) FROM record_link_history").fetchall()[0][0] == history


def test_an_index_from_a_newer_kinlink_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "kinlink.duckdb"
    upgrade_file(db)
    with duckdb.connect(str(db)) as con:
        con.execute("INSERT INTO schema_migrations (component, version, name) "
                    "VALUES ('index', 99, 'future')")
    with pytest.raises(SchemaTooNew):
        upgrade_file(db)


def test_a_decisions_file_from_before_the_ledger_keeps_its_decisions(tmp_path: Path) -> None:
    path = tmp_path / "kinlink.decisions.duckdb"
    with duckdb.connect(str(path)) as con:        # the table as kinlink wrote it before
        con.execute("""CREATE TABLE review_decisions (decision_id VARCHAR PRIMARY KEY,
            unique_id_l VARCHAR NOT NULL, unique_id_r VARCHAR NOT NULL, decision VARCHAR NOT NULL,
            decided_by VARCHAR NOT NULL, agency VARCHAR, decided_at TIMESTAMPTZ NOT NULL,
            reason VARCHAR NOT NULL, reverses VARCHAR)""")
        con.execute("INSERT INTO review_decisions VALUES ('DOLD', 'a:1', 'b:2', 'same', 'sw-1', "
                    "NULL, now(), 'old decision', NULL)")
    store = DecisionStore(path)
    store.record("a:3", "b:4", "different", "sw-2", None, "new decision")
    assert set(store.active()["decision_id"]) >= {"DOLD"}
    assert len(store.all()) == 2
    with duckdb.connect(str(path)) as con:
        assert applied_version(con, "decisions") == 1


def test_postgres_stores_migrate_once_and_record_their_versions(postgres_url: str) -> None:
    with psycopg.connect(postgres_url, autocommit=True) as con:
        assert applied_version(con, "index") == 0
        postgres.ensure_control_tables(con)
        postgres.ensure_control_tables(con)        # a second process starting: nothing to do
        assert applied_version(con, "index") == 1
        assert postgres.current_generation(con) is None
    store = DecisionStore(postgres_url)
    made = store.record("a:1", "b:2", "same", "sw-1", "council", "same child (test)")
    store.reverse(made.decision_id, "sw-2", "council", "second look (test)")
    assert store.active().empty and len(store.all()) == 2
    with psycopg.connect(postgres_url, autocommit=True) as con:
        assert applied_version(con, "decisions") == 1
        rows = con.execute("SELECT count(*) FROM schema_migrations").fetchone()[0]
    assert rows == 2


def test_a_version_1_index_without_its_keys_upgrades(population: Path, tmp_path: Path) -> None:
    """A PostgreSQL generation loaded back into DuckDB has its tables without their keys
    (linkage.index.transfer copies columns and types only), so no migration may rely on a key:
    ``INSERT OR REPLACE`` into ``meta`` needs one."""
    db = tmp_path / "kinlink.duckdb"
    link(population, db)
    as_written_before_the_ledger(db, 1)
    with duckdb.connect(str(db)) as con:
        con.execute("CREATE TABLE meta_copy AS SELECT * FROM meta")
        con.execute("DROP TABLE meta")
        con.execute("ALTER TABLE meta_copy RENAME TO meta")
    assert upgrade_file(db) == [2, 3]
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchall() \
            == [("3",)]
