"""Bad rows are kept with the bad field nulled and reported; bad files stop with a clear error."""

from pathlib import Path

import pandas as pd
import pytest

from linkage.ingest import ExtractError, read_sources

HEADER = "record_id,nhs_number,upn,given_name,family_name,dob,sex,postcode,address,gp\n"
GOOD = "r1,943 476 5919,,Amy,Smith,2015-03-02,F,TA1 2AB,1 High St,Dr Who\n"


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


def single_reject(tmp_path: Path, row: str) -> tuple[pd.Series, object]:
    write(tmp_path, "health.csv", HEADER + GOOD + row)
    result = read_sources(tmp_path)
    frame = result.sources["health"]
    assert len(result.rejects) == 1, result.rejects
    return frame.iloc[1], result.rejects[0]


@pytest.mark.parametrize(
    ("row", "field", "secret"),
    [
        ("r2,9434765918,,Bo,Smith,2015-03-02,F,TA1 2AB,,\n", "nhs_number", "9434765918"),
        ("r2,0000000000,,Bo,Smith,2015-03-02,F,TA1 2AB,,\n", "nhs_number", "0000000000"),
        ("r2,,Z933201910001,Bo,Smith,2015-03-02,F,TA1 2AB,,\n", "upn", "Z933201910001"),
        ("r2,,,Bo,Smith,2015-02-30,F,TA1 2AB,,\n", "dob", "2015-02-30"),
        ("r2,,,Bo,Smith,2015-03-02,Q,TA1 2AB,,\n", "sex", ",Q,"),
        ("r2,,,Bo,Smith,2015-03-02,F,NOTAPC,,\n", "postcode", "NOTAPC"),
    ],
)
def test_a_bad_field_is_nulled_and_reported_without_its_value(
    tmp_path: Path, row: str, field: str, secret: str
) -> None:
    kept, reject = single_reject(tmp_path, row)
    assert kept["record_id"] == "r2" and kept[field] is None
    assert kept["given_name"] == "Bo"  # the rest of the row survives
    assert reject.field == field and reject.row == 3
    assert reject.file.endswith("health.csv")
    assert secret.strip(",") not in f"{reject.problem}{reject.file}{reject.field}"


def test_postcodes_from_elsewhere_are_kept_with_one_note_for_the_file(tmp_path: Path) -> None:
    rows = "".join(f"r{i},,,Bo,Smith,2015-03-02,F,{pc},,\n"
                   for i, pc in enumerate(["4011", "2000", "TA1 2AB", "4011", "0000"]))
    write(tmp_path, "register.csv", HEADER + rows)
    result = read_sources(tmp_path)
    assert list(result.sources["register"]["postcode"]) == ["4011", "2000", "TA1 2AB", "4011",
                                                            None]
    by_row = sorted((r.row or 0, r.field, r.problem) for r in result.rejects)
    assert by_row[0][:2] == (0, "postcode") and by_row[0][2].startswith("3 postcode(s)")
    assert by_row[1:] == [(6, "postcode", "not a postcode")]


def test_a_column_rejected_whole_is_one_line_naming_the_setting(tmp_path: Path) -> None:
    rows = "".join(f"r{i},,,Bo,Smith,0{i}/03/2015,F,TA1 2AB,,\n" for i in range(1, 8))
    write(tmp_path, "police.csv", HEADER + rows)
    # Declared wrongly: undeclared, the day-first dates would be detected (next test).
    write(tmp_path, "police.yaml", 'date_formats: {dob: "%Y-%m-%d"}\n')
    result = read_sources(tmp_path)
    assert result.sources["police"]["dob"].isna().all()
    assert len(result.rejects) == 1, result.rejects
    reject = result.rejects[0]
    assert (reject.row, reject.field) == (None, "dob")
    assert "all 7 values" in reject.problem and "date_formats.dob in police.yaml" in reject.problem
    assert "2015" not in reject.problem


