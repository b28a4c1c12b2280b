"""The synthetic population: deterministic, valid where it claims, wrong where it means to be."""

from __future__ import annotations

import filecmp
from pathlib import Path

import pandas as pd
import pytest
import yaml

from linkage.contract import CANONICAL_COLUMNS
from linkage.synth import ErrorRates, SynthSummary, draw_queries, generate_population

SOURCES = ("health", "education", "social_care", "police")
UPN_ALPHABET = "ABCDEFGHJKLMNPQRTUVWXYZ"


def nhs_ok(value: str) -> bool:
    """Mod 11, written independently of the generator."""
    digits = value.replace(" ", "").replace("-", "")
    if len(digits) != 10 or not digits.isdigit():
        return False
    remainder = sum(int(d) * (10 - i) for i, d in enumerate(digits[:9])) % 11
    check = (11 - remainder) % 11
    return check != 10 and check == int(digits[9])


def upn_ok(value: str) -> bool:
    upn = value.strip().upper()
    if len(upn) != 13:
        return False
    total = sum(
        (int(c) if c.isdigit() else UPN_ALPHABET.index(c)) * w
        for c, w in zip(upn[1:], range(2, 14), strict=True)
    )
    return UPN_ALPHABET[total % 23] == upn[0]


def read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def population(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, SynthSummary]:
    out = tmp_path_factory.mktemp("pop")
    return out, generate_population(out, families=300, seed=3)


def errors_of(out: Path, source: str) -> dict[str, set[str]]:
    errs = read(out / "truth" / "errors.csv")
    errs = errs[errs["source"] == source]
    return {r: set(e.split(";")) for r, e in zip(errs["record_id"], errs["errors"], strict=True)}


def test_same_seed_gives_identical_files_and_another_seed_does_not(tmp_path: Path) -> None:
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    generate_population(a, families=150, seed=11)
    generate_population(b, families=150, seed=11)
    generate_population(c, families=150, seed=12)
    names = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    assert names == sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    assert len(names) >= 15
    for name in names:
        assert filecmp.cmp(a / name, b / name, shallow=False), name
    assert not filecmp.cmp(a / "health.csv", c / "health.csv", shallow=False)


def test_summary_counts_match_the_files(population: tuple[Path, SynthSummary]) -> None:
    out, summary = population
    for source in SOURCES:
        assert len(read(out / f"{source}.csv")) == summary.records[source] > 0
    assert len(read(out / "truth" / "persons.csv")) == summary.persons
    assert summary.total_records == len(read(out / "truth" / "truth.csv"))
    assert str(summary).startswith("300 families")


def test_health_nhs_numbers_are_valid_unless_an_error_was_applied(
    population: tuple[Path, SynthSummary],
) -> None:
    out, _ = population
    health = read(out / "health.csv")
    errs = errors_of(out, "health")
    present = health[health["nhs_number"] != ""]
    assert len(present) / len(health) > 0.95  # nearly everyone in health has one
    clean = [
        n
        for r, n in zip(present["record_id"], present["nhs_number"], strict=True)
        if not {"nhs_mistyped", "nhs_placeholder"} & errs.get(r, set())
    ]
    assert clean and all(nhs_ok(n) for n in clean)
    mistyped = [
        n
        for r, n in zip(present["record_id"], present["nhs_number"], strict=True)
        if "nhs_mistyped" in errs.get(r, set())
    ]
    assert mistyped and not any(nhs_ok(n) for n in mistyped)
    assert any(" " in n or "-" in n for n in present["nhs_number"])
    people = read(out / "truth" / "persons.csv")
    issued = people.loc[people["nhs_number"] != "", "nhs_number"]
    assert issued.is_unique and all(nhs_ok(n) for n in issued)


def test_nhs_error_rates_drive_the_share_of_invalid_numbers(tmp_path: Path) -> None:
    def invalid_share(rates: ErrorRates, where: Path) -> float:
        generate_population(where, families=200, seed=4, rates=rates)
        numbers = read(where / "health.csv")["nhs_number"]
        numbers = numbers[numbers != ""]
        return sum(not nhs_ok(n) for n in numbers) / len(numbers)

    none = ErrorRates(nhs_mistyped=0.0, nhs_placeholder=0.0)
    many = ErrorRates(nhs_mistyped=0.2, nhs_placeholder=0.0)
    assert invalid_share(none, tmp_path / "none") == 0.0
    assert 0.12 < invalid_share(many, tmp_path / "many") < 0.28


