"""The same synthetic population in the files agencies actually hold.

``generate_population`` writes canonical CSV; ``write_in_format`` then rewrites the one source
each format belongs to (education as CTF or census, social care as CIN, SSDA903, SSD or the CSC
API payload, health as FHIR or a PDS trace response) and leaves the others as they are, so a
run over the folder links one agency's real-world format with everyone else's CSV.

A format carries only what its specification has room for: a CIN or SSDA903 record has no name,
a census no NHS number. What a format cannot say is simply not written, as an agency's own
export would not have it. Where a format keys records differently (CTF pupils by UPN, contacts
by pupil), ``truth/truth.csv`` is rewritten with the format's record IDs and
``truth/format_records.csv`` maps each one back to the CSV record it was made from.
Files are written row by row (XML with lxml's incremental writer), never held whole.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any, Final

from lxml import etree

__all__ = ["FORMAT_SOURCES", "SYNTH_FORMATS", "write_in_format"]

#: format → the source it rewrites
FORMAT_SOURCES: Final = {
    "ctf": "education", "census": "education", "cin": "social_care", "903": "social_care",
    "ssd": "social_care", "csc-api": "social_care", "fhir": "health", "pds": "health",
}
SYNTH_FORMATS: Final = ("csv", *FORMAT_SOURCES)
_NHS_SYSTEM: Final = "https://fhir.nhs.uk/Id/nhs-number"
_RESTRICTION_SYSTEM: Final = "https://kinlink.example/fhir/restriction"
_ATTRIBUTE_EXTENSION: Final = "https://kinlink.example/fhir/attribute/"
_CONTRACT: Final = ("record_id", "nhs_number", "upn", "local_id", "given_name", "middle_names",
                    "family_name", "dob", "sex", "postcode", "address", "former_upn",
                    "former_family_name", "uprn", "expected_dob")

Row = dict[str, str]
#: (format record_id, csv record_id) pairs a writer made
IdMap = list[tuple[str, str]]


def write_in_format(out_dir: Path, fmt: str) -> dict[str, Path]:
    """Rewrite ``out_dir``'s source for ``fmt`` in that format; returns the files written."""
    if fmt == "csv":
        return {}
    if fmt not in FORMAT_SOURCES:
        raise ValueError(f"format must be one of {', '.join(SYNTH_FORMATS)}, not {fmt!r}")
    source = FORMAT_SOURCES[fmt]
    csv_path = out_dir / f"{source}.csv"
    rows = list(_rows(csv_path))
    csv_path.unlink()
    ids: IdMap = []
    written = _WRITERS[fmt](out_dir, source, rows, ids)
    _rewrite_truth(out_dir, source, ids)
    return written


def _rows(path: Path) -> Iterator[Row]:
    with path.open(encoding="utf-8", newline="") as handle:
        yield from csv.DictReader(handle)


def _extras(row: Row) -> dict[str, str]:
    return {k: v for k, v in row.items() if k not in _CONTRACT and v}


def _iso(value: str) -> date | None:
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def _dmy(value: str) -> str:
    parsed = _iso(value)
    return parsed.strftime("%d/%m/%Y") if parsed else value


def _basic(value: str) -> str:
    parsed = _iso(value)
    return parsed.strftime("%Y%m%d") if parsed else value


def _leaf(xf: etree.xmlfile, name: str, value: str | None) -> None:
    if value:
        with xf.element(name):
            xf.write(value)


# --- education ---------------------------------------------------------------------------------

def _contacts(out_dir: Path, source: str) -> dict[str, list[tuple[str, str]]]:
    """pupil record_id → [(contact record_id, relationship)] from the relationships file."""
    out: dict[str, list[tuple[str, str]]] = {}
    path = out_dir / f"{source}_relationships.csv"
    if path.exists():
        for rel in _rows(path):
            out.setdefault(rel["related_record_id"], []).append(
                (rel["record_id"], rel["relationship"]))
    return out


