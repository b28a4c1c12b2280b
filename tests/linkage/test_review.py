"""Reviewer decisions are governed, survive retraining and re-runs, and conflicts are surfaced."""

import json
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from kinlink.cli import app
from linkage.review.decisions import DecisionStore, decisions_path_for
from linkage.synth import generate_population

runner = CliRunner()


@pytest.fixture(scope="module")
def population(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("review-pop")
    generate_population(out, families=250, seed=5)
    return out


def link(population: Path, db: Path, *extra: str) -> None:
    result = runner.invoke(
        app, ["link", "--sources", str(population), "--db", str(db), "--json", *extra]
    )
    assert result.exit_code == 0, result.output


def person_of(db: Path) -> dict[str, str]:
    with duckdb.connect(str(db), read_only=True) as con:
        return dict(con.execute("SELECT unique_id, person_id FROM record_links").fetchall())


def test_cannot_link_survives_a_full_retrain_and_rerun(population: Path, tmp_path: Path) -> None:
    db = tmp_path / "kinlink.duckdb"
    link(population, db)
    persons = person_of(db)
    by_person: dict[str, list[str]] = {}
    for record, person in persons.items():
        by_person.setdefault(person, []).append(record)
    left, right = next(sorted(m)[:2] for m in by_person.values() if len(m) >= 2)
    result = runner.invoke(
        app,
        [
            "review",
            "decide",
            left,
            right,
            "--decision",
            "different",
            "--by",
            "reviewer-1",
            "--agency",
            "social_care",
            "--reason",
            "different school records",
            "--db",
            str(db),
        ],
    )
    assert result.exit_code == 0, result.output
    link(population, db, "--retrain")
    after = person_of(db)
    assert after[left] != after[right]


def test_same_decision_joins_two_persons_and_can_be_reversed(
    population: Path, tmp_path: Path
) -> None:
    db = tmp_path / "kinlink.duckdb"
    link(population, db)
    persons = person_of(db)
    # A pair a reviewer would be shown: scored, short of the threshold, in two persons. Not one
    # of an identity-marked person (adoption, gender recognition): no decision joins such a
    # person to another without a shared identifier (tests/linkage/test_identity_markers.py).
    with duckdb.connect(str(db), read_only=True) as con:
        pairs = con.execute(
            "SELECT unique_id_l, unique_id_r FROM person_edges WHERE outcome = 'below_threshold' "
            "ORDER BY match_weight DESC, unique_id_l, unique_id_r").fetchall()
        marked = {p for (p,) in con.execute(
            "SELECT DISTINCT l.person_id FROM record_links l JOIN source_records s USING "
            "(unique_id) WHERE s.attributes->>'restriction' IN ('adoption', 'gender-recognition')"
        ).fetchall()}
    left, right = next((a, b) for a, b in pairs
                       if persons[a] != persons[b] and not {persons[a], persons[b]} & marked)
    store = DecisionStore(decisions_path_for(db))
    made = store.record(left, right, "same", "reviewer-2", "police", "confirmed by phone")
    before = runner.invoke(app, ["evaluate", "--db", str(db), "--reviewed", "--json"])
    assert json.loads(before.output)["reviewed"]["same_linked"] == 0
    link(population, db)
    assert person_of(db)[left] == person_of(db)[right]
    # The decision is a label: evaluation counts it, and retraining learns from it.
    after = json.loads(runner.invoke(app, ["evaluate", "--db", str(db), "--reviewed",
                                           "--json"]).output)["reviewed"]
    assert after["same"] == after["same_linked"] == 1 and after["agreement"] == 1.0
    model = tmp_path / "model.json"
    trained = runner.invoke(app, ["train", "--sources", str(population), "--out", str(model),
                                  "--labels-from-reviews", "--db", str(db)])
    assert trained.exit_code == 0, trained.output
    assert "1 reviewer 'same person' decisions used" in trained.output and model.exists()
    store.reverse(made.decision_id, "ig-officer", "police", "wrong person confirmed")
    link(population, db)
    assert person_of(db)[left] != person_of(db)[right]
    assert len(store.all()) == 2  # the reversal is itself a record; nothing was deleted


def test_conflicting_decisions_are_surfaced_and_neither_is_applied(tmp_path: Path) -> None:
    store = DecisionStore(tmp_path / "x.decisions.duckdb")
    store.record("a:1", "b:2", "same", "u1", "health", "looks right")
    store.record("b:2", "a:1", "different", "u2", "police", "different people")
    conflicts = store.conflicts()
    assert set(conflicts["decision"]) == {"same", "different"}


def test_bad_decisions_are_refused(population: Path, tmp_path: Path) -> None:
    db = tmp_path / "kinlink.duckdb"
    link(population, db)
    record = next(iter(person_of(db)))
    result = runner.invoke(
        app,
        [
            "review",
            "decide",
            record,
            "nope:1",
            "--decision",
            "same",
            "--by",
            "u",
            "--reason",
            "r",
            "--db",
            str(db),
        ],
    )
    assert result.exit_code == 2 and "no record nope:1" in result.output
    result = runner.invoke(
        app,
        [
            "review",
            "decide",
            record,
            record,
            "--decision",
            "maybe",
            "--by",
            "u",
            "--reason",
            "r",
            "--db",
            str(db),
        ],
    )
    assert result.exit_code == 2


def test_who_counts_as_a_child_in_the_queue_is_judged_at_the_date_given() -> None:
    """A pair of records born in 2009 is a child's pair in 2026 and an adult's in 2030: the queue
    puts it first or not by the date passed in, never the machine's clock."""
    import datetime as dt

    from linkage.review.queue import review_queue

    con = duckdb.connect()
    con.execute("CREATE TABLE record_links (unique_id VARCHAR, person_id VARCHAR)")
    con.execute("CREATE TABLE record_features (unique_id VARCHAR, dob_year INTEGER)")
    con.execute("CREATE TABLE review_candidates (unique_id_l VARCHAR, unique_id_r VARCHAR, "
                "match_probability DOUBLE, reason VARCHAR)")
    con.execute("INSERT INTO record_links VALUES ('a1','PA'),('a2','PB'),('b1','PC'),('b2','PD'),"
                "('b3','PD')")
    con.execute("INSERT INTO record_features VALUES ('a1',2009),('a2',2009),('b1',1980),"
                "('b2',1980),('b3',1980)")
    con.execute("INSERT INTO review_candidates VALUES ('a1','a2',0.6,'r'),('b1','b2',0.6,'r')")
    in_2026 = review_queue(con, today=dt.date(2026, 11, 25))
    assert in_2026["involves_child"].tolist() == [True, False]
    assert in_2026["unique_id_l"].tolist() == ["a1", "b1"]          # the child's pair first
    in_2030 = review_queue(con, today=dt.date(2030, 1, 1))
    assert in_2030["involves_child"].tolist() == [False, False]
    assert in_2030["unique_id_l"].tolist() == ["b1", "a1"]          # then by records affected


def test_the_queue_listing_says_its_size_against_the_population(population: Path,
                                                                tmp_path: Path) -> None:
    db = tmp_path / "kinlink.duckdb"
    link(population, db)
    with duckdb.connect(str(db), read_only=True) as con:
        pairs = con.execute("SELECT count(*) FROM review_candidates").fetchone()[0]
        records = con.execute("SELECT count(*) FROM record_links").fetchone()[0]
    assert pairs > 0
    result = runner.invoke(app, ["review", "list", "--db", str(db), "--limit", "1"],
                           env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert f"top 1 of {pairs} pairs waiting" in result.output
    assert f"({1000 * pairs / records:.1f} per 1,000 of {records:,} records)" in result.output
