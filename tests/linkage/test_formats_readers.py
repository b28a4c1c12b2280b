"""Each format reader maps a hand-written file of its layout onto the contract and relationships.

The files are small and written here, field by field, so that each test names what the format's
specification says and what kinlink makes of it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from linkage.ingest import ExtractError, read_sources
from linkage.ingest.formats import detect_format

UPN_A = "A123456789012"
UPN_B = "C223456789012"  # another valid UPN (check letter C)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def record(frame: pd.DataFrame, record_id: str) -> pd.Series:
    rows = frame[frame["record_id"] == record_id]
    assert len(rows) == 1, frame["record_id"].tolist()
    return rows.iloc[0]


CTF = """<?xml version="1.0" encoding="UTF-8"?>
<CTfile>
  <Header>
    <DocumentName>Common Transfer File</DocumentName>
    <CTFversion>25.0</CTFversion>
    <SourceSchool><LEA>999</LEA><Estab>1234</Estab></SourceSchool>
  </Header>
  <CTFpupilData>
    <Pupil>
      <UPN>{upn}</UPN>
      <UniqueLearnerNumber>1234567890</UniqueLearnerNumber>
      <BasicDetails>
        <LegalSurname>Okafor</LegalSurname>
        <LegalForename>Chidi</LegalForename>
        <FormerUPN>{former}</FormerUPN>
        <FormerSurname>Eze</FormerSurname>
        <MiddleNames>Ike</MiddleNames>
        <DOB>2016-05-04</DOB>
        <Gender>M</Gender>
        <NCyearActual>4</NCyearActual>
      </BasicDetails>
      <Address>
        <BS7666Address>
          <PAON>12</PAON><Street>Mill Lane</Street><Town>Avonleigh</Town>
          <Postcode>BA1 6BP</Postcode>
          <UniquePropertyReferenceNumber>000100012345</UniquePropertyReferenceNumber>
        </BS7666Address>
      </Address>
      <Contacts>
        <Contact>
          <Order>1</Order><Surname>Okafor</Surname><Forename>Ngozi</Forename>
          <Relationship>PAR</Relationship><Responsibility>true</Responsibility>
        </Contact>
      </Contacts>
    </Pupil>
  </CTFpupilData>
</CTfile>
"""


def test_ctf_pupil_contacts_and_former_identifiers(tmp_path: Path) -> None:
    write(tmp_path / "school.xml", CTF.format(upn=UPN_A, former=UPN_B))
    result = read_sources(tmp_path)
    frame = result.sources["school"]
    pupil = record(frame, UPN_A)
    assert (pupil["given_name"], pupil["middle_names"], pupil["family_name"]) == (
        "Chidi", "Ike", "Okafor")
    assert (pupil["dob"], pupil["sex"], pupil["postcode"]) == ("2016-05-04", "M", "BA1 6BP")
    assert pupil["former_upn"] == UPN_B and pupil["former_family_name"] == "Eze"
    assert pupil["uprn"] == "100012345" and pupil["address"] == "12, Mill Lane, Avonleigh"
    attributes = json.loads(pupil["attributes"])
    assert attributes["uln"] == "1234567890" and attributes["nc_year"] == "4"
    assert result.attribute_categories["school"]["uln"] == "education-identifiers"
    contact = record(frame, f"{UPN_A}/contact-1")
    assert (contact["given_name"], contact["family_name"]) == ("Ngozi", "Okafor")
    rel = result.relationships
    assert rel[["record_id", "related_record_id", "relationship"]].values.tolist() == [
        [f"{UPN_A}/contact-1", UPN_A, "parent"]]
    reading = result.readings["school"]
    assert (reading.format, reading.version, reading.records) == ("ctf", "25.0", 2)


CIN = """<?xml version="1.0" encoding="UTF-8"?>
<Message>
  <Header><CollectionDetails><Collection>CIN</Collection><Year>2026</Year>
    <ReferenceDate>2026-03-31</ReferenceDate></CollectionDetails></Header>
  <Children>
    <Child>
      <ChildIdentifiers>
        <LAchildID>SC0042</LAchildID><UPN>{upn}</UPN><PersonBirthDate>2019-02-15</PersonBirthDate>
        <GenderCurrent>2</GenderCurrent>
      </ChildIdentifiers>
      <CINdetails>
        <CINreferralDate>2025-06-01</CINreferralDate>
        <Section47><S47ActualStartDate>2025-06-03</S47ActualStartDate></Section47>
        <ChildProtectionPlans><CPPstartDate>2025-07-01</CPPstartDate></ChildProtectionPlans>
      </CINdetails>
    </Child>
    <Child>
      <ChildIdentifiers>
        <LAchildID>SC0043</LAchildID><UPNunknown>UN1</UPNunknown>
        <ExpectedPersonBirthDate>2026-05-20</ExpectedPersonBirthDate>
        <GenderCurrent>0</GenderCurrent>
      </ChildIdentifiers>
    </Child>
  </Children>
