"""Children in Need census XML: each child's identifiers, and the dates of their CIN episodes.

Layout as the DfE publishes it (and as Data to Insight's validator reads it): ``<Message>`` with a
``<Header>`` whose ``<CollectionDetails>`` name the collection (``CIN``) and year, and
``<Children>`` holding one ``<Child>`` each with ``<ChildIdentifiers>`` (LAchildID, UPN,
FormerUPN, PersonBirthDate, ExpectedPersonBirthDate, GenderCurrent, PersonDeathDate) and any
number of ``<CINdetails>`` (referral, section 47 enquiries, child protection plans).

The census holds no names and no address: its records link by UPN and date of birth alone, and
carry their section 47 and child protection plan dates as ``cp-plan`` attributes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from lxml import etree

from linkage.ingest.errors import ExtractError
from linkage.ingest.formats.base import FormatExtract, RecordTable, XmlRecords, child_text
from linkage.ingest.rejects import Reject

__all__ = ["FORMAT", "read_cin"]

FORMAT: Final = "cin"
#: GenderCurrent codes (0 not known, 1 male, 2 female, 9 not specified).
GENDER: Final = {"1": "M", "2": "F", "0": "U", "9": "U"}
CATEGORIES: Final = {
    "upn_unknown": "education-identifiers", "death_date": "identity", "ethnicity": "ethnicity",
    "cin_referral_dates": "case-status", "cin_closure_dates": "case-status",
    "s47_start_dates": "cp-plan", "cp_plan_start_dates": "cp-plan",
    "cp_plan_end_dates": "cp-plan", "abuse_categories": "cp-plan",
}


def read_cin(path: Path) -> FormatExtract:
    rows = RecordTable()
    rejects: list[Reject] = []
    version: str | None = None
    for element in XmlRecords(path, "Message", frozenset({"Header", "Child"})):
        if element.tag == "Header":
            version = _check_collection(path, element)
            continue
        if version is None:
            raise ExtractError(f"{path}: line {element.sourceline}: required element <Header> "
                               "is missing before the first <Child>")
        identifiers = next((c for c in element if c.tag == "ChildIdentifiers"), None)
        if identifiers is None or child_text(identifiers, "LAchildID") is None:
            rejects.append(Reject(str(path), element.sourceline, "record_id",
                                  "required element <ChildIdentifiers>/<LAchildID> is missing; "
                                  "child skipped"))
            continue
        rows.add(element.sourceline or 0, _child(element, identifiers))
    if version is None:
        raise ExtractError(f"{path}: required element <Header> is missing")
    return FormatExtract(FORMAT, version, (path,), rows, [], dict(CATEGORIES), ("%Y-%m-%d",),
                         1, rejects)


def _check_collection(path: Path, header: etree._Element) -> str:
    collection = child_text(header, "CollectionDetails/Collection")
    year = child_text(header, "CollectionDetails/Year")
    if collection is None or year is None:
        raise ExtractError(f"{path}: line {header.sourceline}: required element "
                           "<Header>/<CollectionDetails>/<Collection> or <Year> is missing")
    if collection.upper() != "CIN":
        raise ExtractError(f"{path}: line {header.sourceline}: <Collection> is {collection!r}, "
                           "not the Children in Need census ('CIN')")
    return f"CIN {year}"


def _joined(element: etree._Element, holder: str, name: str) -> str | None:
    values = [child_text(d, name) for d in element.iter(holder)]
    kept = [v for v in values if v]
    return ";".join(kept) or None


def _child(child: etree._Element, ids: etree._Element) -> dict[str, str | None]:
    gender = child_text(ids, "GenderCurrent")
    return {
        "record_id": child_text(ids, "LAchildID"),
        "upn": child_text(ids, "UPN"),
        "former_upn": child_text(ids, "FormerUPN"),
        "dob": child_text(ids, "PersonBirthDate"),
        "expected_dob": child_text(ids, "ExpectedPersonBirthDate"),
        "sex": GENDER.get(gender, gender) if gender else None,
        "upn_unknown": child_text(ids, "UPNunknown"),
        "death_date": child_text(ids, "PersonDeathDate"),
        "ethnicity": child_text(child, "ChildCharacteristics/Ethnicity"),
        "cin_referral_dates": _joined(child, "CINdetails", "CINreferralDate"),
        "cin_closure_dates": _joined(child, "CINdetails", "CINclosureDate"),
        "s47_start_dates": _joined(child, "Section47", "S47ActualStartDate"),
        "cp_plan_start_dates": _joined(child, "ChildProtectionPlans", "CPPstartDate"),
        "cp_plan_end_dates": _joined(child, "ChildProtectionPlans", "CPPendDate"),
        "abuse_categories": _joined(child, "ChildProtectionPlans", "InitialCategoryOfAbuse"),
    }