def test_sibling_numbers_recorded_in_error_are_valid_but_someone_elses(tmp_path: Path) -> None:
    generate_population(tmp_path, families=300, seed=5, rates=ErrorRates(sibling_nhs=0.3))
    health = read(tmp_path / "health.csv").set_index("record_id")
    truth = read(tmp_path / "truth" / "truth.csv")
    truth = truth[truth["source"] == "health"].set_index("record_id")
    own = read(tmp_path / "truth" / "persons.csv").set_index("person_id")["nhs_number"]
    swapped = [r for r, e in errors_of(tmp_path, "health").items() if "nhs_sibling" in e]
    assert len(swapped) > 10
    for record in swapped:
        number = health.at[record, "nhs_number"].replace(" ", "").replace("-", "")
        assert nhs_ok(number)
        assert number != own[truth.at[record, "person_id"]]
        assert number in set(own)


def test_upns_carry_the_right_check_letter(population: tuple[Path, SynthSummary]) -> None:
    out, _ = population
    education = read(out / "education.csv")
    errs = errors_of(out, "education")
    pupils = education[education["upn"] != ""]
    assert len(pupils) > 100
    for record, upn in zip(pupils["record_id"], pupils["upn"], strict=True):
        tags = errs.get(record, set())
        if "upn_typo" in tags:
            assert not upn_ok(upn)
        else:
            assert upn_ok(upn), record
            assert upn.strip()[1:4] in {
                "933",
                "800",
                "801",
                "802",
                "803",
                "865",
                "878",
                "838",
                "330",
                "209",
            }
        if "upn_temporary" in tags:
            assert upn.strip()[-1].isalpha()


def test_police_has_no_identifiers_and_its_yaml_maps_it(
    population: tuple[Path, SynthSummary],
) -> None:
    out, _ = population
    police = read(out / "police.csv")
    assert not {"nhs_number", "upn", "local_id", "record_id", "given_name"} & set(police.columns)
    assert not police.apply(lambda col: col.str.fullmatch(r"[\d\s-]{10,}")).any().any()
    config = yaml.safe_load((out / "police.yaml").read_text())
    assert config["agency"] == "police"
    assert set(config["columns"]) <= set(CANONICAL_COLUMNS)
    assert {"nhs_number", "upn", "local_id"}.isdisjoint(config["columns"])
    assert set(config["columns"].values()) <= set(police.columns)
    assert police[config["columns"]["record_id"]].is_unique
    dates = police.loc[police["date_of_birth"] != "", "date_of_birth"]
    assert pd.to_datetime(dates, format=config["date_formats"]["dob"]).notna().all()
    assert set(police["gender"]) - {""} <= set(config["values"]["sex"])
    mapped = set(config["columns"].values()) | set(config["categories"])
    assert set(police.columns) - mapped == {"restriction"}


def test_other_sources_use_the_contract_layout_and_name_their_categories(
    population: tuple[Path, SynthSummary],
) -> None:
    out, _ = population
    for source in ("health", "education", "social_care"):
        frame = read(out / f"{source}.csv")
        config = yaml.safe_load((out / f"{source}.yaml").read_text())
        extras = [c for c in frame.columns if c not in CANONICAL_COLUMNS]
        assert frame.columns[0] == "record_id" and frame["record_id"].is_unique
        assert set(config) == {"agency", "categories"}
        assert set(extras) - set(config["categories"]) == {"restriction"}
        dobs = frame.loc[frame["dob"] != "", "dob"]
        assert dobs.str.fullmatch(r"\d{4}-\d{2}-\d{2}").all()
        assert set(frame["restriction"]) <= {
            "",
            "adoption",
            "gender-recognition",
            "nhs-restricted",
            "refuge-address",
        }


def test_truth_covers_every_record_exactly_once(population: tuple[Path, SynthSummary]) -> None:
    out, _ = population
    truth = read(out / "truth" / "truth.csv")
    assert list(truth.columns) == ["source", "record_id", "person_id", "family_id"]
    assert not truth.duplicated(["source", "record_id"]).any()
    people = read(out / "truth" / "persons.csv").set_index("person_id")
    assert truth["person_id"].isin(people.index).all()
    assert (
        people.loc[truth["person_id"], "family_id"].to_numpy() == truth["family_id"].to_numpy()
    ).all()
    for source in SOURCES:
        frame = read(out / f"{source}.csv")
        ids = frame["person_ref" if source == "police" else "record_id"]
        assert sorted(ids) == sorted(truth.loc[truth["source"] == source, "record_id"])


