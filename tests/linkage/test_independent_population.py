"""The independent population generator keeps the source-extract contract kinlink ingests.

If it drifted from the contract, a bad score on it would say nothing about linkage; these checks
read its files with kinlink's own ingest, so the only rejects are the ones it meant to make.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pandas as pd
import pytest

from bench.independent_population import generate, nhs_check_digit, upn_check_letter
from linkage.ingest.reader import read_sources

_FAMILIES = 200


@pytest.fixture(scope="module")
def population(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("independent")
    generate(out, families=_FAMILIES, seed=3)
    return out


@pytest.fixture(scope="module")
def notes(population: Path) -> pd.DataFrame:
    return pd.read_csv(population / "truth" / "record_notes.csv", dtype=str,
                       keep_default_na=False)


def _tags(notes: pd.DataFrame) -> Counter[str]:
    return Counter(t for cell in notes["notes"] for t in cell.split(";") if t)


def test_every_file_ingests_with_only_the_deliberate_rejects(population: Path,
                                                             notes: pd.DataFrame) -> None:
    result = read_sources(population)
    assert set(result.sources) == {"health", "education", "social_care", "police"}
    tags = _tags(notes)
    problems = Counter(r.problem for r in result.rejects)
    assert problems == Counter({
        "NHS number fails its check digit": tags["nhs_mistyped"],
        "NHS number is a placeholder": tags["nhs_placeholder"],
    }) + Counter()  # drop zero counts
    # Police uses its own column names, UK dates and words for sex, through police.yaml.
    police = result.sources["police"]
    assert police["dob"].dropna().str.match(r"^\d{4}-\d{2}-\d{2}$").all()
    assert set(police["sex"].dropna()) <= {"M", "F", "U"}
    assert police["nhs_number"].isna().all() and police["upn"].isna().all()
    assert result.attribute_categories["police"] == {"warning_markers": "criminal-offence"}
    assert len(result.relationships) > 0


def test_truth_covers_every_record_once(population: Path) -> None:
    result = read_sources(population)
    ingested = {(s, r) for s, frame in result.sources.items() for r in frame["record_id"]}
    truth = pd.read_csv(population / "truth" / "truth.csv", dtype=str)
    assert list(truth.columns) == ["source", "record_id", "person_id", "family_id"]
    assert not truth.duplicated(["source", "record_id"]).any()
    assert set(zip(truth["source"], truth["record_id"], strict=True)) == ingested
    assert truth["family_id"].nunique() == _FAMILIES
    # A person belongs to one family.
    assert truth.groupby("person_id")["family_id"].nunique().max() == 1


def test_identifiers_are_valid_where_meant_to_be(population: Path) -> None:
    health = pd.read_csv(population / "health.csv", dtype=str, keep_default_na=False)
    education = pd.read_csv(population / "education.csv", dtype=str, keep_default_na=False)
    digits = health["nhs_number"].str.replace(r"[ -]", "", regex=True)
    valid = digits[digits.str.len() == 10].map(
        lambda d: nhs_check_digit(d[:9]) == int(d[9]))
    assert valid.mean() > 0.98  # the rest are the deliberate mistypes and placeholders
    upn = education["upn"].str.strip()
    assert (upn.str.len() == 13).all()
    assert (upn.str[0] == upn.str[1:].map(upn_check_letter)).all()
    assert education["nhs_number"].ne("").mean() < 0.1  # schools rarely hold one


def test_every_hard_case_is_present(population: Path, notes: pd.DataFrame) -> None:
    tags = _tags(notes)
    for tag in ("preferred_name", "half_double_barrel", "old_surname", "pre_birth",
                "dob_day_month_swap", "dob_estimated_jan1", "stale_address",
                "sibling_nhs_number", "duplicate_in_source", "upper_case", "stray_spaces",
                "postcode_missing", "dob_missing"):
        assert tags[tag] > 0, tag
    assert any(t.startswith("given_typo_") for t in tags)
    persons = pd.read_csv(population / "truth" / "persons.csv", dtype=str,
                          keep_default_na=False)
    twins = persons[persons["twin_of"] != ""]
    assert len(twins) >= 2
    twin = twins.iloc[0]
    other = persons.set_index("person_id").loc[twin["twin_of"]]
    assert (other["dob"], other["family_name"]) == (twin["dob"], twin["family_name"])
    assert other["given_name"] != twin["given_name"]
    assert (persons["heritage"] != "british").any()
    police = pd.read_csv(population / "police.csv", dtype=str)
    assert {"nhs_number", "upn"}.isdisjoint(police.columns)


def test_same_seed_same_population(tmp_path: Path) -> None:
    generate(tmp_path / "a", families=20, seed=5)
    generate(tmp_path / "b", families=20, seed=5)
    for name in ("health.csv", "social_care.csv", "truth/truth.csv"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
