"""Extracts with no identifiers and no UK postcodes (the shape of public benchmarks such as FEBRL)
link end to end: names, dates of birth and addresses with foreign postcodes only."""

import contextlib
import json
import random
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from splink.internals.duckdb.database_api import DuckDBAPI
from typer.testing import CliRunner

from kinlink.cli import app
from linkage.evaluation import evaluate_export
from linkage.features import prepare_sources
from linkage.model.training import _estimate_prior, _prior, new_linker

runner = CliRunner()

GIVEN = ["amelia", "oliver", "charlotte", "jack", "isla", "noah", "mia", "william", "ava",
         "lucas", "grace", "thomas", "chloe", "ethan", "ruby", "liam", "zoe", "harrison",
         "sienna", "cooper", "matilda", "riley", "evie", "archer", "ivy", "hudson", "willow",
         "lachlan", "piper", "flynn", "ella", "beau", "harper", "mason", "sadie", "jasper"]
FAMILY = ["nguyen", "kowalczyk", "oconnor", "papadopoulos", "fitzgerald", "mcallister",
          "thorburn", "vanderbilt", "abernethy", "castellano", "drummond", "esposito",
          "fairweather", "gallagher", "hollingsworth", "ivanova", "jovanovic", "kettering",
          "lindqvist", "montgomery", "nakamura", "ostrowski", "pemberton", "quintero",
          "rasmussen", "sutherland", "tremblay", "underwood", "valentino", "whitfield"]
STREETS = ["banksia", "wattle", "jacaranda", "kookaburra", "boronia", "grevillea", "waratah",
           "bottlebrush", "coolabah", "ironbark", "tallowwood", "lillypilly"]
KINDS = ["street", "crescent", "place", "avenue", "circuit", "close"]


def _typo(word: str, rng: random.Random) -> str:
    """One keying error of the kinds a clerk makes: two letters swapped, or one doubled."""
    if len(word) < 3:
        return word
    i = rng.randrange(1, len(word) - 1)
    if rng.random() < 0.5:
        return word[: i - 1] + word[i] + word[i - 1] + word[i + 1:]
    return word[:i] + word[i] + word[i:]


def write_population(directory: Path, seed: int = 5, postcodes: bool = True,
                     people_count: int = 400) -> pd.DataFrame:
    """``people_count`` people, most with one or two noisy duplicates, plus a pair of twins; returns truth.

    Big enough that two random records are rarely one person: the model estimates how often
    strangers agree (u) from random pairs, which a few dozen records would fill with true pairs.
    """
    rng = random.Random(seed)
    directory.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, str]] = []
    people = []
    for number in range(people_count):
        people.append({
            "given": rng.choice(GIVEN), "family": rng.choice(FAMILY),
            "dob": f"{rng.randint(1935, 2015)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
            "house": str(rng.randint(1, 240)),
            "street": f"{rng.choice(STREETS)} {rng.choice(KINDS)}",
            "postcode": f"{rng.choice('234567')}{rng.randint(0, 999):03d}",
            "person": f"p{number}",
        })
    # Twins: one surname, date of birth and address, two given names. Never one person.
    twin = dict(people[0], given="harriet", person="p-twin")
    people.append(twin)
    for person in people:
        copies = 1 if person["person"] in ("p0", "p-twin") else rng.choice([1, 1, 2, 2, 3])
        for copy in range(copies):
            given, family, house = person["given"], person["family"], person["house"]
            street, postcode = person["street"], person["postcode"]
            if copy:  # a duplicate: one or two errors
                for error in rng.sample(["given", "family", "street", "postcode", "blank",
                                         "house"], rng.choice([1, 2])):
                    if error == "given":
                        given = _typo(given, rng)
                    elif error == "family":
                        family = _typo(family, rng)
                    elif error == "street":
                        street = _typo(street, rng)
                    elif error == "postcode":
                        postcode = postcode[0] + postcode[1:][::-1]
                    elif error == "blank":
                        given = ""
                    else:
                        house = ""
            rows.append({
                "record_id": f"r{len(rows):03d}", "given_name": given.title(),
                "family_name": family.upper() if copy else family.title(),
                "dob": person["dob"], "sex": "",
                "postcode": postcode if postcodes else "",
                "address": f"{house} {street}, {rng.choice(['north', 'east'])}ville".strip(),
                "person": person["person"],
            })
    frame = pd.DataFrame(rows)
    frame.drop(columns="person").to_csv(directory / "register.csv", index=False)
    return pd.DataFrame({"source": "register", "record_id": frame["record_id"],
                         "person_id": frame["person"]})