</Message>
"""


def test_cin_census_identifiers_and_cp_plan_dates(tmp_path: Path) -> None:
    write(tmp_path / "cin.xml", CIN.format(upn=UPN_A))
    result = read_sources(tmp_path)
    frame = result.sources["cin"]
    child = record(frame, "SC0042")
    assert (child["upn"], child["dob"], child["sex"]) == (UPN_A, "2019-02-15", "F")
    assert child["given_name"] is None and child["postcode"] is None  # the census has neither
    attributes = json.loads(child["attributes"])
    assert attributes["s47_start_dates"] == "2025-06-03"
    assert attributes["cp_plan_start_dates"] == "2025-07-01"
    assert result.attribute_categories["cin"]["cp_plan_start_dates"] == "cp-plan"
    unborn = record(frame, "SC0043")
    assert unborn["expected_dob"] == "2026-05-20" and unborn["dob"] is None
    assert result.readings["cin"].version == "CIN 2026"


def test_ssda903_tables_dates_day_first_and_home_postcode(tmp_path: Path) -> None:
    folder = tmp_path / "cla"
    write(folder / "header.csv", "CHILD,SEX,DOB,ETHNIC,UPN,MOTHER,MC_DOB\n"
          f"C1,2,03/04/2012,WBRI,{UPN_A},1,05/06/2027\nC2,1,31/12/2010,WBRI,,0,\n")
    write(folder / "episodes.csv", "CHILD,DECOM,RNE,LS,CIN,PLACE,PLACE_PROVIDER,DEC,REC,"
          "REASON_PLACE_CHANGE,HOME_POST,PL_POST\n"
          "C1,01/01/2024,S,C2,N1,U1,PR1,01/06/2024,E3,,TA1 2AB,BA1 6BP\n"
          "C1,01/06/2024,P,C2,N1,U1,PR1,,,,TA6 8NS,BA1 6BP\n")
    assert detect_format(folder) == "903"
    result = read_sources(tmp_path)
    child = record(result.sources["cla"], "C1")
    assert (child["dob"], child["sex"], child["upn"]) == ("2012-04-03", "F", UPN_A)
    assert child["postcode"] == "TA6 8NS"  # the latest episode's home postcode
    attributes = json.loads(child["attributes"])
    assert attributes["mother"] == "1" and attributes["episodes"] == "2"
    assert result.attribute_categories["cla"]["mother"] == "looked-after"
    assert record(result.sources["cla"], "C2")["dob"] == "2010-12-31"
    assert result.readings["cla"].dates == {"formats": ["%d/%m/%Y"], "basis": "format",
                                            "parsed_share": None}


def test_ssd_tables_datetimes_uprn_former_upn_and_the_15th(tmp_path: Path) -> None:
    folder = tmp_path / "ssd"
    write(folder / "ssd_person.csv",
          "pers_person_id,pers_legacy_id,pers_upn,pers_single_unique_id,pers_forename,"
          "pers_surname,pers_dob,pers_expected_dob,pers_sex,pers_ethnicity\n"
          f"P1,OLD1,{UPN_A},943 476 5919,Amara,Nwosu,2017-03-15 00:00:00.000,,F,BAFR\n"
          "P2,,,,Unborn,Nwosu,,2026-04,U,\n")
    write(folder / "ssd_address.csv",
          "addr_table_id,addr_person_id,addr_address_json,addr_address_postcode\n"
          '1,P1,"{""HOUSE"": ""4"", ""STREET"": ""Elm Road"", ""UPRN"": ""10023""}",TA12AB\n')
    write(folder / "ssd_linked_identifiers.csv",
          "link_table_id,link_person_id,link_identifier_type,link_identifier_value\n"
          f"1,P1,Former Unique Pupil Number,{UPN_B}\n")
    result = read_sources(tmp_path)
    frame = result.sources["ssd"]
    person = record(frame, "P1")
    assert (person["dob"], person["nhs_number"], person["local_id"]) == (
        "2017-03-15", "9434765919", "OLD1")
    assert (person["uprn"], person["address"], person["postcode"]) == (
        "10023", "4, Elm Road", "TA1 2AB")
    assert person["former_upn"] == UPN_B
    # D2I writes an unknown day as the 15th: a month-only date lands there, not on the 1st.
    assert record(frame, "P2")["expected_dob"] == "2026-04-15"
    assert result.readings["ssd"].estimated_day == 15


def test_csc_api_payload(tmp_path: Path) -> None:
    payload = {"la_code": 999, "Children": [
        {"la_child_id": "LA1", "mis_child_id": "M1", "child_details": {
            "unique_pupil_number": UPN_A, "first_name": "Zofia", "surname": "Nowak",
            "date_of_birth": "2015-07-09", "sex": "F", "postcode": "TA1 2AB"},
         "social_care_episodes": [{"referral_date": "2025-01-02", "child_protection_plans": [
             {"start_date": "2025-02-03"}]}]},
        {"mis_child_id": "M2", "child_details": {"first_name": "No", "surname": "Id"}},
    ]}
    children = payload["Children"]
    assert isinstance(children, list)
    write(tmp_path / "csc.json", '{"la_code": 999, "Children": [\n'
          + ",\n".join(json.dumps(c) for c in children) + "\n]}\n")   # one child a line
    result = read_sources(tmp_path)
    child = record(result.sources["csc"], "LA1")
    assert child["row_number"] == 2
    assert (child["given_name"], child["family_name"], child["dob"]) == (
        "Zofia", "Nowak", "2015-07-09")
    assert json.loads(child["attributes"])["cp_plan_start_dates"] == "2025-02-03"
    assert [(r.row, r.field, r.problem.split(";")[0]) for r in result.rejects] == [
        (3, "Children[1].la_child_id", "required field is missing")]


def patient(pid: str, **extra: object) -> dict[str, object]:
    return {"resourceType": "Patient", "id": pid,
            "identifier": [{"system": "https://fhir.nhs.uk/Id/nhs-number", "value": "9434765919",
                            "extension": [{
                                "url": "https://fhir.hl7.org.uk/StructureDefinition/"
                                       "Extension-UKCore-NHSNumberVerificationStatus",
                                "valueCodeableConcept": {"coding": [{"code": "01"}]}}]}],
            "name": [{"use": "official", "family": "Hughes", "given": ["Isla", "May"]}],
            "gender": "female", "birthDate": "2018-01-20",
            "address": [{"line": ["3 Quay St"], "postalCode": "TA4 1FS"}], **extra}


def test_fhir_bundle_patient_and_related_person(tmp_path: Path) -> None:
    mother = {"resourceType": "RelatedPerson", "id": "rp1", "patient": {"reference": "Patient/p1"},
              "relationship": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/"
                                            "v3-RoleCode", "code": "MTH"}]}],
              "name": [{"family": "Hughes", "given": ["Carys"]}], "gender": "female"}
    bundle = {"resourceType": "Bundle", "type": "collection",
              "entry": [{"resource": patient("p1")}, {"resource": mother},
                        {"resource": {"resourceType": "Observation", "id": "o1",
                                      "status": "final", "code": {"text": "x"}}}]}
    write(tmp_path / "gp.json", json.dumps(bundle))
    result = read_sources(tmp_path)
    frame = result.sources["gp"]
    p = record(frame, "p1")
    assert (p["nhs_number"], p["given_name"], p["middle_names"], p["family_name"]) == (
        "9434765919", "Isla", "May", "Hughes")
    assert (p["sex"], p["dob"], p["postcode"], p["address"]) == (
        "F", "2018-01-20", "TA4 1FS", "3 Quay St")
    assert json.loads(p["attributes"])["nhs_number_verification"] == "01"
    assert record(frame, "RelatedPerson/rp1")["given_name"] == "Carys"
    assert result.relationships[["record_id", "related_record_id", "relationship"]
                                ].values.tolist() == [["RelatedPerson/rp1", "p1", "mother"]]
    assert len(frame) == 2  # the Observation says nothing about identity
    assert result.readings["gp"].version == "R4 Bundle"


def test_fhir_ndjson_reads_line_by_line(tmp_path: Path) -> None:
    lines = [json.dumps(patient(f"p{i}")) for i in range(3)]
    write(tmp_path / "acute.ndjson", "\n".join(lines) + "\n")
    result = read_sources(tmp_path)
    assert sorted(result.sources["acute"]["record_id"]) == ["p0", "p1", "p2"]
    assert result.sources["acute"]["row_number"].tolist() == [1, 2, 3]


def test_pds_trace_response(tmp_path: Path) -> None:
    write(tmp_path / "pds.csv",
          "UNIQUE REFERENCE,REQ_NHS_NO,FAMILY_NAME,GIVEN_NAME,OTHER_GIVEN_NAME,GENDER,"
          "DATE_OF_BIRTH,POSTCODE,ADDRESS_LINE1,MATCHED_NHS_NO,MATCHED_ALGORITHM_INDICATOR\n"
          "per-1,,SMITH,AMY,JO,2,20150302,TA1 2AB,1 HIGH ST,9434765919,3\n"
          "per-2,,JONES,BO,,1,20160101,,,,0\n")
    result = read_sources(tmp_path)
    traced = record(result.sources["pds"], "per-1")
    assert (traced["nhs_number"], traced["sex"], traced["dob"]) == (
        "9434765919", "F", "2015-03-02")
    assert len(result.sources["pds"]) == 1
    assert [(r.row, r.field) for r in result.rejects] == [(3, "NHS_NO")]


def test_census_pupils_with_their_addresses_table(tmp_path: Path) -> None:
    write(tmp_path / "census.csv",
          "pupilonrolltableid,upn,formerupn,surname,forename,middlenames,formersurname,dob,sex\n"
          f"101,{UPN_A},,Patel,Anaya,Devi,Shah,2014-09-30,F\n")
    write(tmp_path / "census_addresses.csv",
          "pupilonrolltableid,saon,paon,street,town,postcode,uniquepropertyreferencenumber\n"
          "101,Flat 2,7,Park Row,Tonebridge,TA6 8NS,200003\n")
    result = read_sources(tmp_path)
    assert list(result.sources) == ["census"]  # the addresses table is not a source of its own
    pupil = record(result.sources["census"], "101")
    assert (pupil["upn"], pupil["former_family_name"], pupil["middle_names"]) == (
        UPN_A, "Shah", "Devi")
    assert (pupil["uprn"], pupil["postcode"], pupil["address"]) == (
        "200003", "TA6 8NS", "Flat 2, 7, Park Row, Tonebridge")


def test_format_named_in_the_yaml_wins_over_detection(tmp_path: Path) -> None:
    # A census extract with an extra record_id column would be read as canonical CSV.
    write(tmp_path / "roll.csv", "pupilonrolltableid,record_id,upn,surname,forename,dob,sex\n"
          f"7,x,{UPN_A},Lee,Mia,2015-01-02,F\n")
    write(tmp_path / "roll.yaml", "format: census\n")
    result = read_sources(tmp_path)
    assert result.readings["roll"].format == "census"
    assert record(result.sources["roll"], "7")["family_name"] == "Lee"


def test_a_folder_source_is_named_and_its_agency_defaulted_by_the_folder(tmp_path: Path) -> None:
    write(tmp_path / "cla" / "header.csv", "CHILD,SEX,DOB,ETHNIC,UPN,MOTHER,MC_DOB\n"
          "C1,2,03/04/2012,WBRI,,0,\n")
    frame = read_sources(tmp_path).sources["cla"]
    assert (frame["source"].iloc[0], frame["agency"].iloc[0]) == ("cla", "cla")
    # The format named as anyone writes it: YAML reads an unquoted 903 as a number.
    write(tmp_path / "cla.yaml", "format: 903\n")
    assert read_sources(tmp_path).readings["cla"].format == "903"


def test_the_estimated_day_is_a_per_source_setting_that_wins_over_the_format(
        tmp_path: Path) -> None:
    """A month-only date takes its source's day: 15 where a CSV source's YAML says its system
    writes the 15th, 1 where a council's SSD extract (D2I: the 15th) says it writes the 1st, and
    the format's own day where nothing is said."""
    write(tmp_path / "early_help.csv", "record_id,family_name,dob\nEH1,Nwosu,2015-03\n")
    write(tmp_path / "early_help.yaml", "estimated_day: 15\n")
    write(tmp_path / "youth.csv", "record_id,family_name,dob\nY1,Nwosu,2015-03\n")
    for name, day in (("ssd_one", "estimated_day: 1\n"), ("ssd_fifteen", None)):
        write(tmp_path / name / "ssd_person.csv",
              "pers_person_id,pers_forename,pers_surname,pers_dob,pers_sex\n"
              "P1,Amara,Nwosu,2015-03,F\n")
        if day:
            write(tmp_path / f"{name}.yaml", day)
    result = read_sources(tmp_path)
    dob = {name: frame["dob"].tolist() for name, frame in result.sources.items()}
    assert dob == {"early_help": ["2015-03-15"], "youth": ["2015-03-01"],
                   "ssd_one": ["2015-03-01"], "ssd_fifteen": ["2015-03-15"]}
    assert {n: r.estimated_day for n, r in result.readings.items()} == {
        "early_help": 15, "youth": 1, "ssd_one": 1, "ssd_fifteen": 15}
    write(tmp_path / "youth.yaml", "estimated_day: 10\n")
    with pytest.raises(ExtractError, match=r"youth\.yaml: field estimated_day"):
        read_sources(tmp_path)
