"""DfE Common Transfer File (CTF) XML: pupils, their former UPNs and names, addresses, contacts.

Layout as the DfE publishes it: ``<CTfile>`` with a ``<Header>`` (``CTFversion``, source school)
and ``<CTFpupilData>`` holding one ``<Pupil>`` per child. A pupil's surname, forename, DOB and sex
sit on the pupil in recent versions and inside ``<BasicDetails>`` in others; both are read. Each
``<Contact>`` of a pupil (parent, carer) becomes a record of its own and a relationship row, since
it is someone a MASH may need to find.

A CTF carries no record ID of the sending system: a pupil is keyed by its UPN (the file's own
key), or by its position when the UPN is missing or repeated; a contact by its pupil and order.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from lxml import etree

from linkage.ingest.errors import ExtractError
from linkage.ingest.formats.base import (
    FormatExtract,
    RecordTable,
    XmlRecords,
    child_text,
    leaf_texts,
)
from linkage.ingest.rejects import Reject

__all__ = ["FORMAT", "SUPPORTED_VERSIONS", "read_ctf"]

FORMAT: Final = "ctf"
#: CTF schema major versions whose pupil layout this reader knows (the DfE issues one a year).
SUPPORTED_VERSIONS: Final = range(16, 28)
#: CTF contact relationship codes onto the roles the linkage rules know.
RELATIONSHIPS: Final = {
    "PAR": "parent", "MTH": "mother", "FTH": "father", "CAR": "carer", "FOS": "carer",
    "STP": "carer", "GRP": "carer", "REL": "associate", "SIB": "sibling", "OTH": "associate",
}
#: Pupil elements the DfE marks mandatory that linkage relies on (a pupil without one is kept,
#: and reported).
_REQUIRED: Final = {"upn": "UPN", "family_name": "Surname", "given_name": "Forename",
                    "dob": "DOB"}
CATEGORIES: Final = {
    "uln": "education-identifiers", "uci": "education-identifiers",
    "preferred_family_name": "identity", "preferred_given_name": "identity",
    "nc_year": "education-attendance", "ethnicity": "ethnicity", "school": "education-attendance",
    "parental_responsibility": "relationships", "restriction": "restricted-marker",
}


def read_ctf(path: Path) -> FormatExtract:
    rows = RecordTable()
    relationships: list[tuple[str, str, str]] = []
    rejects: list[Reject] = []
    version: str | None = None
    school: str | None = None
    seen: set[str] = set()
    pupils = 0
    for element in XmlRecords(path, "CTfile", frozenset({"Header", "Pupil"})):
        if element.tag == "Header":
            version = _check_version(path, element)
            lea, estab = child_text(element, "SourceSchool/LEA"), child_text(
                element, "SourceSchool/Estab")
            school = f"{lea}{estab}" if lea and estab else None
            continue
        if version is None:
            raise ExtractError(
                f"{path}: line {element.sourceline}: required element <Header> (with "
                "<CTFversion>) is missing before the first <Pupil>")
        pupils += 1
        upn = child_text(element, "UPN")
        record_id = upn if upn and upn not in seen else f"pupil-{pupils}"
        seen.add(record_id)
        pupil = _pupil(element, record_id, upn, school)
        rows.add(element.sourceline or 0, pupil)
        for column, name in _REQUIRED.items():
            if pupil.get(column) is None:
                rejects.append(Reject(str(path), element.sourceline, column,
                                      f"required element <Pupil>/<{name}> is missing"))
        for order, contact in enumerate(_children(element, "Contacts", "Contact"), start=1):
            contact_id = f"{record_id}/contact-{child_text(contact, 'Order') or order}"
            rows.add(contact.sourceline or 0, _contact(contact, contact_id))
            code = (child_text(contact, "Relationship") or "").upper()
            relationships.append((contact_id, record_id, RELATIONSHIPS.get(code, "associate")))
    if version is None:
        raise ExtractError(f"{path}: required element <Header> is missing")
    return FormatExtract(FORMAT, version, (path,), rows, relationships, dict(CATEGORIES),
                         ("%Y-%m-%d",), 1, rejects)


def _check_version(path: Path, header: etree._Element) -> str:
    version = child_text(header, "CTFversion")
    if version is None:
        raise ExtractError(
            f"{path}: line {header.sourceline}: required element <Header>/<CTFversion> is missing")
    major = version.split(".")[0]
    if not major.isdigit() or int(major) not in SUPPORTED_VERSIONS:
        raise ExtractError(
            f"{path}: line {header.sourceline}: <CTFversion> {version} is not one this reader "
            f"knows ({SUPPORTED_VERSIONS.start}.x to {SUPPORTED_VERSIONS.stop - 1}.x)")
    return version


def _children(element: etree._Element, group: str, name: str) -> list[etree._Element]:
    holder = next((c for c in element if isinstance(c.tag, str) and c.tag == group), None)
    return [] if holder is None else [c for c in holder if c.tag == name]


def _address(texts: dict[str, str], base: str) -> dict[str, str | None]:
    def get(*names: str) -> str | None:
        return next((texts[f"{base}{n}"] for n in names if f"{base}{n}" in texts), None)

    parts = [get(f"BS7666Address/{p}") for p in
             ("SAON", "PAON", "Street", "Locality", "Town", "PostTown")]
    lines = [get(f"AddressLines/AddressLine{i}") for i in range(1, 6)]
    return {
        "address": ", ".join(p for p in (*parts, *lines) if p) or None,
        "postcode": get("BS7666Address/Postcode", "Postcode"),
        "uprn": get("BS7666Address/UniquePropertyReferenceNumber",
                    "UniquePropertyReferenceNumber", "UPRN"),
    }


def _pupil(element: etree._Element, record_id: str, upn: str | None,
           school: str | None) -> dict[str, str | None]:
    texts = leaf_texts(element)

    def first(*names: str) -> str | None:
        for name in names:
            value = texts.get(name) or texts.get(f"BasicDetails/{name}")
            if value:
                return value
        return None

    return {
        "record_id": record_id,
        "upn": upn,
        "former_upn": first("FormerUPN"),
        "given_name": first("Forename", "LegalForename"),
        "middle_names": first("MiddleNames"),
        "family_name": first("Surname", "LegalSurname"),
        "former_family_name": first("FormerSurname"),
        "dob": first("DOB"),
        "sex": first("Sex", "Gender"),
        **_address(texts, "Address/"),
        "uln": first("UniqueLearnerNumber"),
        "uci": first("UCI"),
        "preferred_family_name": first("PreferredSurname"),
        "preferred_given_name": first("PreferredForename"),
        "nc_year": first("NCyearActual"),
        "ethnicity": first("Ethnicity"),
        "school": school,
        "restriction": first("Restriction"),
        **_other_leaves(texts),
    }


#: Pupil elements mapped above (the rest of a pupil's simple elements are kept as attributes).
_MAPPED: Final = frozenset({
    "UPN", "FormerUPN", "Forename", "LegalForename", "MiddleNames", "Surname",
    "LegalSurname", "FormerSurname", "DOB", "Sex", "Gender", "UniqueLearnerNumber", "UCI",
    "PreferredSurname", "PreferredForename", "NCyearActual", "Ethnicity", "Restriction",
})


def _other_leaves(texts: dict[str, str]) -> dict[str, str | None]:
    """Simple elements of the pupil (and its BasicDetails) this reader does not map, by name."""
    out: dict[str, str | None] = {}
    for path, text in texts.items():
        name = path.removeprefix("BasicDetails/")
        if "/" not in name and name not in _MAPPED:
            out[name] = text
    return out


def _contact(contact: etree._Element, record_id: str) -> dict[str, str | None]:
    texts = leaf_texts(contact)
    return {
        "record_id": record_id,
        "given_name": texts.get("Forename"),
        "family_name": texts.get("Surname"),
        "sex": texts.get("Gender") or texts.get("Sex"),
        **_address(texts, "Address/"),
        "parental_responsibility": texts.get("Responsibility"),
    }
