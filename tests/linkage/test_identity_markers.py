"""Issue 16.2: former identifiers never join pre- and post-adoption records; the adoption marker
wins. An identity-marked record (adoption, gender recognition) joins a record without the marker
only through a verified identifier the marked record itself carries (its NHS number, its
permanent UPN), never by name, date of birth, address, a former UPN or a former surname. Two
marked records may link as any records do. One definition serves the link run and real time
(``identity_kept_apart``); a pair it keeps apart is named ``restricted-record``.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from typer.testing import CliRunner

from kinlink.cli import app
from linkage.persons.constraints import (
    IDENTITY_MARKERS,
    RESTRICTED_RECORD,
    RecordFacts,
    identity_kept_apart,
    identity_marker,
    record_facts,
)
from linkage.standardise.records import is_adoption_marked, restriction_of
from linkage.standardise.upn import upn_check_letter
from linkage.synth import generate_population
from linkage.synth.identifiers import NhsNumberIssuer
from tests.linkage.scored_pairs import child, cluster

BIRTH_UPN = upn_check_letter("823456789012") + "823456789012"
NEW_UPN = upn_check_letter("923456789013") + "923456789013"
BIRTH_NHS, NEW_NHS = "9434765919", "9434765870"


def pre_adoption(**changes: object) -> RecordFacts:
    """The school's record from before the adoption: the birth UPN, the birth surname."""
    values: dict[str, object] = {"source": "education", "upn": BIRTH_UPN, "family_name": "lee",
                                 "address_key": "4|TA1 2AB"}
    return replace(child("mia", "2015-06-14"), **(values | changes))  # type: ignore[arg-type]


def post_adoption(**changes: object) -> RecordFacts:
    """The same child's record after the adoption, marked: a new NHS number and a new UPN. The
    former UPN and surname never reach the facts for an adopted child (``standardise.records``),
    so what is left to agree on is the name, the date of birth and whatever address is shared."""
    values: dict[str, object] = {"upn": NEW_UPN, "family_name": "adoptingham",
                                 "address_key": "4|TA1 2AB", "identity_marked": True}
    return replace(child("mia", "2015-06-14", nhs=NEW_NHS),
                   **(values | changes))  # type: ignore[arg-type]


def test_an_adopted_child_is_not_joined_to_the_pre_adoption_record_by_likeness() -> None:
    # Same given name, date of birth and house: the UPNs differ, but the re-issue rule (same
    # day, same first name) reads that as one child, and the score is high.
    result = cluster([pre_adoption(), post_adoption()], [(0, 1, 0.9999)])
    assert result.labels[0] != result.labels[1]
    assert result.edge_outcomes == [f"constraint:{RESTRICTED_RECORD}"]


def test_a_gender_recognition_record_is_not_joined_by_its_former_upn() -> None:
    # Unlike an adopted child's, its former UPN reaches the facts: it must not count.
    earlier = pre_adoption()
    renamed = post_adoption(family_name="lee", former_upn=BIRTH_UPN)
    result = cluster([earlier, renamed], [(0, 1, 0.99999)])
    assert result.labels[0] != result.labels[1]
    assert result.edge_outcomes == [f"constraint:{RESTRICTED_RECORD}"]


def test_two_marked_records_of_the_new_identity_link() -> None:
    # The adoptive GP's record and the new school's: both carry the marker.
    school = post_adoption(nhs_number=None, source="education")
    gp = post_adoption(upn=None)
    result = cluster([school, gp], [(0, 1, 0.999)])
    assert result.labels[0] == result.labels[1]
    assert result.edge_outcomes == ["linked"]


def test_a_marker_added_to_an_existing_child_keeps_the_records_sharing_its_number() -> None:
    # The look-alike that must still link: the marker arrived on the GP record of a child whose
    # other records already carry the same NHS number (or the same UPN).
    marked = post_adoption(family_name="lee")
    by_nhs = replace(marked, identity_marked=False, upn=None, source="social_care")
    by_upn = replace(marked, identity_marked=False, nhs_number=None, source="education")
    result = cluster([marked, by_nhs, by_upn], [(0, 1, 0.999), (0, 2, 0.999)])
    assert len(set(result.labels.tolist())) == 1
    assert result.edge_outcomes == ["linked", "linked"]