def exact_match_recall(path: Path, truth: pd.DataFrame) -> float:
    """Share of true pairs that agree exactly (case aside) on name, date of birth and postcode."""
    records = pd.read_csv(path, dtype=str, keep_default_na=False).merge(truth, on="record_id")
    key = records[["given_name", "family_name", "dob", "postcode"]].apply(
        lambda column: column.str.lower()).agg("|".join, axis=1)
    pairs = records.assign(key=key).merge(records.assign(key=key), on="person_id")
    pairs = pairs[pairs["record_id_x"] < pairs["record_id_y"]]
    return float((pairs["key_x"] == pairs["key_y"]).mean())


def linked_identities(db: Path) -> pd.DataFrame:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute("SELECT source, record_id, person_id FROM record_links").df()


@pytest.fixture(scope="module")
def population(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pd.DataFrame]:
    directory = tmp_path_factory.mktemp("febrl-like")
    return directory, write_population(directory / "sources")


def test_an_identifier_free_population_with_foreign_postcodes_links_precisely(
    population: tuple[Path, pd.DataFrame],
) -> None:
    directory, truth = population
    db = directory / "kinlink.duckdb"
    result = runner.invoke(app, ["link", "--sources", str(directory / "sources"), "--db",
                                 str(db), "--json"])
    assert result.exit_code == 0, result.output
    identities = linked_identities(db)
    persons = evaluate_export(identities, truth)["persons"]
    assert persons.precision == 1.0, persons
    # Every duplicate carries an error, so matching on exact values finds few of them; the
    # model must find most. (A few hundred records make every name and date look common to the
    # term-frequency adjustments, so this is below what FEBRL's thousands reach.)
    exact = exact_match_recall(directory / "sources" / "register.csv", truth)
    assert exact < 0.4
    assert persons.recall >= 0.7, persons
    twins = identities.set_index("record_id").loc[
        truth.loc[truth["person_id"].isin(["p0", "p-twin"]), "record_id"], "person_id"]
    assert twins.nunique() == 2

    # The postcodes were compared, not thrown away: one note for the file, no row rejected.
    rejects = pd.read_csv(db.with_name("kinlink.rejects.csv"), dtype=str, keep_default_na=False)
    postcode = rejects[rejects["field"] == "postcode"]
    assert len(postcode) == 1 and postcode["row"].iloc[0] == "", rejects
    assert "not in the UK format" in postcode["problem"].iloc[0]


def test_retraining_without_identifiers_or_postcodes_keeps_every_comparison(
    tmp_path: Path,
) -> None:
    """No deterministic rule can fire and the NHS-number EM session finds no pair: the run must
    still finish, with the identifier comparisons still in the model it saves."""
    truth = write_population(tmp_path / "sources", seed=9, postcodes=False)
    db = tmp_path / "kinlink.duckdb"
    result = runner.invoke(app, ["link", "--sources", str(tmp_path / "sources"), "--db", str(db),
                                 "--retrain", "--json"])
    assert result.exit_code == 0, result.output
    with duckdb.connect(str(db), read_only=True) as con:
        model = json.loads(
            con.execute("SELECT value FROM meta WHERE key = 'model_json'").fetchall()[0][0])
    columns = [c["output_column_name"] for c in model["comparisons"]]
    assert {"nhs_number", "upn", "former_upn", "local_id_key"} <= set(columns)
    assert 0 < model["probability_two_random_records_match"] < 1
    persons = evaluate_export(linked_identities(db), truth)["persons"]
    assert persons.precision >= 0.99, persons


def test_the_prior_falls_back_to_one_match_per_record_when_nothing_agrees_exactly(
    tmp_path: Path,
) -> None:
    sources = tmp_path / "sources"
    sources.mkdir()
    pd.DataFrame({"record_id": ["a", "b", "c", "d", "e"],
                  "given_name": ["Ava", "Ava", "Mia", "Noah", "Zoe"],
                  "family_name": ["Nguyen", "Nguyen", "Ivanova", "Drummond", "Tremblay"],
                  "dob": ["2010-01-02", "2010-01-03", "", "2001-05-06", "1999-09-09"]}
                 ).to_csv(sources / "register.csv", index=False)
    features = prepare_sources(sources).features
    with contextlib.closing(duckdb.connect()) as con:
        con.register("features_df", features)
        con.execute("CREATE TABLE record_features AS SELECT * FROM features_df")
        linker = new_linker(DuckDBAPI(connection=con), "record_features")
        _estimate_prior(linker)
        assert _prior(linker) == pytest.approx(1 / 4)
