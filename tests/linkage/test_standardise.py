"""Each standardiser, including the awkward inputs real extracts carry."""

import pytest

from linkage.standardise.addresses import address_key, address_line_key, split_postcode
from linkage.standardise.dates import parse_date
from linkage.standardise.names import (
    canonical_name,
    is_placeholder_given_name,
    name_tokens,
    names_equivalent,
    normalise_name,
    phonetic_key,
)
from linkage.standardise.nhs_number import clean_nhs_number, nhs_check_digit
from linkage.standardise.postcodes import clean_postcode
from linkage.standardise.sex import clean_sex, is_known_sex_code
from linkage.standardise.upn import CHECK_ALPHABET, clean_upn


def independent_nhs_check(nine: str) -> int:
    remainder = sum(int(d) * (10 - i) for i, d in enumerate(nine)) % 11
    return (11 - remainder) % 11


@pytest.mark.parametrize("raw", ["943 476 5919", "943-476-5919", " 9434765919 "])
def test_nhs_number_formats_are_accepted(raw: str) -> None:
    assert clean_nhs_number(raw).value == "9434765919"


def test_only_ascii_digits_make_an_nhs_number() -> None:
    # Python's str.isdigit and int() accept Arabic-Indic digits; no NHS number is written so.
    arabic_indic = "943 476 5919".translate({ord(d): 0x0660 + int(d) for d in "0123456789"})
    assert clean_nhs_number(arabic_indic).value is None
    with pytest.raises(ValueError):
        nhs_check_digit("94347659")  # eight digits
    with pytest.raises(ValueError):
        nhs_check_digit("94347659x")


def test_nhs_check_digit_agrees_with_an_independent_computation() -> None:
    for n in range(100000000, 100000000 + 5000, 7):
        nine = f"{n:09d}"
        expected = independent_nhs_check(nine)
        assert nhs_check_digit(nine) == (None if expected == 10 else expected)


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        ("9434765918", "invalid_check"),
        ("943476591", "wrong_length"),
        ("0000000000", "placeholder"),
        ("9999999999", "placeholder"),
        ("1234567890", "placeholder"),
        ("", "missing"),
        (None, "missing"),
    ],
)
def test_bad_nhs_numbers_become_missing(raw: str | None, status: str) -> None:
    result = clean_nhs_number(raw)
    assert result.value is None and result.status == status


def make_upn(body: str) -> str:
    values = [int(c) if c.isdigit() else CHECK_ALPHABET.index(c) for c in body]
    total = sum(v * w for v, w in zip(values, range(2, 14), strict=True))
    return CHECK_ALPHABET[total % 23] + body


def test_upn_check_letter_and_temporary_upns() -> None:
    permanent = make_upn("933201910001")
    assert clean_upn(permanent.lower()).value == permanent
    assert clean_upn(permanent).status == "valid"
    temporary = make_upn("93320191000A")
    result = clean_upn(temporary)
    assert result.status == "temporary" and result.is_temporary
    wrong = ("B" if permanent[0] != "B" else "C") + permanent[1:]
    assert clean_upn(wrong).status == "bad_check"
    assert clean_upn("X123").status == "malformed"


def test_names_normalise_case_punctuation_and_accents() -> None:
    assert normalise_name("  O'Brien ") == "obrien"
    assert normalise_name("ZOË") == "zoe"
    assert normalise_name("Smith-Jones") == "smith jones"
    assert name_tokens(normalise_name("Smith-Jones")) == ["smith", "jones"]
    assert normalise_name("   ") is None


@pytest.mark.parametrize("raw", ["Baby", "UNBORN", "baby of smith", "Infant", "NK"])
def test_placeholder_given_names(raw: str) -> None:
    assert is_placeholder_given_name(normalise_name(raw))


def test_diminutives_are_equivalent_both_ways() -> None:
    assert names_equivalent("bill", "william") and names_equivalent("william", "liam")
    assert names_equivalent("beth", "elizabeth") and names_equivalent("lizzie", "beth")
    assert not names_equivalent("jack", "jacob")
    assert canonical_name("alex") in {"alexander", "alexandra"}
    assert phonetic_key("jayden") == phonetic_key("jaydon")


def test_dates_follow_the_source_format_and_reject_impossible_ones() -> None:
    assert parse_date("03/04/2015", ["%d/%m/%Y"]).iso == "2015-04-03"
    assert parse_date("2015-02-30").status == "unparseable"
    assert parse_date("1900-01-01").status == "placeholder"
    assert parse_date("2199-01-01").status == "future"
    # ISO 8601's basic form is ISO too; only eight digits, and never a day-first date misread.
    assert parse_date("20150302").iso == "2015-03-02"
    assert parse_date("2015032").status == "unparseable"
    assert parse_date("02032015").status == "unparseable"
    assert parse_date("20150302", ["%d/%m/%Y"]).status == "unparseable"
    estimated = parse_date("2015-01-01")
    assert estimated.iso == "2015-01-01" and estimated.possibly_estimated


