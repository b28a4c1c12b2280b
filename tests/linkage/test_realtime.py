"""Real-time matching: the Python scorer agrees with Splink's own scores, the standardiser for one
record agrees with the batch one, and queries find the right person through the CLI contract."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from typer.testing import CliRunner

from kinlink.cli import app
from linkage.features import prepare_sources
from linkage.realtime import Matcher
from linkage.realtime.levels import GAMMA_FUNCTIONS
from linkage.standardise.records import FEATURE_COLUMNS, standardise_record
from linkage.synth import generate_population
from linkage.synth.queries import draw_queries

runner = CliRunner()


@pytest.fixture(scope="module")
def linked(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("realtime")
    generate_population(root / "extracts", families=300, seed=13)
    db = root / "kinlink.duckdb"
    result = runner.invoke(app, ["link", "--sources", str(root / "extracts"), "--db", str(db)])
    assert result.exit_code == 0, result.output
    return root / "extracts", db


@pytest.fixture(scope="module")
def matcher(linked: tuple[Path, Path]) -> Matcher:
    return Matcher.load(linked[1])


def _plain(value: object) -> object:
    if value is None or (isinstance(value, float) and value != value) or value is pd.NA:
        return None
    if hasattr(value, "tolist"):
        return value.tolist()  # type: ignore[union-attr]
    return value


def test_one_record_standardiser_agrees_with_the_batch_one(linked: tuple[Path, Path]) -> None:
    prepared = prepare_sources(linked[0])
    batch = prepared.features
    records = prepared.canonical.to_dict("records")
    assert len(records) == len(batch) > 1000
    for record, (_, expected) in zip(records, batch.iterrows(), strict=True):
        mine = standardise_record(record)
        for column in FEATURE_COLUMNS:
            assert _plain(mine[column]) == _plain(expected[column]), (column, record["record_id"])


def test_levels_agree_with_the_gamma_splink_stored_for_every_scored_pair(
    linked: tuple[Path, Path], matcher: Matcher
) -> None:
    row_of = {u: i for i, u in enumerate(matcher.index.unique_ids)}
    names = [c.name for c in matcher.index.model.comparisons]
    with duckdb.connect(str(linked[1]), read_only=True) as con:
        pairs = con.execute("SELECT unique_id_l, unique_id_r, gamma FROM pair_comparisons").fetchall()
    assert len(pairs) > 1000
    for left, right, gamma in pairs:
        fl, fr = matcher.index.features(row_of[left]), matcher.index.features(row_of[right])
        assert [GAMMA_FUNCTIONS[n](fl, fr) for n in names] == list(gamma), (left, right)


def test_weights_agree_with_splinks_to_1e_9(linked: tuple[Path, Path], matcher: Matcher) -> None:
    row_of = {u: i for i, u in enumerate(matcher.index.unique_ids)}
    with duckdb.connect(str(linked[1]), read_only=True) as con:
        edges = con.execute(
            "SELECT unique_id_l, unique_id_r, match_weight FROM person_edges "
            "WHERE outcome NOT LIKE 'linked:same-relative%'").fetchall()
    assert len(edges) > 500
    for left, right, weight in edges:
        mine, parts = matcher.score(matcher.index.features(row_of[left]),
                                    matcher.index.features(row_of[right]))
        assert mine == pytest.approx(weight, abs=1e-9), (left, right)
        assert sum(p.match_weight for p in parts) + matcher.index.model.log2_prior_odds == (
            pytest.approx(mine, abs=1e-9))


def test_an_nhs_number_finds_its_person_first_and_certainly(linked: tuple[Path, Path],
                                                            matcher: Matcher) -> None:
    with duckdb.connect(str(linked[1]), read_only=True) as con:
        nhs, person = con.execute(
            "SELECT s.nhs_number, l.person_id FROM source_records s JOIN record_links l "
            "USING (unique_id) WHERE s.nhs_number IS NOT NULL ORDER BY 1 LIMIT 1").fetchall()[0]
    found = matcher.match({"record_id": "q", "nhs_number": nhs})
    assert found[0].person_id == person and found[0].grade == "certain"
    assert found[0].explanation[0].comparison == "nhs_number" and found[0].explanation[0].gamma == 1
    # The number with a given name that is not its owner's: still shown, never "certain".
    contradicted = matcher.match({"record_id": "q", "nhs_number": nhs, "given_name": "Zebedee"})
    assert contradicted[0].person_id == person and contradicted[0].grade != "certain"


def test_typos_still_find_the_person_and_strangers_find_nobody_certain(
    linked: tuple[Path, Path], matcher: Matcher
) -> None:
    with duckdb.connect(str(linked[1]), read_only=True) as con:
        given, family, dob, postcode, person = con.execute(
            "SELECT s.given_name, s.family_name, s.dob, s.postcode, l.person_id "
            "FROM source_records s JOIN record_links l USING (unique_id) "
            "WHERE s.dob IS NOT NULL AND s.postcode IS NOT NULL AND length(s.family_name) > 5 "
            "ORDER BY s.unique_id LIMIT 1").fetchall()[0]
    typo = family[0] + family[2] + family[1] + family[3:]          # two letters transposed
    found = matcher.match({"record_id": "q", "given_name": given, "family_name": typo,
                           "dob": dob, "postcode": postcode})
    assert found and found[0].person_id == person
    stranger = matcher.match({"record_id": "q", "given_name": "Zebedee", "family_name": "Quux",
                              "dob": "1901-02-03", "postcode": "ZZ9 9ZZ"})
    assert all(c.grade != "certain" for c in stranger)


def test_match_command_writes_the_contract_columns_and_is_accurate(
    linked: tuple[Path, Path], tmp_path: Path
) -> None:
    sources, db = linked
    queries = draw_queries(sources, 150, seed=2)
    out = tmp_path / "candidates.csv"
    result = runner.invoke(app, ["match", "--db", str(db), "--queries", str(queries),
                                 "--out", str(out), "--top", "3", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["queries"] == 150 and {"p50_ms", "p95_ms", "p99_ms"} <= set(summary)
    rows = list(csv.DictReader(out.open()))
    assert list(rows[0]) == ["query_id", "rank", "person_id", "probability", "grade"]
    assert all(1 <= int(r["rank"]) <= 3 for r in rows)
    truth = pd.read_csv(sources / "truth" / "truth.csv", dtype=str)
    with duckdb.connect(str(db), read_only=True) as con:
        links = dict(con.execute("SELECT source || ':' || record_id, person_id FROM record_links"
                                 ).fetchall())
    persons_of = (truth.assign(p=(truth["source"] + ":" + truth["record_id"]).map(links))
                  .groupby("person_id")["p"].agg(set).to_dict())
    wanted = {r["record_id"]: r["true_person_id"] for r in csv.DictReader(queries.open())}
    firsts = {r["query_id"]: r["person_id"] for r in rows if r["rank"] == "1"}
    correct = sum(firsts.get(q) in persons_of[t] for q, t in wanted.items())
    assert correct / len(wanted) >= 0.97, correct


def test_match_command_errors(linked: tuple[Path, Path], tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("given_name\nAva\n")
    result = runner.invoke(app, ["match", "--db", str(linked[1]), "--queries", str(bad),
                                 "--out", str(tmp_path / "o.csv")])
    assert result.exit_code == 2 and "record_id" in result.output
    result = runner.invoke(app, ["match", "--db", str(tmp_path / "none.duckdb"), "--queries",
                                 str(bad), "--out", str(tmp_path / "o.csv")])
    assert result.exit_code == 2
