"""Former identifiers in the model (issue 16.2): a former UPN that is the other record's UPN, one
UPRN, a former family name, an expected date of birth — each agrees in the model's SQL and in the
real-time levels alike; and none of them ever joins a pre- and a post-adoption record (the
adoption marker wins), which the end-to-end link below checks on a synthetic population."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pytest
from typer.testing import CliRunner

from kinlink.cli import app
from linkage.model.comparisons import AddressLevel, DobLevel, FamilyNameLevel, IdentifierLevel
from linkage.model.store import load_model
from linkage.persons.constraints import RecordFacts, reissued_upn
from linkage.realtime.levels import GAMMA_FUNCTIONS
from linkage.standardise.upn import upn_check_letter
from linkage.synth import generate_population
from tests.linkage.comparison_sql import sql_level

UPN_OLD = upn_check_letter("823456789012") + "823456789012"
UPN_NEW = upn_check_letter("923456789013") + "923456789013"


def record(**values: object) -> dict[str, object]:
    base: dict[str, object] = {
        "upn": None, "former_upn": None, "family_name": "lee", "former_family_name": None,
        "given_name": "mia", "dob": None, "expected_dob": None, "dob_is_jan1": False,
        "uprn": None, "address_key": None, "address_line_key": None, "postcode": None,
        "postcode_sector": None, "postcode_district": None, "family_name_tokens": ["lee"],
        "family_name_metaphone": "L"}
    return base | values


def both(column: str, left: dict[str, object], right: dict[str, object]) -> int:
    """The level from the model's SQL, after checking the real-time levels give the same."""
    level = sql_level(column, left, right)
    assert GAMMA_FUNCTIONS[column](left, right) == level, column
    return level


def test_a_former_upn_that_is_the_others_upn_agrees() -> None:
    moved = record(upn=UPN_NEW, former_upn=UPN_OLD)
    assert both("former_upn", moved, record(upn=UPN_OLD)) == IdentifierLevel.IDENTICAL
    assert both("former_upn", record(upn=UPN_OLD), moved) == IdentifierLevel.IDENTICAL
    assert both("former_upn", moved, record(upn="X" + UPN_OLD[1:])) == IdentifierLevel.DIFFERENT
    # Nothing to compare: no former UPN, or nothing on the other side to hold it against.
    assert both("former_upn", record(upn=UPN_OLD), record(upn=UPN_NEW)) == IdentifierLevel.NULL
    assert both("former_upn", moved, record()) == IdentifierLevel.NULL


def test_a_former_upn_lets_the_upn_constraint_see_one_child() -> None:
    def facts(upn: str, former: str | None, dob: str) -> RecordFacts:
        return RecordFacts(nhs_number=None, dob=dob, given_name="mia", given_name_canonical="mia",
                           given_name_metaphone="M", given_names_all=frozenset(["mia"]),
                           upn=upn, former_upn=former)

    # A date of birth with a typo: the re-issue rule alone would keep the two UPNs apart.
    assert not reissued_upn(facts(UPN_NEW, None, "2015-01-03"), facts(UPN_OLD, None, "2015-01-02"))
    assert reissued_upn(facts(UPN_NEW, UPN_OLD, "2015-01-03"), facts(UPN_OLD, None, "2015-01-02"))


def test_one_uprn_is_one_house_whatever_the_postcodes_say() -> None:
    left = record(uprn="100023336956", postcode="TA1 2AB", postcode_sector="TA1 2",
                  postcode_district="TA1")
    right = record(uprn="100023336956", postcode="TA9 9ZZ", postcode_sector="TA9 9",
                   postcode_district="TA9")
    assert both("address", left, right) == AddressLevel.SAME_HOUSE
    assert both("address", left, right | {"uprn": "100023336957"}) == AddressLevel.DIFFERENT_AREA
    assert both("address", record(uprn="1"), record(uprn="1")) == AddressLevel.SAME_HOUSE


def test_a_former_family_name_is_the_family_name() -> None:
    renamed = record(family_name="smith", former_family_name="lee", family_name_tokens=["smith"],
                     family_name_metaphone="SM0")
    assert both("family_name", renamed, record()) == FamilyNameLevel.EXACT
    assert both("family_name", record(), renamed) == FamilyNameLevel.EXACT
    assert both("family_name", renamed | {"former_family_name": None}, record()) == (
        FamilyNameLevel.DIFFERENT)


def test_an_expected_date_of_birth_is_within_weeks_of_the_birth_at_most() -> None:
    unborn = record(expected_dob="2024-03-10")
    assert both("dob", unborn, record(dob="2024-03-30")) == DobLevel.WITHIN_45_DAYS
    assert both("dob", unborn, record(dob="2024-03-10")) == DobLevel.WITHIN_45_DAYS  # not "exact"
    assert both("dob", unborn, record(dob="2024-06-30")) == DobLevel.DIFFERENT
    assert both("dob", unborn, record()) == DobLevel.NULL
    # A real date of birth is compared as it always was; an expected one beside it is ignored.
    assert both("dob", record(dob="2024-03-10", expected_dob="2024-01-01"),
                record(dob="2024-03-10")) == DobLevel.EXACT


