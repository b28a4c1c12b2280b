"""Real-time matching: the Python scorer agrees with Splink's own scores, the standardiser for one
record agrees with the batch one, and queries find the right person through the CLI contract."""

from __future__ import annotations

import csv
import datetime as dt
import json
import random
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pytest
from typer.testing import CliRunner

from kinlink.cli import app
from linkage.features import prepare_sources
from linkage.realtime import Matcher
from linkage.realtime.levels import GAMMA_FUNCTIONS
from linkage.realtime.scoring_model import equality_columns
from linkage.realtime.splink_reference import SplinkReference
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


@pytest.fixture(scope="module")
def reference(linked: tuple[Path, Path]) -> SplinkReference:
    return SplinkReference(linked[1])


@pytest.fixture(scope="module")
def queries(linked: tuple[Path, Path]) -> Path:
    return draw_queries(linked[0], 200, seed=2)


def _plain(value: object) -> object:
    if value is None or (isinstance(value, float) and value != value) or value is pd.NA:
        return None
    if hasattr(value, "tolist"):
        return value.tolist()
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
        # Rule links (same relative, expected birth) carry no score of their own.
        edges = con.execute(
            "SELECT unique_id_l, unique_id_r, match_weight FROM person_edges "
            "WHERE outcome NOT LIKE 'linked:%'").fetchall()
    assert len(edges) > 500
    for left, right, weight in edges:
        mine, parts = matcher.score(matcher.index.features(row_of[left]),
                                    matcher.index.features(row_of[right]))
        assert mine == pytest.approx(weight, abs=1e-9), (left, right)
        assert sum(p.match_weight for p in parts) + matcher.index.model.log2_prior_odds == (
            pytest.approx(mine, abs=1e-9))


def test_candidates_and_weights_are_splinks_own_for_drawn_queries(
    matcher: Matcher, reference: SplinkReference, queries: Path
) -> None:
    """The in-memory blocking tables give exactly the pairs Splink's predict_between blocks, and
    every pair's weight is Splink's: the index is a faithful stand-in for a link run."""
    standardised = [matcher.standardise(q) for q in csv.DictReader(queries.open())]
    splink = reference.predict_between(standardised)
    theirs = {(r, q): w for r, q, w in splink[["unique_id_l", "unique_id_r", "match_weight"]]
              .itertuples(index=False)}
    mine = {(matcher.index.unique_ids[row], query["unique_id"]): weight
            for query in standardised for row, weight, _ in matcher.scored_candidates(query)}
    assert len(theirs) > 500
    assert set(mine) == set(theirs)
    for pair, weight in theirs.items():
        assert mine[pair] == pytest.approx(weight, abs=1e-9), pair


def _dob_variants(dob: str) -> Iterator[str | None]:
    day = dt.date.fromisoformat(dob)
    if day.day <= 12 and day.day != day.month:
        yield f"{day.year}-{day.day:02d}-{day.month:02d}"          # day and month swapped
    yield dob[:-1] + str((int(dob[-1]) + 1) % 10)                   # one digit
    yield (day + dt.timedelta(days=45)).isoformat()                 # within 45 days, just
    yield (day - dt.timedelta(days=46)).isoformat()                 # and just not
    yield f"{day.year}-01-01"                                       # estimated 1 January
    yield day.replace(year=day.year - 3, day=min(day.day, 28)).isoformat()  # another year
    yield (day + dt.timedelta(days=400)).isoformat()
    yield None


def _variants(record: dict[str, Any], rng: random.Random) -> Iterator[dict[str, Any]]:
    """A source record recorded again with one kind of error at a time, so that between them
    the pairs reach every level of every comparison."""
    given, family, postcode = record["given_name"], record["family_name"], record["postcode"]
    if record["dob"]:
        yield from ({**record, "dob": d} for d in _dob_variants(record["dob"]))
    if given and len(given) >= 6:
        yield {**record, "given_name": given[0] + given[2] + given[1] + given[3:]}
        yield {**record, "given_name": given[:4]}
        yield {**record, "given_name": "Zebedee", "middle_names": given}
        yield {**record, "given_name": given[:-2] + "y"}
    if record["upn"]:  # a former UPN that is the other's UPN, and one that is not
        yield {**record, "upn": None, "former_upn": record["upn"]}
        yield {**record, "upn": None, "former_upn": "A123456789012"}
    if family and len(family) >= 5:
        yield {**record, "family_name": family[0] + family[2] + family[1] + family[3:]}
        yield {**record, "family_name": f"{family}-Quarrington"}
        yield {**record, "family_name": family.replace("a", "e").replace("o", "u") + "h"}
    if postcode:
        outward, inward = postcode.split(" ")
        yield {**record, "address": "1 Other Street, Elsewhere"}
        yield {**record, "postcode": f"{outward} {inward[0]}ZZ"}
        yield {**record, "postcode": f"{outward} {(int(inward[0]) + 1) % 10}{inward[1:]}"}
        yield {**record, "postcode": "ZZ9 9ZZ", "address": None}
        yield {**record, "postcode": None, "address": None}
    yield {**record, "sex": {"M": "F", "F": "M"}.get(record["sex"] or "", "M")}
    yield {**record, "nhs_number": None, "upn": None, "local_id": None}
    yield {**record, "given_name": rng.choice(["Bill", "Liz", "Sue", "Alfie"])}
    yield {**record, "given_name": None, "family_name": None}


