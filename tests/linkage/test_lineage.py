""""What did this ID contain on date D?" answered from the history the index keeps across runs."""

from __future__ import annotations

import json
import random
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from typer.testing import CliRunner

from kinlink.cli import app
from linkage.identity.history import contents_at, parse_moment
from linkage.review.decisions import DecisionStore, decisions_path_for
from linkage.synth import generate_population

runner = CliRunner()
SOURCES = ("health", "education", "social_care", "police")


@dataclass
class History:
    db: Path
    before_first: datetime
    after_first: datetime
    first_links: pd.DataFrame  # record_links as the first run left them
    first_members: pd.DataFrame  # family_members as the first run left them
    withdrawn: set[str]
    merged_away: str  # a first-run person ID the reviewer's decision retired
    history_rows_after_second: int


def link(sources: Path, db: Path) -> None:
    result = runner.invoke(app, ["link", "--sources", str(sources), "--db", str(db), "--json"])
    assert result.exit_code == 0, result.output


def read(db: Path, sql: str) -> pd.DataFrame:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql).df()


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> History:
    root = tmp_path_factory.mktemp("lineage")
    full, first, second = root / "population", root / "first", root / "second"
    generate_population(full, families=150, seed=12)
    rng = random.Random(3)
    withdrawn: set[str] = set()
    for directory in (first, second):
        directory.mkdir()
        for path in full.iterdir():
            if path.suffix == ".yaml" or path.name.endswith("_relationships.csv"):
                shutil.copy(path, directory / path.name)
    for source in SOURCES:
        frame = pd.read_csv(full / f"{source}.csv", dtype=str, keep_default_na=False)
        keep = [rng.random() < 0.85 for _ in range(len(frame))]
        frame[keep].to_csv(first / f"{source}.csv", index=False)
        gone = rng.sample(list(frame[keep].index), 2)
        withdrawn |= {f"{source}:{frame.loc[i, frame.columns[0]]}" for i in gone}
        frame.drop(index=gone).to_csv(second / f"{source}.csv", index=False)

    db = root / "kinlink.duckdb"
    before_first = datetime.now(UTC)
    link(first, db)
    after_first = datetime.now(UTC)
    first_links = read(db, "SELECT unique_id, source, record_id, person_id FROM record_links")
    first_members = read(db, "SELECT family_id, person_id FROM family_members")

    # A reviewer says two first-run persons are one: the second run merges them and retires one ID.
    # (A pair no hard constraint keeps apart: a mother and daughter of one name a generation apart
    # is a conflict a reviewer's word does not override.)
    edges = read(
        db,
        """SELECT e.unique_id_l, e.unique_id_r, a.person_id AS pa, b.person_id AS pb
           FROM person_edges e
           JOIN record_links a ON a.unique_id = e.unique_id_l
           JOIN record_links b ON b.unique_id = e.unique_id_r
           JOIN record_features fa ON fa.unique_id = e.unique_id_l
           JOIN record_features fb ON fb.unique_id = e.unique_id_r
           WHERE a.person_id <> b.person_id AND e.outcome = 'below_threshold'
             AND fa.given_name_canonical = fb.given_name_canonical
             AND coalesce(abs(fa.dob_year - fb.dob_year) < 12, true)
             AND coalesce(fa.sex = fb.sex, true)
             AND coalesce(fa.nhs_number = fb.nhs_number, true)
             AND coalesce(fa.upn = fb.upn, true)
             AND NOT (fa.source = fb.source AND coalesce(fa.dob = fb.dob, false))
           ORDER BY e.match_probability DESC""",
    )
    # Merging two persons keeps one ID and retires the other.
    edges = edges[
        ~edges["unique_id_l"].isin(withdrawn)
        & ~edges["unique_id_r"].isin(withdrawn)
    ]
    left, right, person_l, person_r = edges.iloc[0][["unique_id_l", "unique_id_r", "pa", "pb"]]
    DecisionStore(decisions_path_for(db)).record(
        left, right, "same", "reviewer-1", "council", "same child: confirmed with the school"
    )
    link(second, db)
    persons = read(db, "SELECT person_id, status FROM persons")
    retired = set(persons[persons["status"] == "retired"]["person_id"])
    merged_away = person_l if person_l in retired else person_r
    assert merged_away in retired
    rows = int(read(db, "SELECT count(*) AS n FROM record_link_history")["n"][0])
    return History(
        db, before_first, after_first, first_links, first_members, withdrawn, merged_away, rows
    )


def held_records(db: Path, person_id: str, at: datetime) -> set[str]:
    with duckdb.connect(str(db), read_only=True) as con:
        contents = contents_at(con, person_id, at)
    return {f"{row['source']}:{row['record_id']}" for row in contents.held}


