"""The summary card, candidate cards and labelled records, from released records only."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from gateway.web.summary import (
    candidate_card,
    child_summary,
    data_dictionary,
    format_nhs_number,
    labelled_record,
)

TODAY = dt.date(2026, 12, 3)


def record(agency: str, identity: dict[str, Any] | None = None,
           address: dict[str, Any] | None = None, data: dict[str, Any] | None = None
           ) -> dict[str, Any]:
    out: dict[str, Any] = {"source": agency, "record_id": f"{agency}-1", "agency": agency,
                           "match_grade": "certain"}
    for key, value in (("identity", identity), ("address", address), ("data", data)):
        if value is not None:
            out[key] = value
    return out


OLIVIA = {"given_name": "Olivia", "family_name": "Harris", "dob": "2016-08-25",
          "nhs_number": "9174935755"}
HOME = {"postcode": "TA6 7DX", "address": "105 Broadway Gardens, Tonebridge"}


def test_the_summary_names_the_child_and_the_disagreements_between_agencies() -> None:
    records = [
        record("health", OLIVIA, {**HOME, "address": "105 Broadway Gdns, Tonebridge"},
               {"safeguarding_flag": "Y"}),
        record("social_care", {**OLIVIA, "upn": "H933200220003"}, HOME, {"cp_plan": "N"}),
        record("police", {**OLIVIA, "family_name": "Harris-Bradwick"},
               {"postcode": "TA6 7DY", "address": "12 Elm Road, Tonebridge"},
               {"incident_count": 3}),
    ]
    card = child_summary(records, [], TODAY)
    assert card.name == "Olivia Harris" and card.other_names == ("Olivia Harris-Bradwick",)
    assert card.age == 10 and card.nhs_number == "917 493 5755" and card.upn == "H933200220003"
    disagree = {d.what: d.values for d in card.disagreements}
    assert set(disagree) == {"Name", "Address"}          # "Gdns" and "Gardens" agree
    assert ("police", "Olivia Harris-Bradwick") in disagree["Name"]
    flags = {f.name: f for f in card.flags}
    assert flags["Health safeguarding concern"].state == "yes"
    assert flags["Health safeguarding concern"].agencies == ("health",)
    assert flags["Child protection plan"].state == "no"
    assert flags["Police involvement"].state == "yes"
    assert flags["Special educational needs"].state == "not recorded"


def test_a_withheld_category_is_said_withheld_with_its_clause_never_read() -> None:
    withheld = [{"source_party": "social_care", "category": "cp-plan", "reason": "not permitted",
                 "clause": "default-deny"}]
    card = child_summary([record("health", OLIVIA)], withheld, TODAY)
    cp = next(f for f in card.flags if f.name == "Child protection plan")
    assert (cp.state, cp.clause) == ("withheld", "default-deny")


def test_a_candidate_card_tells_two_children_apart_and_says_what_is_withheld() -> None:
    records = [record("health", OLIVIA, HOME), record("education", OLIVIA, HOME)]
    permitted = {"health": frozenset({"identity", "address", "involvements"}),
                 "education": frozenset({"identity", "address", "involvements"})}
    card = candidate_card("P1", "probable", 0.97, records, permitted, TODAY)
    assert (card.name, card.dob, card.age, card.postcode_district) == (
        "Olivia Harris", "2016-08-25", 10, "TA6")
    assert card.agencies == ("education", "health") and card.withheld == ()
    bare = candidate_card("P1", "probable", 0.97, [record("health", OLIVIA)],
                          {"health": frozenset({"identity"})}, TODAY)
    assert bare.postcode_district is None and bare.agencies == ()
    assert bare.withheld == ("Address", "Agencies involved")


def test_records_carry_human_labels_and_values() -> None:
    rows = labelled_record(record("social_care", {"nhs_number": "9174935755", "sex": "F"},
                                  data={"cp_plan": "Y", "team_code": "NE2"}))
    assert ("NHS number", "917 493 5755") in rows and ("Sex", "Female") in rows
    assert ("Child protection plan", "Yes") in rows
    assert ("Team code", "NE2") in rows                 # not in the dictionary: its name in words
    assert format_nhs_number("123") == "123"


def test_a_malformed_dictionary_names_the_file_and_entry(tmp_path: Path) -> None:
    bad = tmp_path / "dictionary.yaml"
    bad.write_text("flags:\n  - {name: X, column: x}\n")
    with pytest.raises(ValueError, match=r"dictionary.yaml: flags\[0\]: missing category"):
        data_dictionary(bad)