def test_postcodes_normalise_and_split() -> None:
    pc = clean_postcode("ta12ab")
    assert pc is not None
    assert (pc.value, pc.district, pc.sector, pc.area) == ("TA1 2AB", "TA1", "TA1 2", "TA")
    assert clean_postcode("sw1a 1aa").value == "SW1A 1AA"  # type: ignore[union-attr]
    assert clean_postcode("not a postcode") is None
    assert pc.is_uk


def test_a_postcode_from_elsewhere_is_kept_whole_without_district_or_sector() -> None:
    for raw, value in [("4011", "4011"), (" 2222 ", "2222"), ("75008", "75008"),
                       ("d02 x285", "D02X285"), ("1012-ab", "1012AB")]:
        pc = clean_postcode(raw)
        assert pc is not None, raw
        assert (pc.value, pc.area, pc.district, pc.sector) == (value, None, None, None)
        assert not pc.is_uk
    # Placeholders and non-postcodes are still dropped.
    for raw in ["0000", "99999", "n/a", "XXXX", "12", "12345678901", "TA1", "ta1 2", "SW1A"]:
        assert clean_postcode(raw) is None, raw


def test_sex_codes() -> None:
    assert [clean_sex(v) for v in ["M", "female", "1", "2", "U", "9", None]] == [
        "M",
        "F",
        "M",
        "F",
        None,
        None,
        None,
    ]
    assert not is_known_sex_code("banana")


def test_address_key_uses_house_number_and_postcode() -> None:
    assert address_key("12 High St, Taunton", "TA1 2AB") == "12|TA1 2AB"
    assert address_key("Flat 3, 12 High Street", "TA1 2AB") == "3/12|TA1 2AB"
    assert address_key("12 High St", None) is None


def test_a_postcode_inside_the_address_line_is_taken_out_of_it() -> None:
    # What it solves: a letter's or a case note's address, postcode at the end of the line.
    assert split_postcode("12 High St, Taunton TA1 2AB") == ("12 High St, Taunton", "TA1 2AB")
    assert split_postcode("12 high st taunton ta12ab")[1] == "TA1 2AB"
    assert split_postcode("7 Hunter Place, Griffith 2680") == ("7 Hunter Place, Griffith", "2680")
    # And the same house reads alike whichever way the postcode came.
    rest, code = split_postcode("Flat 3, 12 High Street, Taunton TA1 2AB")
    assert address_key(rest, code) == address_key("Flat 3, 12 High Street, Taunton", "TA1 2AB")


def test_a_number_that_is_not_a_postcode_is_left_in_the_line() -> None:
    # What it must not do: read a house number, or a line with no house before it, as a postcode.
    assert split_postcode("2680") == ("2680", None)
    assert split_postcode("12 High Street") == ("12 High Street", None)
    assert split_postcode("Unit 4, Mill Lane, 123") == ("Unit 4, Mill Lane, 123", None)
    assert split_postcode(None) == (None, None)


def test_address_line_key_names_the_house_without_a_postcode() -> None:
    # Case, punctuation and abbreviations do not make two houses of one.
    assert address_line_key("56 Wells Lane, Avonleigh") == address_line_key("56 wells ln avonleigh")
    assert address_line_key("Flat 4, 52 Oak Way, Avonleigh") == "4/52|oak way avonleigh"
    # Neighbours, and the same number in another street, are other houses.
    assert address_line_key("54 Wells Lane, Avonleigh") != address_line_key("56 Wells Lane, Avonleigh")
    assert address_line_key("Flat 5, 52 Oak Way, Avonleigh") != address_line_key("Flat 4, 52 Oak Way, Avonleigh")
    # A bare number could be any house numbered 12.
    assert address_line_key("12") is None
    assert address_line_key(None) is None


def test_a_record_whose_postcode_is_only_in_its_address_gets_the_same_keys_both_ways() -> None:
    """Batch and real time read the postcode out of the line alike, and a postcode column, when
    there is one, wins over whatever the line says."""
    import pandas as pd

    from linkage.standardise.records import standardise_record, standardise_records

    base = {"source": "s", "record_id": "1", "agency": "health", "nhs_number": None, "upn": None,
            "local_id": None, "middle_names": None, "given_name": "Amy",
            "family_name": "Hart", "dob": "2015-03-02", "sex": "F"}
    in_text = {**base, "postcode": None, "address": "12 High St, Taunton TA1 2AB"}
    in_column = {**base, "record_id": "2", "postcode": "TA1 2AB", "address": "12 High St, Taunton"}
    column_wins = {**base, "record_id": "3", "postcode": "TA2 9ZZ",
                   "address": "12 High St, Taunton TA1 2AB"}
    one = standardise_record(in_text)
    two = standardise_record(in_column)
    for key in ("postcode", "postcode_sector", "address_key", "address_line_key"):
        assert one[key] == two[key], key
    assert standardise_record(column_wins)["postcode"] == "TA2 9ZZ"
    frame = standardise_records(pd.DataFrame([in_text, in_column, column_wins]))
    assert frame["postcode"].tolist() == ["TA1 2AB", "TA1 2AB", "TA2 9ZZ"]
    assert frame["address_key"].iloc[0] == one["address_key"]