_CTF_CODES: Final = {"parent": "PAR", "mother": "PAR", "father": "PAR", "carer": "CAR"}


def _write_ctf(out_dir: Path, source: str, rows: list[Row], ids: IdMap) -> dict[str, Path]:
    contacts_of = _contacts(out_dir, source)
    contact_ids = {c for cs in contacts_of.values() for c, _ in cs}
    by_id = {r["record_id"]: r for r in rows}
    path = out_dir / f"{source}.xml"
    seen: set[str] = set()
    with etree.xmlfile(str(path), encoding="utf-8") as xf:
        xf.write_declaration()
        with xf.element("CTfile"):
            with xf.element("Header"):
                _leaf(xf, "DocumentName", "Common Transfer File")
                _leaf(xf, "CTFversion", "25.0")
                _leaf(xf, "DateTime", "2026-01-15T09:00:00")
                with xf.element("SourceSchool"):
                    _leaf(xf, "LEA", "999")
                    _leaf(xf, "Estab", "9999")
            with xf.element("CTFpupilData"):
                pupils = 0
                for row in rows:
                    if row["record_id"] in contact_ids:
                        continue
                    pupils += 1
                    upn = row.get("upn", "")
                    record_id = upn if upn and upn not in seen else f"pupil-{pupils}"
                    seen.add(record_id)
                    ids.append((record_id, row["record_id"]))
                    related = [(by_id[c], rel) for c, rel in contacts_of.get(row["record_id"], [])
                               if c in by_id]
                    with xf.element("Pupil"):
                        _ctf_pupil(xf, row)
                        if related:
                            with xf.element("Contacts"):
                                for order, (contact, rel) in enumerate(related, start=1):
                                    ids.append((f"{record_id}/contact-{order}",
                                                contact["record_id"]))
                                    _ctf_contact(xf, contact, order, _CTF_CODES.get(rel, "OTH"))
    (out_dir / f"{source}_relationships.csv").unlink(missing_ok=True)
    return {source: path}


def _ctf_address(xf: etree.xmlfile, row: Row) -> None:
    if row.get("address") or row.get("postcode"):
        with xf.element("Address"):
            if row.get("address"):
                with xf.element("AddressLines"):
                    _leaf(xf, "AddressLine1", row["address"])
            _leaf(xf, "Postcode", row.get("postcode"))


def _ctf_pupil(xf: etree.xmlfile, row: Row) -> None:
    _leaf(xf, "UPN", row.get("upn"))
    _leaf(xf, "Surname", row.get("family_name"))
    _leaf(xf, "Forename", row.get("given_name"))
    _leaf(xf, "DOB", row.get("dob"))
    _leaf(xf, "Sex", row.get("sex"))
    with xf.element("BasicDetails"):
        _leaf(xf, "MiddleNames", row.get("middle_names"))
        for column, value in _extras(row).items():
            _leaf(xf, column, value)
    _ctf_address(xf, row)


def _ctf_contact(xf: etree.xmlfile, row: Row, order: int, code: str) -> None:
    with xf.element("Contact"):
        _leaf(xf, "Order", str(order))
        _leaf(xf, "Surname", row.get("family_name"))
        _leaf(xf, "Forename", row.get("given_name"))
        _leaf(xf, "Gender", row.get("sex"))
        _leaf(xf, "Relationship", code)
        _leaf(xf, "Responsibility", "true" if code == "PAR" else "false")
        _ctf_address(xf, row)


