"""Bad input in the agency formats: a file that cannot be read stops the run with its name, the
element or JSON path and the line; one bad record is a reject row and the rest is read."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from linkage.index import connect_index
from linkage.ingest import ExtractError, read_sources
from linkage.pipeline import link_sources
from linkage.synth import generate_population
from linkage.synth.formats import write_in_format

HEADER = "<Header><CTFversion>25.0</CTFversion></Header>"
PUPIL = ("<Pupil><UPN>A123456789012</UPN><Surname>Lee</Surname><Forename>Mia</Forename>"
         "<DOB>2015-01-02</DOB><Sex>F</Sex></Pupil>")


def ctf(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "school.xml"
    path.write_text(text, encoding="utf-8")
    return path


def error_for(tmp_path: Path) -> str:
    with pytest.raises(ExtractError) as caught:
        read_sources(tmp_path)
    return str(caught.value)


def test_malformed_xml_names_the_file_and_line(tmp_path: Path) -> None:
    ctf(tmp_path, f'<?xml version="1.0"?>\n<CTfile>\n{HEADER}\n<CTFpupilData>\n'
        f"<Pupil><UPN>A1</UPN>\n<Surname>Lee</Forename></Pupil>\n</CTFpupilData></CTfile>\n")
    message = error_for(tmp_path)
    assert "school.xml" in message and "line 6" in message and "not well-formed" in message


def test_an_unexpected_namespace_is_refused(tmp_path: Path) -> None:
    ctf(tmp_path, f'<CTfile xmlns="urn:example:other">{HEADER}<CTFpupilData>{PUPIL}'
        "</CTFpupilData></CTfile>")
    message = error_for(tmp_path)
    assert "school.xml" in message and "urn:example:other" in message and "<CTfile>" in message


def test_an_unknown_version_is_refused(tmp_path: Path) -> None:
    ctf(tmp_path, f"<CTfile>\n<Header>\n<CTFversion>9.0</CTFversion>\n</Header><CTFpupilData>"
        f"{PUPIL}</CTFpupilData></CTfile>")
    message = error_for(tmp_path)
    assert "school.xml: line 2" in message and "<CTFversion> 9.0" in message


def test_a_missing_header_stops_and_a_missing_upn_is_one_reject_row(tmp_path: Path) -> None:
    ctf(tmp_path, f"<CTfile><CTFpupilData>{PUPIL}</CTFpupilData></CTfile>")
    assert "required element <Header>" in error_for(tmp_path)
    no_upn = PUPIL.replace("<UPN>A123456789012</UPN>", "")
    ctf(tmp_path, f"<CTfile>{HEADER}\n<CTFpupilData>\n{PUPIL}\n{no_upn}\n</CTFpupilData>"
        "</CTfile>")
    result = read_sources(tmp_path)
    assert len(result.sources["school"]) == 2
    assert [(r.row, r.field, r.problem) for r in result.rejects] == [
        (4, "upn", "required element <Pupil>/<UPN> is missing")]


@pytest.mark.parametrize("doctype", [
    # billion laughs: entities that expand to gigabytes
    '<!DOCTYPE CTfile [<!ENTITY a "lol"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>',
    # an external entity reading a local file
    '<!DOCTYPE CTfile [<!ENTITY secret SYSTEM "file:///etc/hostname">]>',
])
def test_a_dtd_or_entity_is_refused_before_anything_is_read(tmp_path: Path, doctype: str) -> None:
    ctf(tmp_path, f'<?xml version="1.0"?>\n{doctype}\n<CTfile>{HEADER}<CTFpupilData>'
        f"{PUPIL.replace('Lee', '&b;' if 'lol' in doctype else '&secret;')}"
        "</CTFpupilData></CTfile>")
    message = error_for(tmp_path)
    assert "school.xml" in message and "DOCTYPE/DTD is refused" in message


def test_a_fhir_resource_that_does_not_parse_is_a_reject_row_naming_its_json_path(
    tmp_path: Path,
) -> None:
    good = {"resourceType": "Patient", "id": "p1", "birthDate": "2015-03-02"}
    bad = {"resourceType": "Patient", "id": "p2", "birthDate": "2015-02-30"}
    # As exports are laid out: one entry a line, the second spread over several.
    (tmp_path / "gp.json").write_text(
        '{"resourceType": "Bundle", "type": "collection",\n"entry": [\n'
        f"{json.dumps({'resource': good})},\n{json.dumps({'resource': bad}, indent=1)}\n]}}\n",
        encoding="utf-8")
    result = read_sources(tmp_path)
    assert result.sources["gp"]["record_id"].tolist() == ["p1"]
    assert result.sources["gp"]["row_number"].tolist() == [3]
    [reject] = result.rejects
    assert reject.field == "$.entry[1].resource.birthDate" and reject.file.endswith("gp.json")
    assert reject.row == 4                         # the line the bad entry starts on
    assert "does not parse as FHIR R4" in reject.problem and "2015-02-30" not in reject.problem


def test_a_bad_ndjson_line_is_a_reject_row_with_its_line(tmp_path: Path) -> None:
    lines = [json.dumps({"resourceType": "Patient", "id": "p1"}), "{not json",
             json.dumps({"resourceType": "Patient", "id": "p3", "gender": ["x"]})]
    (tmp_path / "acute.ndjson").write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = read_sources(tmp_path)
    assert result.sources["acute"]["record_id"].tolist() == ["p1"]
    assert [(r.row, r.field) for r in result.rejects] == [(2, "$"), (3, "$.gender")]


def test_a_truncated_json_bundle_stops_the_run(tmp_path: Path) -> None:
    (tmp_path / "gp.json").write_text('{"resourceType": "Bundle",\n"entry": [\n'
                                      '{"resource": {"resourceType": "Patient", "id": "p1"}},\n'
                                      '{"resource": {"id": "p2"}}}\n]}\n', encoding="utf-8")
    message = error_for(tmp_path)
    assert "gp.json: line 4: not well-formed JSON" in message
    (tmp_path / "gp.json").write_text('{"resourceType": "Bundle",\n"entry": [{"resource": {',
                                      encoding="utf-8")   # cut short: breaks at its end
    assert "gp.json: line 2: not well-formed JSON" in error_for(tmp_path)


def test_an_unreadable_file_stops_the_run_and_the_previous_index_keeps_serving(
    tmp_path: Path,
) -> None:
    sources, db = tmp_path / "sources", tmp_path / "index.duckdb"
    generate_population(sources, families=25, seed=5)
    write_in_format(sources, "ctf")
    link_sources(sources, db)
    with connect_index(db) as con:
        before = con.execute("SELECT source, record_id, person_id FROM record_links "
                             "ORDER BY 1, 2").fetchall()
    xml = sources / "education.xml"
    xml.write_text(xml.read_text(encoding="utf-8")[:-40], encoding="utf-8")  # cut short
    with pytest.raises(ExtractError, match=r"education\.xml: line"):
        link_sources(sources, db)
    with connect_index(db) as con:
        after = con.execute("SELECT source, record_id, person_id FROM record_links "
                            "ORDER BY 1, 2").fetchall()
    assert after == before and any(s == "education" for s, _, _ in before)


CIN_HEADER = ("<Header><CollectionDetails><Collection>{collection}</Collection><Year>2026</Year>"
              "</CollectionDetails></Header>")
CHILD = ("<Child><ChildIdentifiers>{id}<PersonBirthDate>2019-02-15</PersonBirthDate>"
         "</ChildIdentifiers></Child>")


def test_a_cin_child_without_its_la_child_id_is_a_reject_row_and_the_rest_is_read(
        tmp_path: Path) -> None:
    (tmp_path / "cin.xml").write_text(
        f"<Message>\n{CIN_HEADER.format(collection='CIN')}\n<Children>\n"
        f"{CHILD.format(id='<LAchildID>C1</LAchildID>')}\n{CHILD.format(id='')}\n"
        "</Children>\n</Message>\n", encoding="utf-8")
    result = read_sources(tmp_path)
    assert result.sources["cin"]["record_id"].tolist() == ["C1"]
    assert [(r.file.endswith("cin.xml"), r.row, r.field) for r in result.rejects] == [
        (True, 5, "record_id")]
    assert "<ChildIdentifiers>/<LAchildID>" in result.rejects[0].problem


def test_a_cin_file_of_another_collection_stops_naming_the_element_and_line(
        tmp_path: Path) -> None:
    (tmp_path / "cin.xml").write_text(
        f"<Message>\n{CIN_HEADER.format(collection='SSDA903')}\n<Children>"
        f"{CHILD.format(id='<LAchildID>C1</LAchildID>')}</Children></Message>",
        encoding="utf-8")
    message = error_for(tmp_path)
    assert "cin.xml: line 2: <Collection>" in message and "CIN" in message
