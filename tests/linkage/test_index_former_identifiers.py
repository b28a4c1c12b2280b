"""Former UPN, former surname, UPRN and expected date of birth are kept with each source record in
the index (schema 3), shown where the index shows source records (a person's records, the review
pair), never kept for an adopted child's pre-adoption identity, and an index from before schema 3
is read without them on either engine, then filled in by the next run."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pandas as pd
import psycopg
import pytest

from gateway.logging import redact_personal_data
from linkage.index import connect_index
from linkage.index.reader import IdentityIndex
from linkage.index.schema import SCHEMA_VERSION, upgrade_file
from linkage.pipeline import link_sources
from linkage.review.queue import pair_side_by_side
from linkage.synth import generate_population
from linkage.synth.identifiers import UpnIssuer
from stores.migrations import applied_version

pytestmark = pytest.mark.slow

SCHEMA_3 = ("former_upn", "former_family_name", "uprn", "expected_dob")


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, dict[str, object]]]:
    """A population whose social-care extract carries the four fields on three records, one of
    them adopted; returns the folder and what each record's fields should read as."""
    out = tmp_path_factory.mktemp("former-ids")
    generate_population(out, families=30, seed=8)
    path = out / "social_care.csv"
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    upns = UpnIssuer()
    expected: dict[str, dict[str, object]] = {}
    for n, row in enumerate([1, 2, 3]):
        former = upns.issue("999", "4001", 2012)
        frame.loc[row, "former_upn"] = former.lower()       # cleaned to upper case on reading
        frame.loc[row, "former_family_name"] = f"Formerly{n}"
        frame.loc[row, "uprn"] = f"0010{n}2345"              # leading zeros dropped
        frame.loc[row, "expected_dob"] = frame.loc[row, "dob"]
        frame.loc[row, "restriction"] = "adoption" if n == 1 else ""
        expected[f"social_care:{frame.loc[row, 'record_id']}"] = {
            "former_upn": None if n == 1 else former,
            "former_family_name": None if n == 1 else f"Formerly{n}",
            "uprn": f"10{n}2345", "expected_dob": frame.loc[row, "dob"]}
    frame.to_csv(path, index=False)
    return out, expected


def stored(db: str | Path, unique_ids: list[str]) -> dict[str, dict[str, object]]:
    con = connect_index(db)
    try:
        rows = con.execute(f"SELECT unique_id, {', '.join(SCHEMA_3)} FROM source_records "
                           "WHERE unique_id IN (SELECT unnest(?))", [unique_ids]).fetchall()
    finally:
        con.close()
    return {r[0]: dict(zip(SCHEMA_3, r[1:], strict=True)) for r in rows}


def shown(index: IdentityIndex, db: str | Path, unique_id: str) -> dict[str, object]:
    """The four fields as the person view's records carry them (identity and address)."""
    con = connect_index(db)
    try:
        person = con.execute("SELECT person_id FROM record_links WHERE unique_id = ?",
                             [unique_id]).fetchall()[0][0]
    finally:
        con.close()
    [record] = [r for r in index.records(person) if f"{r.source}:{r.record_id}" == unique_id]
    return {**{k: record.identity[k] for k in ("former_upn", "former_family_name",
                                               "expected_dob")},
            "uprn": record.address["uprn"]}


def test_the_fields_are_stored_and_shown_and_an_adopted_childs_former_identity_is_not(
        sources: tuple[Path, dict[str, dict[str, object]]], tmp_path: Path) -> None:
    folder, expected = sources
    db = tmp_path / "index.duckdb"
    link_sources(folder, db)
    assert stored(db, list(expected)) == expected
    index = IdentityIndex(db, recheck_seconds=0)
    assert {uid: shown(index, db, uid) for uid in expected} == expected
    with duckdb.connect(str(db), read_only=True) as con:
        left, right = con.execute(
            "SELECT unique_id_l, unique_id_r FROM person_edges LIMIT 1").fetchall()[0]
        some = next(iter(expected))
        table = pair_side_by_side(con, some, left if left != some else right)
    rows = {r.field: r for r in table.itertuples()}
    assert set(SCHEMA_3) <= set(rows)
    assert rows["uprn"].left == expected[some]["uprn"]
    assert rows["former_upn"].left == expected[some]["former_upn"]