def _write_census(out_dir: Path, source: str, rows: list[Row], ids: IdMap) -> dict[str, Path]:
    pupils_path = out_dir / f"{source}.csv"
    addresses = out_dir / f"{source}_addresses.csv"
    extras = sorted({k for r in rows for k in _extras(r)})
    header = ["pupilonrolltableid", "upn", "formerupn", "surname", "forename", "middlenames",
              "formersurname", "dob", "sex", *extras]
    with pupils_path.open("w", newline="", encoding="utf-8") as p_handle, \
            addresses.open("w", newline="", encoding="utf-8") as a_handle:
        pupils = csv.writer(p_handle, lineterminator="\n")
        pupils.writerow(header)
        addr = csv.writer(a_handle, lineterminator="\n")
        addr.writerow(["pupilonrolltableid", "addressline1", "postcode",
                       "uniquepropertyreferencenumber"])
        for row in rows:
            ids.append((row["record_id"], row["record_id"]))
            pupils.writerow([row["record_id"], row.get("upn", ""), row.get("former_upn", ""),
                             row.get("family_name", ""), row.get("given_name", ""),
                             row.get("middle_names", ""), row.get("former_family_name", ""),
                             row.get("dob", ""), row.get("sex", ""),
                             *(row.get(e, "") for e in extras)])
            if row.get("address") or row.get("postcode"):
                addr.writerow([row["record_id"], row.get("address", ""),
                               row.get("postcode", ""), row.get("uprn", "")])
    return {source: pupils_path, f"{source}_addresses": addresses}


# --- social care -------------------------------------------------------------------------------

_CIN_GENDER: Final = {"M": "1", "F": "2", "U": "0"}


def _write_cin(out_dir: Path, source: str, rows: list[Row], ids: IdMap) -> dict[str, Path]:
    path = out_dir / f"{source}.xml"
    with etree.xmlfile(str(path), encoding="utf-8") as xf:
        xf.write_declaration()
        with xf.element("Message"):
            with xf.element("Header"), xf.element("CollectionDetails"):
                _leaf(xf, "Collection", "CIN")
                _leaf(xf, "Year", "2026")
                _leaf(xf, "ReferenceDate", "2026-03-31")
            with xf.element("Children"):
                for row in rows:
                    ids.append((row["record_id"], row["record_id"]))
                    with xf.element("Child"):
                        with xf.element("ChildIdentifiers"):
                            _leaf(xf, "LAchildID", row["record_id"])
                            _leaf(xf, "UPN", row.get("upn"))
                            _leaf(xf, "FormerUPN", row.get("former_upn"))
                            _leaf(xf, "PersonBirthDate", row.get("dob"))
                            _leaf(xf, "ExpectedPersonBirthDate", row.get("expected_dob"))
                            _leaf(xf, "GenderCurrent", _CIN_GENDER.get(row.get("sex", ""), "9"))
                        if row.get("cp_plan"):
                            with xf.element("CINdetails"), xf.element("ChildProtectionPlans"):
                                _leaf(xf, "CPPstartDate", "2025-09-01")
    return {source: path}


def _write_903(out_dir: Path, source: str, rows: list[Row], ids: IdMap) -> dict[str, Path]:
    folder = out_dir / source
    folder.mkdir(exist_ok=True)
    with (folder / "header.csv").open("w", newline="", encoding="utf-8") as h_handle, \
            (folder / "episodes.csv").open("w", newline="", encoding="utf-8") as e_handle:
        header = csv.writer(h_handle, lineterminator="\n")
        header.writerow(["CHILD", "SEX", "DOB", "ETHNIC", "UPN", "MOTHER", "MC_DOB"])
        episodes = csv.writer(e_handle, lineterminator="\n")
        episodes.writerow(["CHILD", "DECOM", "RNE", "LS", "CIN", "PLACE", "PLACE_PROVIDER",
                           "DEC", "REC", "REASON_PLACE_CHANGE", "HOME_POST", "PL_POST"])
        for row in rows:
            ids.append((row["record_id"], row["record_id"]))
            sex = {"M": "1", "F": "2"}.get(row.get("sex", ""), "")
            header.writerow([row["record_id"], sex, _dmy(row.get("dob", "")), "", row.get("upn", ""),
                             "", ""])
            if row.get("postcode"):
                episodes.writerow([row["record_id"], "01/09/2025", "S", "C2", "N1", "U1", "PR1",
                                   "", "", "", row["postcode"], ""])
    return {source: folder}