@pytest.fixture(scope="module")
def linked(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pd.DataFrame, str]:
    """A synthetic population plus a school census file naming two of its children again: one
    who moved school (new UPN, the old one as former UPN, a mistyped date of birth), and one
    adopted since (new UPN and family name, the old ones as former identifiers, the marker)."""
    sources = tmp_path_factory.mktemp("population")
    generate_population(sources, families=300, seed=5)
    education = pd.read_csv(sources / "education.csv", dtype=str, keep_default_na=False)
    pupils = education[(education["upn"].str.len() == 13)
                       & education["dob"].str[-2:].between("12", "19")].drop_duplicates("upn")
    moved, adopted = pupils.iloc[0], pupils.iloc[1]

    def upn(body: str) -> str:
        return upn_check_letter(body) + body

    rows = [
        {"record_id": "C1", "upn": upn("999000000001"), "former_upn": moved["upn"],
         "former_family_name": "", "given_name": moved["given_name"],
         "family_name": moved["family_name"],
         "dob": moved["dob"][:-1] + str(int(moved["dob"][-1]) - 1), "sex": moved["sex"],
         "postcode": "", "address": "", "restriction": ""},
        {"record_id": "C2", "upn": upn("999000000002"), "former_upn": adopted["upn"],
         "former_family_name": adopted["family_name"], "given_name": adopted["given_name"],
         "family_name": "Adoptingham", "dob": adopted["dob"], "sex": adopted["sex"],
         "postcode": "", "address": "", "restriction": "adoption"},
        # The same record without the marker: what the former identifiers would do unguarded.
        {"record_id": "C3", "upn": upn("999000000003"), "former_upn": adopted["upn"],
         "former_family_name": adopted["family_name"], "given_name": adopted["given_name"],
         "family_name": "Adoptingham", "dob": adopted["dob"], "sex": adopted["sex"],
         "postcode": "", "address": "", "restriction": ""},
    ]
    pd.DataFrame(rows).to_csv(sources / "census.csv", index=False)
    (sources / "census.yaml").write_text(
        "agency: education\ncategories: {restriction: restricted-marker}\n")
    db = tmp_path_factory.mktemp("index") / "kinlink.duckdb"
    result = CliRunner().invoke(app, ["link", "--sources", str(sources), "--db", str(db)])
    assert result.exit_code == 0, result.output
    with duckdb.connect(str(db), read_only=True) as con:
        links = con.execute("SELECT source, record_id, person_id FROM record_links").df()
    people = links.set_index(["source", "record_id"])["person_id"]
    return db, pd.DataFrame({
        "census": [people[("census", "C1")], people[("census", "C2")]],
        "education": [people[("education", moved["record_id"])],
                      people[("education", adopted["record_id"])]],
    }, index=["moved", "adopted"]), f"education:{adopted['record_id']}"


def test_a_childs_former_upn_joins_the_record_of_their_old_school(
        linked: tuple[Path, pd.DataFrame, str]) -> None:
    _, people, _ = linked
    assert people.loc["moved", "census"] == people.loc["moved", "education"]


def test_an_adopted_childs_former_identifiers_never_join_the_pre_adoption_record(
        linked: tuple[Path, pd.DataFrame, str]) -> None:
    """The marked record's former UPN and former family name never reach a comparison: against
    the pre-adoption school record its former-UPN level is "nothing to compare" and its family
    name "different"; the same record without the marker agrees on both."""
    db, _, pre_adoption = linked
    model = load_model()
    assert model is not None
    names = [c["output_column_name"] for c in model["comparisons"]]
    with duckdb.connect(str(db), read_only=True) as con:
        former = con.execute("SELECT former_upn, former_family_name FROM record_features "
                             "WHERE unique_id = 'census:C2'").fetchone()
        gammas = dict(con.execute(
            "SELECT CASE WHEN unique_id_l LIKE 'census:%' THEN unique_id_l ELSE unique_id_r END, "
            "gamma FROM pair_comparisons WHERE ? IN (unique_id_l, unique_id_r) "
            "AND 'census:C1' NOT IN (unique_id_l, unique_id_r)", [pre_adoption]).fetchall())
    assert former == (None, None)
    marked, unmarked = gammas["census:C2"], gammas["census:C3"]
    assert marked[names.index("former_upn")] == IdentifierLevel.NULL
    assert marked[names.index("family_name")] == FamilyNameLevel.DIFFERENT
    assert unmarked[names.index("former_upn")] == IdentifierLevel.IDENTICAL
    assert unmarked[names.index("family_name")] == FamilyNameLevel.EXACT