def test_a_record_without_the_number_does_not_ride_in_with_a_record_that_has_it() -> None:
    """Between a record and a person the rule reads the person's marked records: a police
    record with no identifier stays apart from the adopted child's person even when that person
    holds an unmarked record sharing the marked one's number; a marked record joins a person of
    unmarked records that one of them shares its number with."""
    marked = post_adoption()
    sharing = replace(marked, identity_marked=False, upn=None, source="social_care")
    police = replace(marked, identity_marked=False, nhs_number=None, upn=None, source="police")
    # The shared number links first (strongest), then the police record meets a marked person.
    result = cluster([marked, sharing, police], [(0, 1, 0.99999), (1, 2, 0.999)])
    assert result.labels[0] == result.labels[1] != result.labels[2]
    assert result.edge_outcomes == ["linked", f"constraint:{RESTRICTED_RECORD}"]
    # The other way round: the unmarked two first, then the marked record meets them.
    result = cluster([marked, sharing, police], [(1, 2, 0.99999), (0, 1, 0.999)])
    assert result.labels[1] == result.labels[2] and result.labels[0] == result.labels[1]
    assert identity_kept_apart([marked], [police])
    assert not identity_kept_apart([marked], [sharing, police])
    assert identity_kept_apart([marked, sharing], [police])


def test_a_reviewer_cannot_join_the_two_identities() -> None:
    """The adoption marker wins over a reviewer's "same person" too: the decision is surfaced
    as a conflict, never applied."""
    result = cluster([pre_adoption(), post_adoption()], [], must_link=[(0, 1)])
    assert result.labels[0] != result.labels[1]
    assert result.conflicts == [(0, 1, RESTRICTED_RECORD)]


def test_the_marker_is_read_one_way_and_only_identity_markers_count() -> None:
    assert {"adoption", "gender-recognition"} == IDENTITY_MARKERS
    assert identity_marker(" Adoption ") == "adoption"
    assert identity_marker("gender-recognition") == "gender-recognition"
    assert identity_marker("refuge-address") is None and identity_marker("nhs-restricted") is None
    assert identity_marker(None) is None and identity_marker(float("nan")) is None
    features = {"given_name": "mia", "upn": NEW_UPN, "upn_is_temporary": False}
    assert record_facts(features, "adoption").identity_marked
    assert not record_facts(features, "refuge-address").identity_marked
    assert not record_facts(features).identity_marked
    # Read from the attributes as the reader stores them, in any case.
    assert restriction_of('{"restriction": " Adoption "}') == "adoption"
    assert restriction_of('{"school_urn": "106342"}') is None and restriction_of(None) is None
    assert is_adoption_marked('{"restriction": "Adoption"}')
    # Other restricted markers constrain nothing: two such records link as before.
    refuge = replace(pre_adoption(), identity_marked=False)
    result = cluster([refuge, replace(refuge, source="health")], [(0, 1, 0.999)])
    assert result.labels[0] == result.labels[1]


# --- End to end: a link run over a population with the two identities of one child. ---

@pytest.fixture(scope="module")
def linked(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pd.DataFrame, dict[str, str]]:
    """A synthetic population plus two extracts naming four of its pupils again:

    - ``adopted``: a new school's census record and the adoptive GP's record, both marked
      ``adoption``, with a new UPN and NHS number, the adoptive surname and home; the census
      record names the birth UPN and surname as former identifiers;
    - ``kinship``: a census record marked ``adoption`` (adopted by the relatives she lives
      with), a new UPN and surname, the birth ones as former identifiers, the same name, date
      of birth and home as her own pre-adoption school record;
    - ``renamed``: a census record marked ``gender-recognition``, a new UPN, the old one as its
      former UPN, everything else as the pupil's own school record;
    - ``marked later``: a census record carrying the pupil's own UPN and the adoption marker.
    """
    sources = tmp_path_factory.mktemp("population")
    generate_population(sources, families=300, seed=5)
    education = pd.read_csv(sources / "education.csv", dtype=str, keep_default_na=False)
    pupils = education[(education["upn"].str.len() == 13)
                       & (education["restriction"] == "")
                       & education["dob"].str[-2:].between("12", "19")].drop_duplicates("upn")
    adopted, renamed, later, kinship = (pupils.iloc[n] for n in range(1, 5))

    def upn(body: str) -> str:
        return upn_check_letter(body) + body

    new_home = {"postcode": "TA9 9ZZ", "address": "1 Adoption Lane, Tonebridge"}
    census = [
        {"record_id": "A1", "upn": upn("999000000011"), "former_upn": adopted["upn"],
         "former_family_name": adopted["family_name"], "given_name": adopted["given_name"],
         "family_name": "Adoptingham", "dob": adopted["dob"], "sex": adopted["sex"],
         **new_home, "restriction": "adoption"},
        {"record_id": "G1", "upn": upn("999000000012"), "former_upn": renamed["upn"],
         "former_family_name": "", "given_name": renamed["given_name"],
         "family_name": renamed["family_name"], "dob": renamed["dob"], "sex": renamed["sex"],
         "postcode": renamed["postcode"], "address": renamed["address"],
         "restriction": "gender-recognition"},
        {"record_id": "K1", "upn": upn("999000000013"), "former_upn": kinship["upn"],
         "former_family_name": kinship["family_name"], "given_name": kinship["given_name"],
         "family_name": "Kinsford", "dob": kinship["dob"], "sex": kinship["sex"],
         "postcode": kinship["postcode"], "address": kinship["address"],
         "restriction": "adoption"},
        {"record_id": "M1", "upn": later["upn"], "former_upn": "", "former_family_name": "",
         "given_name": later["given_name"], "family_name": later["family_name"],
         "dob": later["dob"], "sex": later["sex"], "postcode": later["postcode"],
         "address": later["address"], "restriction": "adoption"},
    ]
    pd.DataFrame(census).to_csv(sources / "census.csv", index=False)
    (sources / "census.yaml").write_text(
        "agency: education\ncategories: {restriction: restricted-marker}\n")
    gp = [{"record_id": "P1", "nhs_number": NhsNumberIssuer(99).issue(),
           "given_name": adopted["given_name"], "family_name": "Adoptingham",
           "dob": adopted["dob"], "sex": adopted["sex"], **new_home, "restriction": "adoption"}]
    pd.DataFrame(gp).to_csv(sources / "adoptive_gp.csv", index=False)
    (sources / "adoptive_gp.yaml").write_text(
        "agency: health\ncategories: {restriction: restricted-marker}\n")
    db = tmp_path_factory.mktemp("index") / "kinlink.duckdb"
    result = CliRunner().invoke(app, ["link", "--sources", str(sources), "--db", str(db)])
    assert result.exit_code == 0, result.output
    with duckdb.connect(str(db), read_only=True) as con:
        links = con.execute("SELECT unique_id, person_id, family_id FROM record_links").df()
    keys = {"adopted": f"education:{adopted['record_id']}",
            "renamed": f"education:{renamed['record_id']}",
            "later": f"education:{later['record_id']}",
            "kinship": f"education:{kinship['record_id']}"}
    return db, links.set_index("unique_id"), keys