def _write_ssd(out_dir: Path, source: str, rows: list[Row], ids: IdMap) -> dict[str, Path]:
    folder = out_dir / source
    folder.mkdir(exist_ok=True)
    extras = sorted({k for r in rows for k in _extras(r)})
    with (folder / "ssd_person.csv").open("w", newline="", encoding="utf-8") as p_handle, \
            (folder / "ssd_address.csv").open("w", newline="", encoding="utf-8") as a_handle:
        person = csv.writer(p_handle, lineterminator="\n")
        person.writerow(["pers_person_id", "pers_legacy_id", "pers_upn", "pers_single_unique_id",
                         "pers_forename", "pers_surname", "pers_dob", "pers_expected_dob",
                         "pers_sex", *extras])
        address = csv.writer(a_handle, lineterminator="\n")
        address.writerow(["addr_table_id", "addr_person_id", "addr_address_json",
                          "addr_address_postcode"])
        for n, row in enumerate(rows, start=1):
            ids.append((row["record_id"], row["record_id"]))
            person.writerow([row["record_id"], row.get("local_id", ""), row.get("upn", ""),
                             row.get("nhs_number", ""), row.get("given_name", ""),
                             row.get("family_name", ""), row.get("dob", ""),
                             row.get("expected_dob", ""), row.get("sex", ""),
                             *(row.get(e, "") for e in extras)])
            if row.get("address") or row.get("postcode"):
                parts = {"ROOM": "", "FLOOR": "", "FLAT": "", "BUILDING": "",
                         "HOUSE": row.get("address", ""), "STREET": "", "TOWN": "",
                         "UPRN": row.get("uprn", ""), "EASTING": "", "NORTHING": ""}
                address.writerow([str(n), row["record_id"], json.dumps(parts),
                                  row.get("postcode", "")])
    return {source: folder}


def _write_csc_api(out_dir: Path, source: str, rows: list[Row], ids: IdMap) -> dict[str, Path]:
    path = out_dir / f"{source}.json"
    with path.open("w", encoding="utf-8") as handle:
        handle.write('{"la_code": 999, "Children": [\n')
        for n, row in enumerate(rows):
            ids.append((row["record_id"], row["record_id"]))
            details = {
                "unique_pupil_number": row.get("upn") or None,
                "former_unique_pupil_number": row.get("former_upn") or None,
                "first_name": row.get("given_name") or None,
                "surname": row.get("family_name") or None,
                "date_of_birth": row.get("dob") or None,
                "expected_date_of_birth": row.get("expected_dob") or None,
                "sex": row.get("sex") or None, "postcode": row.get("postcode") or None,
                "restriction": row.get("restriction") or None,
            }
            child: dict[str, Any] = {"la_child_id": row["record_id"], "mis_child_id": row.get("local_id") or None,
                     "child_details": {k: v for k, v in details.items() if v is not None},
                     "social_care_episodes": []}
            handle.write(("," if n else "") + json.dumps(child) + "\n")
        handle.write("]}\n")
    return {source: path}


# --- health ------------------------------------------------------------------------------------

