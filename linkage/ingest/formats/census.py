"""School census / LA pupil extract (CSV): pupils on roll, with their addresses table when sent.

Column names as the census tables carry them (lower case, as in Social Finance's liia-tools
schema for the 2024 census): ``pupilonrolltableid``, ``upn``, ``formerupn``, ``surname``,
``forename``, ``middlenames``, ``formersurname``, ``uniquelearnernumber``, ``dob``, ``sex``.
Addresses come in their own table (``addressesonroll``: ``pupilonrolltableid``, ``saon``,
``paon``, ``street``, ``town``, ``postcode``, ``uniquepropertyreferencenumber``), either as a
file beside the pupils (``<source>_addresses.csv``) or in a folder of census tables.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from linkage.ingest.errors import ExtractError
from linkage.ingest.formats.base import (
    FormatExtract,
    RecordTable,
    blank_to_none,
    csv_header,
    read_csv_rows,
)

__all__ = ["ADDRESS_SUFFIX", "FORMAT", "is_census_header", "read_census"]

FORMAT: Final = "census"
#: ``<source>_addresses.csv`` beside a census pupils file holds their addresses.
ADDRESS_SUFFIX: Final = "_addresses"
KEY: Final = "pupilonrolltableid"
_COLUMNS: Final = {
    "upn": "upn", "formerupn": "former_upn", "surname": "family_name", "forename": "given_name",
    "middlenames": "middle_names", "formersurname": "former_family_name", "dob": "dob",
    "sex": "sex",
}
_ADDRESS_PARTS: Final = ("saon", "paon", "street", "locality", "town", "posttown",
                         "addressline1", "addressline2", "addressline3")
CATEGORIES: Final = {
    "uniquelearnernumber": "education-identifiers", "preferredsurname": "identity",
    "entrydate": "education-attendance", "leavingdate": "education-attendance",
    "ncyearactual": "education-attendance", "senprovision": "send", "ethnicity": "ethnicity",
    "restriction": "restricted-marker",
}


def is_census_header(header: list[str]) -> bool:
    names = {h.lower() for h in header}
    return {"upn", "surname", "forename", "dob"} <= names and "record_id" not in names


def read_census(path: Path) -> FormatExtract:
    """``path``: the pupils CSV, or a folder holding ``pupilonroll.csv`` (and the addresses)."""
    pupils = path / "pupilonroll.csv" if path.is_dir() else path
    addresses = (path / "addressesonroll.csv" if path.is_dir()
                 else path.with_name(f"{path.stem}{ADDRESS_SUFFIX}.csv"))
    if not pupils.exists():
        raise ExtractError(f"{path}: census folder has no pupilonroll.csv")
    header = [h.lower() for h in csv_header(pupils)]
    if KEY not in header and "upn" not in header:
        raise ExtractError(f"{pupils}: required column {KEY!r} (or 'upn') is missing")
    address_of = _addresses(addresses) if addresses.exists() else {}
    rows = RecordTable()
    for line, raw in read_csv_rows(pupils):
        row = {k.lower(): blank_to_none(v) for k, v in raw.items()}
        record: dict[str, str | None] = {"record_id": row.get(KEY) or row.get("upn")}
        for source, target in _COLUMNS.items():
            record[target] = row.get(source)
        record.update(address_of.get(record["record_id"] or "", {}))
        for column, value in row.items():
            if column not in _COLUMNS and column != KEY and column not in record:
                record[column] = value
        rows.add(line, record)
    files = (pupils, addresses) if addresses.exists() else (pupils,)
    return FormatExtract(FORMAT, None, files, rows, [], dict(CATEGORIES), None, 1)


def _addresses(path: Path) -> dict[str, dict[str, str | None]]:
    """The first address of each pupil (the census lists the current one first)."""
    out: dict[str, dict[str, str | None]] = {}
    for _line, raw in read_csv_rows(path):
        row = {k.lower(): blank_to_none(v) for k, v in raw.items()}
        key = row.get(KEY)
        if not key or key in out:
            continue
        text = ", ".join(v for p in _ADDRESS_PARTS if (v := row.get(p))) or None
        out[key] = {"address": text, "postcode": row.get("postcode"),
                    "uprn": row.get("uniquepropertyreferencenumber")}
    return out