def _outcomes(db: Path, record: str, person_of: str) -> set[str]:
    """The outcomes of the scored pairs between ``record`` and the records of the person that
    ``person_of`` is in (the strongest may be her health record, not her school's)."""
    with duckdb.connect(str(db), read_only=True) as con:
        return {r[0] for r in con.execute(
            """SELECT e.outcome FROM person_edges e
               JOIN record_links l ON l.unique_id IN (e.unique_id_l, e.unique_id_r)
               WHERE ? IN (e.unique_id_l, e.unique_id_r) AND l.unique_id <> ?
                 AND l.person_id = (SELECT person_id FROM record_links WHERE unique_id = ?)""",
            [record, record, person_of]).fetchall()}


def test_the_adopted_child_is_two_persons_and_not_in_the_birth_family(
        linked: tuple[Path, pd.DataFrame, dict[str, str]]) -> None:
    _, links, keys = linked
    person, family = links["person_id"], links["family_id"]
    birth = keys["adopted"]
    # The two marked records of the new identity are one person...
    assert person["census:A1"] == person["adoptive_gp:P1"]
    # ...who is neither the pre-adoption child nor in the birth family.
    assert person["census:A1"] != person[birth]
    assert family["census:A1"] != family[birth]


def test_an_adopted_child_at_her_old_home_is_kept_from_the_pre_adoption_record_and_named(
        linked: tuple[Path, pd.DataFrame, dict[str, str]]) -> None:
    """Against her pre-adoption records (the school's, the GP's) the name, date of birth, home
    and sex agree; the UPNs differ, but one day and one name read as a re-issued number, and
    her new record has no NHS number to differ: only the marker keeps the identities apart."""
    db, links, keys = linked
    assert links.loc["census:K1", "person_id"] != links.loc[keys["kinship"], "person_id"]
    assert f"constraint:{RESTRICTED_RECORD}" in _outcomes(db, "census:K1", keys["kinship"])


def test_a_gender_recognition_record_is_kept_from_the_earlier_one_and_named(
        linked: tuple[Path, pd.DataFrame, dict[str, str]]) -> None:
    db, links, keys = linked
    assert links.loc["census:G1", "person_id"] != links.loc[keys["renamed"], "person_id"]
    assert f"constraint:{RESTRICTED_RECORD}" in _outcomes(db, "census:G1", keys["renamed"])


def test_a_marked_record_sharing_the_childs_own_upn_links(
        linked: tuple[Path, pd.DataFrame, dict[str, str]]) -> None:
    _, links, keys = linked
    assert links.loc["census:M1", "person_id"] == links.loc[keys["later"], "person_id"]