def as_schema_2(con: duckdb.DuckDBPyConnection) -> None:
    """What kinlink wrote before schema 3: no such columns, the ledger and meta at 2."""
    for column in SCHEMA_3:
        con.execute(f"ALTER TABLE source_records DROP COLUMN {column}")
    con.execute("DELETE FROM schema_migrations WHERE component = 'index' AND version = 3")
    con.execute("UPDATE meta SET value = '2' WHERE key = 'schema_version'")


def test_a_schema_2_file_is_read_without_the_fields_then_upgraded_and_filled(
        sources: tuple[Path, dict[str, dict[str, object]]], tmp_path: Path) -> None:
    folder, expected = sources
    db = tmp_path / "index.duckdb"
    link_sources(folder, db)
    with duckdb.connect(str(db)) as con:
        as_schema_2(con)
        left, right = con.execute(
            "SELECT unique_id_l, unique_id_r FROM person_edges LIMIT 1").fetchall()[0]
    # The gateway (another process: here a copy) holds the live file read-only and serves it
    # as it is.
    live = tmp_path / "live.duckdb"
    shutil.copyfile(db, live)
    index = IdentityIndex(live, recheck_seconds=0)
    some = next(iter(expected))
    assert shown(index, live, some) == dict.fromkeys(SCHEMA_3)
    with duckdb.connect(str(live), read_only=True) as con:
        fields = set(pair_side_by_side(con, left, right)["field"])
    assert "family_name" in fields and not fields & set(SCHEMA_3)

    assert SCHEMA_VERSION == "3"
    assert upgrade_file(db) == [3]
    assert stored(db, list(expected)) == dict.fromkeys(expected, dict.fromkeys(SCHEMA_3))
    link_sources(folder, db)
    assert stored(db, list(expected)) == expected


def test_on_postgresql_an_older_generation_is_read_then_the_next_run_publishes_the_fields(
        sources: tuple[Path, dict[str, dict[str, object]]], postgres_url: str) -> None:
    folder, expected = sources
    link_sources(folder, postgres_url)
    with psycopg.connect(postgres_url, autocommit=True) as con:
        generation, schema = con.execute(
            "SELECT g.generation, g.schema_name FROM index_current JOIN index_generations g "
            "USING (generation)").fetchone()
        for column in SCHEMA_3:
            con.execute(f'ALTER TABLE "{schema}".source_records DROP COLUMN {column}')
        con.execute("DELETE FROM index_columns WHERE generation = %s AND "
                    "table_name = 'source_records' AND column_name = ANY(%s)",
                    [generation, list(SCHEMA_3)])
        con.execute(f'DELETE FROM "{schema}".schema_migrations WHERE version = 3')
        con.execute(f"""UPDATE "{schema}".meta SET value = '2' WHERE key = 'schema_version'""")
        con.execute("UPDATE index_generations SET index_schema_version = 2 "
                    "WHERE generation = %s", [generation])
    index = IdentityIndex(postgres_url, recheck_seconds=0)
    some = next(iter(expected))
    assert shown(index, postgres_url, some) == dict.fromkeys(SCHEMA_3)

    link_sources(folder, postgres_url)    # the previous generation is loaded and upgraded
    assert stored(postgres_url, list(expected)) == expected
    with psycopg.connect(postgres_url, autocommit=True) as con:
        version = con.execute("SELECT g.index_schema_version FROM index_current "
                              "JOIN index_generations g USING (generation)").fetchone()[0]
        replica_con = connect_index(postgres_url)
        try:
            assert applied_version(replica_con, "index") == 3
        finally:
            replica_con.close()
    assert version == 3
    assert shown(IdentityIndex(postgres_url, recheck_seconds=0), postgres_url, some) \
        == expected[some]


def test_the_new_fields_are_redacted_from_gateway_logs_by_name() -> None:
    """They reach the gateway in a person's records now, so a log line naming one says nothing."""
    logged = redact_personal_data(None, "info", {"event": "x", **dict.fromkeys(SCHEMA_3, "v")})
    assert logged == {"event": "x", **dict.fromkeys(SCHEMA_3, "[redacted]")}