def test_every_level_of_every_comparison_scores_as_splink_scores_it(
    linked: tuple[Path, Path], matcher: Matcher, reference: SplinkReference, queries: Path
) -> None:
    """Pairs Splink's blocking would never make (a record and its altered copy, strangers, a query
    and a candidate) scored by Splink itself and by the matcher: same level for each comparison,
    same weight for each comparison, same total."""
    rng = random.Random(5)
    index = matcher.index
    with duckdb.connect(str(linked[1]), read_only=True) as con:
        records = con.sql("SELECT * EXCLUDE (attributes) FROM source_records").df()
    records = records.astype(object).where(records.notna(), None).to_dict("records")
    lefts: list[Mapping[str, Any]] = []
    rights: list[Mapping[str, Any]] = []
    with_upn = [r for r in records if r["upn"]]
    with_nhs = [r for r in records if r["nhs_number"]]
    for record in rng.sample(records, 8) + rng.sample(with_upn, 2) + rng.sample(with_nhs, 2):
        original = index.features(index.row_of(record["unique_id"]))  # type: ignore[arg-type]
        for variant in _variants(record, rng):
            lefts.append(matcher.standardise(variant))
            rights.append(original)
    for query in list(csv.DictReader(queries.open()))[:60]:
        features = matcher.standardise(query)
        rows = matcher.index.candidates(features).tolist() or [rng.randrange(len(index))]
        lefts += [features, features]
        rights += [index.features(rng.choice(rows)), index.features(rng.randrange(len(index)))]
    for _ in range(60):
        lefts.append(index.features(rng.randrange(len(index))))
        rights.append(index.features(rng.randrange(len(index))))
    assert len(lefts) >= 200

    splink = reference.score_pairs(lefts, rights)
    assert list(splink["pair_l"]) == list(range(len(lefts)))
    seen = set()
    for (_, theirs), left, right in zip(splink.iterrows(), lefts, rights, strict=True):
        weight, parts = matcher.score(left, right)
        assert weight == pytest.approx(theirs["match_weight"], abs=1e-9)
        for part in parts:
            name = part.comparison
            assert part.gamma == theirs[f"gamma_{name}"], (name, left, right)
            splink_part = theirs[f"mw_{name}"] + theirs.get(f"mw_tf_adj_{name}", 0.0)
            assert part.match_weight == pytest.approx(splink_part, abs=1e-9), name
            seen.add((name, part.gamma))
    every_level = {(c.name, g) for c in index.model.comparisons for g in c.levels}
    assert every_level - seen == set()