@pytest.mark.parametrize(
    ("written", "chosen"),
    [("0{i}/03/2015", "%d/%m/%Y"), ("2015030{i}", "%Y%m%d"), ("2015-03-0{i}", "%Y-%m-%d")],
)
def test_an_undeclared_date_format_is_detected_and_reported(
    tmp_path: Path, written: str, chosen: str
) -> None:
    rows = "".join(f"r{i},,,Bo,Smith,{written.format(i=i)},F,TA1 2AB,,\n" for i in range(1, 8))
    write(tmp_path, "police.csv", HEADER + rows)
    result = read_sources(tmp_path)
    assert list(result.sources["police"]["dob"]) == [f"2015-03-0{i}" for i in range(1, 8)]
    assert result.readings["police"].dates == {"formats": [chosen], "basis": "detected",
                                               "parsed_share": 1.0}
    assert not result.rejects


def test_detection_picks_one_format_for_the_source_not_one_per_value(tmp_path: Path) -> None:
    """Mostly day-first: the one ISO value is a mistake to report, not a second convention."""
    rows = "".join(f"r{i},,,Bo,Smith,1{i}/03/2015,F,TA1 2AB,,\n" for i in range(1, 8))
    write(tmp_path, "police.csv", HEADER + rows + "r9,,,Bo,Smith,2015-03-04,F,TA1 2AB,,\n")
    result = read_sources(tmp_path)
    assert result.readings["police"].dates["formats"] == ["%d/%m/%Y"]
    assert [(r.row, r.field) for r in result.rejects] == [(9, "dob")]


def test_rows_without_or_with_a_repeated_record_id_are_skipped_and_reported(tmp_path: Path) -> None:
    write(tmp_path, "health.csv", HEADER + GOOD + ",,,Bo,Smith,,,,,\n" + GOOD)
    result = read_sources(tmp_path)
    assert list(result.sources["health"]["record_id"]) == ["r1"]
    assert [(r.row, r.field) for r in result.rejects] == [(3, "record_id"), (4, "record_id")]


def test_values_are_stripped_and_extra_columns_kept_as_attributes(tmp_path: Path) -> None:
    write(
        tmp_path,
        "health.csv",
        HEADER + "  r1 , 9434765919 ,, Amy ,Smith,2015-03-02,F,ta12ab,,Dr Who\n",
    )
    write(tmp_path, "health.yaml", "agency: health\ncategories: {gp: professionals}\n")
    result = read_sources(tmp_path)
    row = result.sources["health"].iloc[0]
    assert (row["record_id"], row["given_name"], row["postcode"]) == ("r1", "Amy", "TA1 2AB")
    assert row["attributes"] == '{"gp": "Dr Who"}'
    assert result.attribute_categories["health"] == {"gp": "professionals"}


def test_yaml_mapping_renames_columns_parses_dates_and_recodes(tmp_path: Path) -> None:
    write(
        tmp_path, "police.csv", "ref,forename,surname,born,gender\np1,Amy,Smith,02/03/2015,Female\n"
    )
    write(
        tmp_path,
        "police.yaml",
        "agency: police\ncolumns: {record_id: ref, given_name: forename, family_name: surname,"
        " dob: born, sex: gender}\ndate_formats: {dob: '%d/%m/%Y'}\nvalues: {sex: {Female: F}}\n",
    )
    row = read_sources(tmp_path).sources["police"].iloc[0]
    assert (row["dob"], row["sex"], row["agency"]) == ("2015-03-02", "F", "police")
    assert row["nhs_number"] is None


def test_parquet_extracts_are_read(tmp_path: Path) -> None:
    pd.DataFrame(
        {"record_id": ["a1"], "given_name": ["Amy"], "nhs_number": ["9434765919"]}
    ).to_parquet(tmp_path / "education.parquet")
    frame = read_sources(tmp_path).sources["education"]
    assert frame.iloc[0]["nhs_number"] == "9434765919" and frame.iloc[0]["row_number"] == 1