def test_twins_share_birth_details_but_never_a_given_name(
    population: tuple[Path, SynthSummary],
) -> None:
    out, _ = population
    people = read(out / "truth" / "persons.csv")
    twins = people[people["twin_group"] != ""].groupby("twin_group")
    assert twins.ngroups >= 2
    for _, group in twins:
        assert len(group) >= 2
        assert group["dob"].nunique() == 1
        assert group["family_name"].nunique() == 1
        assert group["address"].nunique() == 1
        assert group["given_name"].is_unique


def test_relationship_ids_exist_in_their_source(population: tuple[Path, SynthSummary]) -> None:
    out, _ = population
    allowed = {
        "health": {"mother"},
        "education": {"parent", "carer"},
        "social_care": {"mother", "father", "parent", "sibling", "carer"},
    }
    truth = read(out / "truth" / "truth.csv").set_index(["source", "record_id"])
    people = read(out / "truth" / "persons.csv").set_index("person_id")
    for source, kinds in allowed.items():
        rels = read(out / f"{source}_relationships.csv")
        ids = set(read(out / f"{source}.csv")["record_id"])
        assert len(rels) > 0
        assert set(rels["record_id"]) <= ids and set(rels["related_record_id"]) <= ids
        assert set(rels["relationship"]) <= kinds
        # direction: the record_id's person IS the mother OF the related record's person
        mothers = rels[rels["relationship"] == "mother"]
        for a, b in zip(mothers["record_id"], mothers["related_record_id"], strict=True):
            mother = truth.loc[(source, a), "person_id"]
            child = truth.loc[(source, b), "person_id"]
            assert people.at[child, "mother_id"] == mother
            assert people.at[mother, "sex"] == "F"


def test_social_care_has_partial_nhs_numbers_prebirth_records_and_duplicates(
    population: tuple[Path, SynthSummary],
) -> None:
    out, _ = population
    care = read(out / "social_care.csv")
    truth = read(out / "truth" / "truth.csv")
    truth = truth[truth["source"] == "social_care"].set_index("record_id")
    roles = read(out / "truth" / "persons.csv").set_index("person_id")["role"]
    role = roles[truth.loc[care["record_id"], "person_id"]].to_numpy()
    children = care[(role == "child") & ~care["given_name"].str.strip().isin(["Unborn", "Baby"])]
    share = (children["nhs_number"] != "").mean()
    assert 0.5 < share < 0.8
    prebirth = care[care["given_name"].str.strip().str.title().isin(["Unborn", "Baby"])]
    assert len(prebirth) > 0 and (prebirth["nhs_number"] == "").all()
    per_person = truth.groupby("person_id").size()
    assert (per_person > 1).any()
    assert care["local_id"].ne("").all()


def test_record_count_scales_with_families(tmp_path: Path) -> None:
    small = generate_population(tmp_path / "s", families=100, seed=2)
    large = generate_population(tmp_path / "l", families=300, seed=2)
    assert 2.4 < large.total_records / small.total_records < 3.6
    assert all(large.records[s] > small.records[s] for s in SOURCES)


def test_queries_are_fresh_records_of_people_the_agencies_hold(
    population: tuple[Path, SynthSummary],
) -> None:
    out, _ = population
    path = draw_queries(out, 50, seed=9)
    queries = read(path)
    assert list(queries["record_id"]) == [f"q{i:06d}" for i in range(1, 51)]
    truth = read(out / "truth" / "truth.csv")
    assert queries["true_person_id"].isin(truth["person_id"]).all()
    assert set(CANONICAL_COLUMNS) - {"local_id"} <= set(queries.columns)
    first = path.read_bytes()
    assert draw_queries(out, 50, seed=9).read_bytes() == first
    assert draw_queries(out, 50, seed=10).read_bytes() != first


def test_bad_rates_are_refused() -> None:
    with pytest.raises(ValueError, match="name_typo"):
        ErrorRates(name_typo=1.5)


def test_surname_skew_puts_the_most_common_surname_on_about_one_family_in_nine(
    tmp_path: Path,
) -> None:
    from linkage.synth.population import SKEWED_SURNAMES

    def share_of_families_with_a_smith(out: Path) -> float:
        persons = read(out / "truth" / "persons.csv")
        return float(persons.groupby("family_id")["family_name"]
                     .agg(lambda names: (names == "Smith").any()).mean())

    plain, skewed = tmp_path / "plain", tmp_path / "skewed"
    generate_population(plain, families=1500, seed=5)
    generate_population(skewed, families=1500, seed=5, surname_skew=SKEWED_SURNAMES)
    assert share_of_families_with_a_smith(plain) < 0.06
    assert 0.08 < share_of_families_with_a_smith(skewed) < 0.15
    with pytest.raises(ValueError, match="surname_skew"):
        generate_population(tmp_path / "bad", families=10, seed=5, surname_skew=1.0)