def _patient(row: Row) -> dict[str, object]:
    resource: dict[str, object] = {"resourceType": "Patient", "id": row["record_id"]}
    if row.get("nhs_number"):
        resource["identifier"] = [{"system": _NHS_SYSTEM, "value": row["nhs_number"]}]
    name: dict[str, object] = {"use": "official"}
    if row.get("family_name"):
        name["family"] = row["family_name"]
    given = [g for g in (row.get("given_name"), *(row.get("middle_names") or "").split()) if g]
    if given and row.get("given_name"):
        name["given"] = given
    if len(name) > 1:
        resource["name"] = [name]
    gender = {"M": "male", "F": "female", "U": "unknown"}.get(row.get("sex", ""))
    if gender:
        resource["gender"] = gender
    if row.get("dob") and _iso(row["dob"]):
        resource["birthDate"] = row["dob"]
    if row.get("address") or row.get("postcode"):
        address: dict[str, object] = {}
        if row.get("address"):
            address["line"] = [row["address"]]
        if row.get("postcode"):
            address["postalCode"] = row["postcode"]
        resource["address"] = [address]
    if row.get("restriction"):
        resource["meta"] = {"security": [{"system": _RESTRICTION_SYSTEM,
                                          "code": row["restriction"]}]}
    extras = {k: v for k, v in _extras(row).items() if k != "restriction"}
    if extras:
        resource["extension"] = [{"url": _ATTRIBUTE_EXTENSION + k, "valueString": v}
                                 for k, v in extras.items()]
    return resource


def _write_fhir(out_dir: Path, source: str, rows: list[Row], ids: IdMap) -> dict[str, Path]:
    path = out_dir / f"{source}.json"
    with path.open("w", encoding="utf-8") as handle:
        handle.write('{"resourceType": "Bundle", "type": "collection", "entry": [\n')
        for n, row in enumerate(rows):
            ids.append((row["record_id"], row["record_id"]))
            handle.write(("," if n else "") + json.dumps({"resource": _patient(row)}) + "\n")
        handle.write("]}\n")
    return {source: path}


def _write_pds(out_dir: Path, source: str, rows: list[Row], ids: IdMap) -> dict[str, Path]:
    path = out_dir / f"{source}.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["UNIQUE REFERENCE", "REQ_NHS_NO", "FAMILY_NAME", "GIVEN_NAME",
                         "OTHER_GIVEN_NAME", "GENDER", "DATE_OF_BIRTH", "ADDRESS_LINE1",
                         "POSTCODE", "MATCHED_NHS_NO", "MATCHED_ALGORITHM_INDICATOR",
                         "RESTRICTION"])
        for row in rows:
            ids.append((row["record_id"], row["record_id"]))
            gender = {"M": "1", "F": "2", "U": "0"}.get(row.get("sex", ""), "")
            writer.writerow([row["record_id"], "", row.get("family_name", ""),
                             row.get("given_name", ""), row.get("middle_names", ""), gender,
                             _basic(row.get("dob", "")), row.get("address", ""),
                             row.get("postcode", ""), row.get("nhs_number", ""),
                             "1" if row.get("nhs_number") else "0", row.get("restriction", "")])
    return {source: path}


_WRITERS: Final[dict[str, Callable[[Path, str, list[Row], IdMap], dict[str, Path]]]] = {
    "ctf": _write_ctf, "census": _write_census, "cin": _write_cin, "903": _write_903,
    "ssd": _write_ssd, "csc-api": _write_csc_api, "fhir": _write_fhir, "pds": _write_pds,
}


def _rewrite_truth(out_dir: Path, source: str, ids: IdMap) -> None:
    """truth.csv with the format's record IDs, and the map back to the CSV records."""
    truth_path = out_dir / "truth" / "truth.csv"
    if not truth_path.exists():
        return
    truth = list(_rows(truth_path))
    person = {(t["source"], t["record_id"]): t for t in truth}
    with truth_path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["source", "record_id", "person_id", "family_id"])
        for t in truth:
            if t["source"] != source:
                writer.writerow([t["source"], t["record_id"], t["person_id"], t["family_id"]])
        for new, old in ids:
            t = person[(source, old)]
            writer.writerow([source, new, t["person_id"], t["family_id"]])
    map_path = out_dir / "truth" / "format_records.csv"
    # Several sources may be rewritten one after another (a folder mixing formats).
    kept = [r for r in _rows(map_path) if r["source"] != source] if map_path.exists() else []
    with map_path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["source", "record_id", "csv_record_id"])
        writer.writerows((r["source"], r["record_id"], r["csv_record_id"]) for r in kept)
        writer.writerows((source, new, old) for new, old in ids)