def test_relationships_to_unknown_records_are_rejected(tmp_path: Path) -> None:
    write(tmp_path, "health.csv", HEADER + GOOD)
    write(
        tmp_path,
        "health_relationships.csv",
        "record_id,related_record_id,relationship\nr1,r9,mother\n",
    )
    result = read_sources(tmp_path)
    assert result.relationships.empty
    assert [(r.field, r.row) for r in result.rejects] == [("related_record_id", 2)]


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (lambda d: None, "no extracts found"),
        (
            lambda d: write(d, "health.csv", "nhs_number,given_name\n1,a\n"),
            "'record_id' is missing",
        ),
        (lambda d: write(d, "health.csv", ""), "empty"),
        (
            lambda d: (
                write(d, "p.csv", "a\n1\n"),
                write(d, "p.yaml", "columns: {record_id: ref}\n"),
            ),
            "'ref'",
        ),
        (
            lambda d: (write(d, "p.csv", "record_id\n1\n"), write(d, "p.yaml", "colums: {}\n")),
            "colums",
        ),
        (
            lambda d: (write(d, "p.csv", "record_id\n1\n"), write(d, "p.yaml", "columns: [\n")),
            "not valid YAML",
        ),
        (lambda d: (d / "x.parquet").write_bytes(b"not parquet"), "not a readable Parquet"),
    ],
)
def test_bad_files_raise_an_error_naming_the_file(tmp_path: Path, setup, message: str) -> None:
    setup(tmp_path)
    with pytest.raises(ExtractError, match=message):
        read_sources(tmp_path)


def test_missing_directory_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ExtractError, match="does not exist"):
        read_sources(tmp_path / "nope")


def test_an_adopted_childs_former_upn_never_reaches_linkage(tmp_path: Path) -> None:
    """The adoption marker wins: the UPN issued before the adoption stays on the extract (for the
    audit trail) but is not a feature any comparison can join on. A child who was not adopted
    keeps theirs."""
    from linkage.features import prepare_sources
    from linkage.standardise.records import standardise_record

    header = "record_id,upn,former_upn,given_name,family_name,dob,sex,restriction\n"
    write(tmp_path, "school.csv", header
          + "r1,C223456789012,A123456789012,Mia,Lee,2015-01-02,F,adoption\n"
          + "r2,,A123456789012,Ava,Khan,2015-05-06,F,\n")
    write(tmp_path, "school.yaml", "categories: {restriction: restricted-marker}\n")
    prepared = prepare_sources(tmp_path)
    canonical = prepared.canonical.set_index("record_id")
    assert canonical.loc["r1", "former_upn"] == "A123456789012"  # kept as recorded
    features = prepared.features.set_index("record_id")
    assert pd.isna(features.loc["r1", "former_upn"])
    assert features.loc["r2", "former_upn"] == "A123456789012"
    # The one-record standardiser (real-time queries) applies the same rule.
    one = prepared.canonical[prepared.canonical["record_id"] == "r1"].iloc[0].to_dict()
    assert standardise_record(one)["former_upn"] is None


def test_a_future_date_of_birth_is_judged_against_the_day_passed_in(tmp_path: Path) -> None:
    # An expected date of delivery may be up to 40 weeks ahead of the run's day, whatever the
    # machine's clock says: 2031-05-01 is fine on 2031-01-01, and 2019-06-01 is no birth
    # date yet on 2018-01-01.
    from datetime import date

    rows = ("r2,,,Bo,Smith,2031-05-01,F,TA1 2AB,,\n"
            "r3,,,Cy,Smith,2019-06-01,F,TA1 2AB,,\n")
    write(tmp_path, "health.csv", HEADER + GOOD + rows)
    later = read_sources(tmp_path, today=date(2031, 1, 1))
    assert list(later.sources["health"]["dob"]) == ["2015-03-02", "2031-05-01", "2019-06-01"]
    assert later.rejects == []
    earlier = read_sources(tmp_path, today=date(2018, 1, 1))
    assert list(earlier.sources["health"]["dob"]) == [
        "2015-03-02", None, None]
    assert sorted((r.row, r.field) for r in earlier.rejects) == [(3, "dob"), (4, "dob")]