def test_every_first_run_person_held_then_what_the_first_run_linked(history: History) -> None:
    expected = history.first_links.groupby("person_id")["unique_id"].agg(set)
    with duckdb.connect(str(history.db), read_only=True) as con:
        for person_id, records in expected.items():
            contents = contents_at(con, str(person_id), history.after_first)
            held = {f"{row['source']}:{row['record_id']}" for row in contents.held}
            assert held == records, person_id
            assert contents.status == "active"


def test_now_every_person_holds_what_record_links_says(history: History) -> None:
    now = datetime.now(UTC)
    current = read(history.db, "SELECT unique_id, person_id FROM record_links")
    for person_id, records in current.groupby("person_id")["unique_id"].agg(set).items():
        assert held_records(history.db, str(person_id), now) == records


def test_a_withdrawn_record_was_held_then_and_is_not_now(history: History) -> None:
    owners = history.first_links[history.first_links["unique_id"].isin(history.withdrawn)]
    assert len(owners) == len(history.withdrawn)
    for unique_id, person_id in owners[["unique_id", "person_id"]].itertuples(index=False):
        assert unique_id in held_records(history.db, person_id, history.after_first)
        assert unique_id not in held_records(history.db, person_id, datetime.now(UTC))


def test_a_merged_away_id_was_active_then_and_resolves_to_its_survivor_now(
    history: History,
) -> None:
    with duckdb.connect(str(history.db), read_only=True) as con:
        then = contents_at(con, history.merged_away, history.after_first)
        now = contents_at(con, history.merged_away, datetime.now(UTC))
        survivor = con.execute(
            "SELECT survivor_id FROM persons WHERE person_id = ?", [history.merged_away]
        ).fetchall()[0][0]
    assert then.status == "active" and then.held
    assert "merged" not in {e["event"] for e in then.events}
    assert now.status == "retired" and now.survivor_id == survivor and not now.held
    merged = [e for e in now.events if e["event"] == "merged"]
    assert merged and merged[0]["other_id"] == survivor
    # What the retired ID held then, its survivor holds now.
    assert {f"{r['source']}:{r['record_id']}" for r in then.held} <= held_records(
        history.db, survivor, datetime.now(UTC)
    )


def test_before_the_first_run_nothing_was_issued(history: History) -> None:
    person_id = str(history.first_links["person_id"].iloc[0])
    with duckdb.connect(str(history.db), read_only=True) as con:
        contents = contents_at(con, person_id, history.before_first - timedelta(seconds=1))
    assert contents.status == "not yet issued"
    assert contents.held == [] and contents.events == []


def test_a_family_held_then_the_persons_the_first_run_put_in_it(history: History) -> None:
    expected = history.first_members.groupby("family_id")["person_id"].agg(set)
    with duckdb.connect(str(history.db), read_only=True) as con:
        for family_id, persons in list(expected.items())[:50]:
            contents = contents_at(con, str(family_id), history.after_first)
            assert contents.kind == "family"
            assert {row["person_id"] for row in contents.held} == persons, family_id


def test_history_command_prints_json_and_names_bad_input(history: History) -> None:
    at = history.after_first.isoformat()
    result = runner.invoke(
        app, ["history", history.merged_away, "--at", at, "--db", str(history.db), "--json"]
    )
    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)
    assert answer["status"] == "active" and answer["kind"] == "person"
    assert {f"{r['source']}:{r['record_id']}" for r in answer["held"]} == held_records(
        history.db, history.merged_away, history.after_first
    )
    table = runner.invoke(app, ["history", history.merged_away, "--db", str(history.db)])
    assert table.exit_code == 0 and "retired" in table.stdout
    malformed = runner.invoke(app, ["history", "P123", "--db", str(history.db)])
    assert malformed.exit_code == 2 and "not a well-formed" in malformed.output
    bad_date = runner.invoke(
        app, ["history", history.merged_away, "--at", "yesterday", "--db", str(history.db)]
    )
    assert bad_date.exit_code == 2 and "--at" in bad_date.output


def test_a_date_means_the_end_of_that_day() -> None:
    moment = parse_moment("2026-03-01")
    assert moment.date().isoformat() == "2026-03-01" and moment.hour == 23
    assert parse_moment("2026-03-01T10:00:00").tzinfo is not None


def test_relinking_unchanged_extracts_adds_no_history(history: History, tmp_path: Path) -> None:
    db = tmp_path / "copy.duckdb"
    shutil.copy(history.db, db)
    shutil.copy(decisions_path_for(history.db), decisions_path_for(db))
    link(history.db.parent / "second", db)
    rows = int(read(db, "SELECT count(*) AS n FROM record_link_history")["n"][0])
    assert rows == history.history_rows_after_second
    closed = read(db, "SELECT count(*) AS n FROM record_link_history WHERE valid_to IS NOT NULL")
    assert int(closed["n"][0]) > 0  # the first run's moved and withdrawn links stay, closed