def test_blocking_rules_are_read_as_equalities_or_refused() -> None:
    assert equality_columns('(l."dob" = r."dob") AND (l.postcode = r.postcode)') == (
        "dob", "postcode")
    for unsupported in ("l.dob = r.postcode", "l.dob = r.dob OR l.upn = r.upn",
                        "levenshtein(l.family_name, r.family_name) <= 1",
                        "l.dob = r.dob AND l.dob_year > 2000"):
        with pytest.raises(ValueError, match="not supported"):
            equality_columns(unsupported)


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
    linked: tuple[Path, Path], queries: Path, tmp_path: Path
) -> None:
    sources, db = linked
    out = tmp_path / "candidates.csv"
    result = runner.invoke(app, ["match", "--db", str(db), "--queries", str(queries),
                                 "--out", str(out), "--top", "3", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["queries"] == 200 and {"p50_ms", "p95_ms", "p99_ms"} <= set(summary)
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


# --- one set of rules for batch and real time ------------------------------------------------


def _truth(sources: Path) -> dict[str, str]:
    truth = pd.read_csv(sources / "truth" / "truth.csv", dtype=str)
    return dict(zip(truth["source"] + ":" + truth["record_id"], truth["person_id"], strict=True))


def test_real_time_agrees_with_batch_and_never_certain_where_batch_refused(
        linked: tuple[Path, Path], matcher: Matcher) -> None:
    """Every record, matched with itself left out, finds its batch person; matched with its
    whole person left out (a child nobody has indexed), it is never certain for someone else."""
    from linkage.realtime.consistency import check_consistency

    result = check_consistency(matcher, linked[1], truth=_truth(linked[0]))
    assert result.linked > 1000 and result.absent > 1500
    assert result.agreement >= 0.995, result.examples.get("disagreed")
    assert result.certain_where_refused == 0, result.examples
    assert result.false_certain == 0, result.examples


def _valid_nhs_number_not_in(index_numbers: set[str], start: int) -> str:
    from linkage.synth.identifiers import nhs_check_digit

    for stem in range(start, start + 1000):
        check = nhs_check_digit(str(stem))
        number = f"{stem}{check}"
        if check != 10 and number not in index_numbers:
            return number
    raise AssertionError("no free NHS number")


def test_a_twin_whose_records_are_missing_is_never_certain_for_her_sister(
        linked: tuple[Path, Path], matcher: Matcher) -> None:
    """The issue's case: a twin with her own NHS number, her sister's date of birth, surname and
    address, queried while none of her own records is indexed."""
    sources, _ = linked
    persons = pd.read_csv(sources / "truth" / "persons.csv", dtype=str).fillna("")
    truth = _truth(sources)
    rows_of: dict[str, set[int]] = {}
    for row, uid in enumerate(matcher.index.unique_ids):
        rows_of.setdefault(truth[uid], set()).add(row)
    twins = persons[persons["twin_group"] != ""].groupby("twin_group")
    checked = 0
    for _, group in twins:
        if len(group) < 2 or not all(p in rows_of for p in group["person_id"]):
            continue
        for _, twin in group.iterrows():
            query = {"record_id": "q", "given_name": twin["given_name"],
                     "family_name": twin["family_name"], "dob": twin["dob"], "sex": twin["sex"],
                     "postcode": twin["postcode"], "address": twin["address"],
                     "nhs_number": twin["nhs_number"] or None}
            found = matcher.match(query, top=5, exclude_rows=rows_of[twin["person_id"]])
            for candidate in found:
                assert candidate.grade != "certain", (twin["person_id"], candidate)
                if truth[candidate.best_record] in set(group["person_id"]):
                    assert candidate.grade == "possible"
                    if twin["nhs_number"]:
                        assert candidate.constraint is not None, candidate
            checked += 1
    assert checked >= 4, "the population should hold twins"


def test_a_constrained_candidate_is_possible_named_and_ranked_last(
        linked: tuple[Path, Path], matcher: Matcher) -> None:
    with duckdb.connect(str(linked[1]), read_only=True) as con:
        record = con.execute(
            "SELECT s.given_name, s.family_name, s.dob, s.sex, s.postcode, s.address, l.person_id "
            "FROM source_records s JOIN record_links l USING (unique_id) "
            "WHERE s.nhs_number IS NOT NULL AND s.dob > '2010-01-01' AND s.postcode IS NOT NULL "
            "ORDER BY s.unique_id LIMIT 1").fetchone()
        numbers = {n for (n,) in con.execute(
            "SELECT DISTINCT nhs_number FROM source_records WHERE nhs_number IS NOT NULL"
        ).fetchall()}
    assert record is not None
    given, family, dob, sex, postcode, address, person = record
    query = {"record_id": "q", "given_name": given, "family_name": family, "dob": dob,
             "sex": sex, "postcode": postcode, "address": address}
    plain = matcher.match(query)
    assert plain[0].person_id == person and plain[0].constraint is None
    assert plain[0].grade in ("certain", "probable")
    other_child = matcher.match({**query, "nhs_number": _valid_nhs_number_not_in(numbers,
                                                                                  400000000)})
    mine = next(c for c in other_child if c.person_id == person)
    assert mine.grade == "possible" and mine.constraint == "different-nhs-number"
    assert other_child[-1].constraint is not None
    assert all(c.constraint is None for c in other_child[:other_child.index(mine)])
    # A generation apart (a parent named after the child, or the other way round): refused too.
    elder = matcher.match({**query, "dob": f"{int(dob[:4]) - 30}{dob[4:]}"})
    refused = [c for c in elder if c.person_id == person]
    assert refused and refused[0].grade == "possible"
    assert refused[0].constraint == "different-generation"


def test_one_band_constant_grades_batch_and_real_time() -> None:
    from linkage.persons import grades
    from linkage.realtime import matcher as realtime

    assert realtime.grade_for is grades.grade_for
    assert [grades.grade_for(p) for p in (0.9999, 0.99989, 0.99, 0.9899)] == [
        "certain", "probable", "probable", "possible"]
    assert grades.grade_for(0.2, certain_by_identifier=True) == "certain"


def test_personal_evidence_is_the_flag_the_link_run_stored_for_every_pair(
        linked: tuple[Path, Path], matcher: Matcher) -> None:
    from linkage.realtime.levels import personal_evidence

    row_of = {u: i for i, u in enumerate(matcher.index.unique_ids)}
    with duckdb.connect(str(linked[1]), read_only=True) as con:
        edges = con.execute(
            "SELECT unique_id_l, unique_id_r, personal_evidence FROM person_edges "
            "WHERE outcome NOT LIKE 'linked:%'").fetchall()
    flags = set()
    for left, right, stored in edges:
        fl, fr = matcher.index.features(row_of[left]), matcher.index.features(row_of[right])
        _, parts = matcher.score(fl, fr)
        mine = personal_evidence({p.comparison: p.gamma for p in parts}, fl, fr)
        assert mine == stored, (left, right)
        flags.add(mine)
    assert flags == {True, False}


def _laid_out(matcher: Matcher, people: dict[str, list[dict[str, Any]]],
              restricted: frozenset[str] = frozenset()) -> Matcher:
    """A matcher over just these records (person → their records), scored by the fixture's
    trained model: the look-alike cases below need households no population is sure to hold."""
    import pyarrow as pa

    from linkage.realtime.index import FACT_ONLY_COLUMNS, MATCH_COLUMNS, MatchIndex

    rows = []
    for person, records in people.items():
        for record in records:
            features = matcher.standardise(record)
            rows.append({"unique_id": features["unique_id"], "person_id": person,
                         **{c: features[c] for c in MATCH_COLUMNS + FACT_ONLY_COLUMNS},
                         "restriction": "adoption" if person in restricted else None})
    rows.sort(key=lambda r: r["unique_id"])
    table = pa.Table.from_pylist(rows)
    return Matcher(MatchIndex.from_arrow(table, matcher.index.model,
                                         matcher.index.term_frequencies))


_HOME = {"dob": "2008-08-23", "sex": "M", "postcode": "TA4 7WT",
         "address": "30 Grove Road, Tonebridge"}


def test_a_query_joined_to_one_child_is_never_certain_for_another_the_run_keeps_apart(
        matcher: Matcher) -> None:
    """The 65k Billy: "Billy Ashfield" fits William Ashfield best (a nickname, same surname,
    birthday and house) and is then William's, as the link run linked it; Billy Newman of the
    same birthday and house has another NHS number than William, so he is kept apart, named,
    not a second "certain". A split of William's own (a police record, no number) still is."""
    people = {
        "william": [{"source": "health", "record_id": "h1", "given_name": "William",
                     "family_name": "Ashfield", "nhs_number": "9153281861", **_HOME}],
        "billy": [{"source": "health", "record_id": "h2", "given_name": "Billy",
                   "family_name": "Newman", "nhs_number": "9419238393", **_HOME}],
        "william-police": [{"source": "police", "record_id": "p1", "given_name": "Billy",
                            "family_name": "Ashfield", **_HOME}],
    }
    laid = _laid_out(matcher, people)
    query = {"source": "education", "record_id": "q", "given_name": "Billy",
             "family_name": "Ashfield", "upn": "P878239812001", **_HOME}
    found = {c.person_id: c for c in laid.match(query)}
    assert found["william"].grade == "certain" and found["william"].constraint is None
    assert found["william-police"].grade == "certain"
    assert found["billy"].grade == "possible"
    assert found["billy"].constraint == "different-nhs-number"
    # The look-alike that must still match: with no William, Billy Newman is the query's
    # best fit, and nothing keeps him apart.
    alone = laid.match({**query, "family_name": "Newman"})
    assert alone[0].person_id == "billy" and alone[0].grade == "certain"
    assert next(c for c in alone if c.person_id == "william").constraint == (
        "different-nhs-number")


def test_real_time_keeps_identity_marked_persons_apart_by_the_link_runs_rule() -> None:
    from linkage.persons import constraints
    from linkage.realtime import matcher as realtime

    assert realtime.IDENTITY_MARKERS is constraints.IDENTITY_MARKERS
    assert realtime.RESTRICTED == constraints.RESTRICTED_RECORD
    assert realtime.identity_kept_apart is constraints.identity_kept_apart


_ADOPTIVE_HOME = {"given_name": "Mia", "family_name": "Adoptingham", "dob": "2015-06-14",
                  "sex": "F", "postcode": "TA4 7WT", "address": "30 Grove Road, Tonebridge"}


def test_an_adopted_child_is_found_only_through_her_own_new_identifier(matcher: Matcher) -> None:
    """The link run's rule (``identity_kept_apart``), read from the query's side: a person with
    an identity marker is kept apart (``restricted-record``, never more than "possible") from a
    query sharing none of her marked records' NHS number or UPN, however alike; the query that
    carries either is hers. Unmarked, the same person is certain by likeness alone."""
    people = {"mia": [{"source": "health", "record_id": "h1", "nhs_number": "9434765919",
                       **_ADOPTIVE_HOME},
                      {"source": "education", "record_id": "e1", "upn": "A800201520018",
                       **_ADOPTIVE_HOME}]}
    query = {"source": "social_care", "record_id": "q", **_ADOPTIVE_HOME}
    marked = _laid_out(matcher, people, restricted=frozenset({"mia"}))
    [alike] = marked.match(query)
    assert alike.constraint == "restricted-record" and alike.grade == "possible"
    for identifier in ({"nhs_number": "9434765919"}, {"upn": "A800201520018"}):
        [own] = marked.match({**query, **identifier})
        assert own.constraint is None and own.grade == "certain", identifier
    [unmarked] = _laid_out(matcher, people).match(query)
    assert unmarked.constraint is None and unmarked.grade == "certain"


def test_a_querys_own_identity_marker_only_ever_keeps_it_apart(matcher: Matcher) -> None:
    """An agency matching its marked record (the adoptive school's) never finds the child's
    unmarked pre-adoption person by likeness; and claiming a marker unlocks no marked person: two
    marked records link in a run, but a query is kept from a marked person unless it carries one
    of her identifiers, as an unmarked one is."""
    people = {"mia": [{"source": "health", "record_id": "h1", "nhs_number": "9434765919",
                       **_ADOPTIVE_HOME}]}
    claimed = {"source": "social_care", "record_id": "q", "restriction": "Adoption",
               **_ADOPTIVE_HOME}
    [before] = _laid_out(matcher, people).match(claimed)
    assert before.constraint == "restricted-record" and before.grade == "possible"
    marked = _laid_out(matcher, people, restricted=frozenset({"mia"}))
    [unlocked] = marked.match(claimed)
    assert unlocked.constraint == "restricted-record" and unlocked.grade == "possible"
    [own] = marked.match({**claimed, "nhs_number": "9434765919"})
    assert own.constraint is None and own.grade == "certain"


_TWINS_HOME = {"family_name": "Warren", "dob": "2016-04-16", "sex": "F", "postcode": "BA2 2WH",
               "address": "84 Broadway Walk, Avonleigh"}


def test_a_query_that_fits_two_twins_is_held_as_the_run_holds_it(matcher: Matcher) -> None:
    """The 65k Lily: twins Lily and Lilly, a letter apart. A school record of "Lily" with a UPN
    of its own fits Lily best and Lilly within the margin, and the twins' records cannot be one
    child: the link run holds such a record, so no candidate is certain, and the two are named
    as each other's rival. Twins Lily and Lola are told apart by the name: Lily stays certain."""
    def twins(other: str) -> dict[str, list[dict[str, Any]]]:
        return {
            "lily": [{"source": "health", "record_id": "h1", "given_name": "Lily",
                      "nhs_number": "9052052611", **_TWINS_HOME}],
            "other": [{"source": "health", "record_id": "h2", "given_name": other,
                       "nhs_number": "9286096089", **_TWINS_HOME},
                      {"source": "education", "record_id": "e2", "given_name": other,
                       "upn": "A800201520018", **_TWINS_HOME}],
        }

    query = {"source": "education", "record_id": "q", "given_name": "Lily",
             "upn": "L800201520017", **_TWINS_HOME}
    held = laid = _laid_out(matcher, twins("Lilly")).match(query)
    assert held[0].person_id == "lily"
    assert all(c.grade == "possible" for c in held), held
    assert held[0].ambiguous_with == ("other",)
    named = _laid_out(matcher, twins("Lola")).match(query)
    assert named[0].person_id == "lily" and named[0].grade == "certain"
    assert not named[0].ambiguous_with
    del laid


def test_a_household_match_ranks_below_the_child_herself_and_is_never_graded_up(
        matcher: Matcher) -> None:
    """What the wrong top-1 answers at 65k had in common: a parent's school-contact record (no
    date of birth) at the family's home scored best against a relative there (same surname and
    house, another given name), a pair the link run never links (no personal evidence); her
    own record, from before she moved, scored lower. She ranks first; the relative is shown as
    "possible". Queried at her own old address she is found as before."""
    people = {
        "sarah": [{"source": "health", "record_id": "h1", "given_name": "Sarah",
                   "family_name": "Cross", "dob": "1993-05-09", "sex": "F",
                   "postcode": "BA5 7JT", "address": "12 Mill Lane, Wellbury",
                   "nhs_number": "9883111339"}],
        "chloe": [{"source": "health", "record_id": "h2", "given_name": "Chloe",
                   "family_name": "Cross", "dob": "2015-02-11", "sex": "F",
                   "postcode": "BA3 3QW", "address": "7 Church Street, Radstock",
                   "nhs_number": "9434765919"}],
    }
    laid = _laid_out(matcher, people)
    query = {"source": "education", "record_id": "q", "given_name": "Sarah",
             "family_name": "Cross", "postcode": "BA3 3QW",
             "address": "7 Church Street, Radstock"}
    found = laid.match(query)
    assert [c.person_id for c in found] == ["sarah", "chloe"], found
    assert found[1].match_weight > found[0].match_weight  # the score alone ranks the daughter first
    assert not found[1].personal_evidence and found[1].grade == "possible"
    own = laid.match({**query, "postcode": "BA5 7JT", "address": "12 Mill Lane, Wellbury"})
    assert own[0].person_id == "sarah" and own[0].personal_evidence


def test_real_time_holds_a_query_by_the_run_s_own_ambiguity_rule() -> None:
    from linkage.persons import clustering
    from linkage.realtime import matcher as realtime

    assert realtime.fits_two_people is clustering.fits_two_people
    assert clustering.ClusteringRules().link_threshold == realtime.LINK_THRESHOLD


_HOLFORD = {"family_name": "Holford", "sex": "M", "postcode": "TA4 5GS",
            "address": "117 Shoreditch Road, Tonebridge", "nhs_number": "9134998845"}


def test_a_person_named_parent_of_an_older_child_than_the_query_allows_is_kept_apart(
        matcher: Matcher) -> None:
    """The 1M Matthew: a social-care record with his NHS number names him father of a child
    born in 2012; a query for Matthew born 2005 would make him a father at seven, which the
    link run refuses (``parent-younger-than-child``) whatever identifier the two share. A
    Matthew born in 1985 is that father, found certain by the number."""
    laid = _laid_out(matcher, {"father": [{"source": "social_care", "record_id": "s1",
                                           "given_name": "Matthew", **_HOLFORD}]})
    row = laid.index.row_of("social_care:s1")
    assert row is not None
    laid.index.eldest_child_year[row] = 2012
    query = {"source": "health", "record_id": "q", "given_name": "Matthew", **_HOLFORD}
    young = laid.match({**query, "dob": "2005-04-19"})
    assert young[0].grade == "possible"
    assert young[0].constraint == "parent-younger-than-child"
    old = laid.match({**query, "dob": "1985-04-19"})
    assert old[0].grade == "certain" and old[0].constraint is None


def test_a_record_the_run_held_as_ambiguous_is_never_certain_in_real_time(
        matcher: Matcher) -> None:
    """The 1M Grace: a social-care record of "Grace" the run held between Grace and her twin
    Gracie (it fits both, so the run linked it to neither) scores certain against a query for
    Grace; it is shown as "possible", with the two it was held between. The same record,
    not held, is certain."""
    people = {"grace-sc": [{"source": "social_care", "record_id": "s1", "given_name": "Grace",
                            "family_name": "Murray-Farnton", "dob": "2014-11-03", "sex": "F",
                            "postcode": "TA3 1TA", "address": "139 Roman Street, Tonebridge"}]}
    query = {**people["grace-sc"][0], "source": "health", "record_id": "q"}
    plain = _laid_out(matcher, people)
    assert plain.match(query)[0].grade == "certain"
    laid = _laid_out(matcher, people)
    row = laid.index.row_of("social_care:s1")
    assert row is not None
    laid.index.held[row] = ("grace", "gracie")
    held = laid.match(query)[0]
    assert held.person_id == "grace-sc" and held.grade == "possible"
    assert held.ambiguous_with == ("grace", "gracie")


def test_the_index_reads_the_runs_holds_and_parents_from_a_linked_index(
        linked: tuple[Path, Path], matcher: Matcher) -> None:
    """What the two rules above read comes from the link run's own tables: each held record
    has only held pairs, none linked, and each parent's eldest-child year is a child's."""
    index = matcher.index
    with duckdb.connect(str(linked[1]), read_only=True) as con:
        outcomes: dict[str, set[str]] = {}
        for left, right, outcome in con.execute(
                "SELECT unique_id_l, unique_id_r, outcome FROM person_edges").fetchall():
            outcomes.setdefault(left, set()).add(outcome)
            outcomes.setdefault(right, set()).add(outcome)
        parents = con.execute(
            "SELECT source || ':' || record_id, source || ':' || related_record_id "
            "FROM relationships WHERE relationship IN ('mother', 'father', 'parent')").fetchall()
    assert index.eldest_child_year and parents
    held = {u for u, mine in outcomes.items()
            if "held:ambiguous" in mine and not any(o.startswith("linked") for o in mine)}
    assert {index.unique_ids[r] for r in index.held} == held
    assert all(len(between) >= 2 for between in index.held.values())
    years = {index.unique_ids[r]: y for r, y in index.eldest_child_year.items()}
    for parent, child in parents:
        dob = index.columns["dob"][index.row_of(child) or 0]
        if parent in years and dob:
            assert years[parent] <= int(dob[:4])

    # The household route reads the run's relationships: each parent names a child it reaches.
    for parent, child in parents[:200]:
        parent_row, child_row = index.row_of(parent), index.row_of(child)
        if parent_row is not None and child_row is not None:
            assert child_row in index.related_rows(parent_row).tolist()
            assert parent_row in index.related_rows(child_row).tolist()


_BLACKMORE_HOME = {"postcode": "TA3 3DS", "address": "18 Bath Drive, Tonebridge"}


def _stockstead_family(matcher: Matcher, namesakes: int = 1, stranger: bool = False
                       ) -> Matcher:
    """The 65k Josephine: her social-care record (born 1985, her maiden name, the flat she
    has since left) names her mother of Alex Blackmore, whose records give the family's home.
    ``namesakes`` Josephines are so named (a mother and a grandmother both Josephine)."""
    people: dict[str, list[dict[str, Any]]] = {
        "alex": [{"source": "social_care", "record_id": "c1", "given_name": "Alex",
                  "family_name": "Blackmore", "dob": "2017-11-30", "sex": "M",
                  **_BLACKMORE_HOME},
                 {"source": "health", "record_id": "c2", "given_name": "Alex",
                  "family_name": "Blackmore", "dob": "2017-11-30", "sex": "M",
                  "nhs_number": "9434765919", **_BLACKMORE_HOME}],
    }
    for n in range(namesakes):
        people[f"josephine-{n}"] = [{
            "source": "social_care", "record_id": f"m{n}", "given_name": "Josephine",
            "family_name": "Stockstead", "dob": f"{1985 - 25 * n}-04-24", "sex": "F",
            "postcode": "TA6 6DW", "address": f"{46 + n} Milverton Close, Tonebridge"}]
    if stranger:  # a Josephine Blakemore of another family, born 1961, across the county
        people["stranger"] = [{"source": "police", "record_id": "x1", "given_name": "Josephine",
                               "family_name": "Blakemore", "dob": "1961-07-02", "sex": "F",
                               "postcode": "BA1 4HJ", "address": "9 Quarry Lane, Avonleigh"}]
    laid = _laid_out(matcher, people)
    child = laid.index.row_of("social_care:c1")
    parents = [laid.index.row_of(f"social_care:m{n}") for n in range(namesakes)]
    laid.index.set_relationships([(p, child) for p in parents
                                  if p is not None and child is not None])
    return laid


_JOSEPHINE_QUERY = {"source": "education", "record_id": "q", "given_name": "Josephine",
                    "family_name": "Blackmore", "sex": "F", **_BLACKMORE_HOME}


def test_a_parent_under_another_surname_is_found_through_the_child_at_her_address(
        matcher: Matcher) -> None:
    """A school contact "Josephine Blackmore", no date of birth, at her son's home, shares
    nothing with her own record but the given name: no blocking rule pairs them, and scored
    alone she is below every floor. The child at that address names her as mother, so she is
    found, first, and only "possible" (the family is a reason to look, never a grade)."""
    laid = _stockstead_family(matcher)
    row = laid.index.row_of("social_care:m0")
    assert row not in laid.index.candidates(laid.standardise(_JOSEPHINE_QUERY)).tolist()
    found = laid.match(_JOSEPHINE_QUERY)
    assert found[0].person_id == "josephine-0", found
    assert found[0].grade == "possible" and found[0].probability < 0.5
    # Without the relationship nothing leads to her.
    laid.index.set_relationships([])
    assert "josephine-0" not in {c.person_id for c in laid.match(_JOSEPHINE_QUERY)}
    # Nor from another address: the route starts at the query's home.
    away = {**_JOSEPHINE_QUERY, "postcode": "BA1 1AA", "address": "3 Elm Road, Avonleigh"}
    assert "josephine-0" not in {c.person_id for c in _stockstead_family(matcher).match(away)}


def test_two_namesakes_in_the_family_are_neither_raised(matcher: Matcher) -> None:
    """A mother and a grandmother both Josephine: the family cannot say which the contact is,
    as the link run's household-parent rule cannot, so neither is raised on the family's word:
    each is shown on her score alone ("possible", ranked by weight), below a namesake the
    score itself puts first."""
    laid = _stockstead_family(matcher, namesakes=2)
    assert len(laid.index.household_candidates(laid.standardise(_JOSEPHINE_QUERY))) == 2
    # A Josephine Blakemore of another family outscores the mother (0.8 against 0.02), though
    # not by enough for the run to link her: the family's one Josephine ranks above her.
    one = _stockstead_family(matcher, stranger=True).match(_JOSEPHINE_QUERY)
    assert [c.person_id for c in one] == ["josephine-0", "stranger"]
    assert one[1].match_weight > one[0].match_weight and one[1].probability < 0.95
    # With two Josephines in the family, the score alone ranks: the stranger first.
    two = _stockstead_family(matcher, namesakes=2, stranger=True).match(_JOSEPHINE_QUERY)
    assert two[0].person_id == "stranger"
    assert {c.person_id for c in two[1:]} == {"josephine-0", "josephine-1"}
    assert {c.grade for c in two} == {"possible"}


def test_the_household_route_is_bounded_at_a_crowded_address(matcher: Matcher) -> None:
    """At an address with more records than ``HOME_RECORDS_MAX`` (a hostel) the household
    routes add nothing: their cost must be a family's, not a street's."""
    from linkage.realtime.index import HOME_RECORDS_MAX

    laid = _stockstead_family(matcher)
    assert len(laid.index.household_candidates(laid.standardise(_JOSEPHINE_QUERY))) == 1
    crowd = {f"resident-{n}": [{"source": "health", "record_id": f"r{n}", "given_name": f"Al{n}",
                                "family_name": f"Resident{n}", "dob": "1990-01-02",
                                **_BLACKMORE_HOME}] for n in range(HOME_RECORDS_MAX)}
    people = {"alex": [{"source": "social_care", "record_id": "c1", "given_name": "Alex",
                        "family_name": "Blackmore", "dob": "2017-11-30", **_BLACKMORE_HOME}],
              "josephine": [{"source": "social_care", "record_id": "m0",
                             "given_name": "Josephine", "family_name": "Stockstead",
                             "postcode": "TA6 6DW", "address": "46 Milverton Close"}], **crowd}
    crowded = _laid_out(matcher, people)
    mother, child = crowded.index.row_of("social_care:m0"), crowded.index.row_of("social_care:c1")
    assert mother is not None and child is not None
    crowded.index.set_relationships([(mother, child)])
    query = crowded.standardise(_JOSEPHINE_QUERY)
    assert len(crowded.index.home_candidates(query)) == 0
    assert len(crowded.index.household_candidates(query)) == 0


def test_a_misspelt_given_name_under_another_surname_is_found_at_the_same_address(
        matcher: Matcher) -> None:
    """The 65k Samantha: her health record reads "Samanha Norham", no date of birth; a police
    record of "Samantha Gill" at the same flat pairs with it under no blocking rule (another
    surname, a given name that is not the same canonical form or sound). Records at the query's
    address whose given name begins as hers are compared too, and she is found; a brother
    there (another name) is not even scored."""
    home = {"postcode": "BA2 2EP", "address": "122 Laburnum Drive, Avonleigh"}
    laid = _laid_out(matcher, {
        "samantha": [{"source": "health", "record_id": "h1", "given_name": "Samanha",
                      "family_name": "Norham", "sex": "F", "nhs_number": "9491226169",
                      **home}],
        "brother": [{"source": "health", "record_id": "h2", "given_name": "Tom",
                     "family_name": "Norham", "sex": "M", "dob": "2012-01-03", **home}]})
    query = {"source": "police", "record_id": "q", "given_name": "Samantha",
             "family_name": "Gill", "dob": "1991-10-08", "sex": "F", **home}
    features = laid.standardise(query)
    row = laid.index.row_of("health:h1")
    assert row is not None and row not in laid.index.candidates(features).tolist()
    assert laid.index.home_candidates(features).tolist() == [row]
    assert laid.match(query)[0].person_id == "samantha"


def test_a_double_barrelled_surname_is_found_by_its_first_part(matcher: Matcher) -> None:
    """The 65k Maximilian: his health record reads "Ridcombe Marby", his school record
    "Ridcombe", a day apart on the birthday and at another address; the two surnames differ in
    sound, so no blocking rule pairs them. The given name, the surname's first part and the
    year of birth do (``EXTRA_ROUTES``), and he is found."""
    laid = _laid_out(matcher, {"max": [{
        "source": "health", "record_id": "h1", "given_name": "Maximilian",
        "family_name": "Ridcombe Marby", "dob": "2014-08-29", "sex": "M",
        "nhs_number": "9406810832", "postcode": "BA5 9GJ", "address": "29 Highfield Road"}]})
    query = {"source": "education", "record_id": "q", "given_name": "Maximilian",
             "family_name": "Ridcombe", "dob": "2014-08-30", "sex": "M",
             "upn": "Z800200518013", "postcode": "BA2 9BY", "address": "130 Hill Close"}
    row = laid.index.row_of("health:h1")
    assert row not in laid.index.candidates(laid.standardise(query)).tolist()
    assert laid.match(query)[0].person_id == "max"
    assert not laid.match({**query, "dob": "2009-08-30"})  # another year: not this route
