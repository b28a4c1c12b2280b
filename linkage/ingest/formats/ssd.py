"""Data to Insight Standard Safeguarding Dataset (SSD): a folder of its tables as CSV.

``ssd_person`` (pers_person_id, pers_upn, forename/surname, pers_dob, pers_expected_dob, pers_sex
and the NHS number as the single/common child identifier), ``ssd_address`` (addr_person_id,
addr_address_postcode, addr_address_json holding the UPRN) and ``ssd_linked_identifiers``
(link_person_id, link_identifier_type, link_identifier_value: former UPNs among them). Column
names vary a little between SSD releases; each field is looked for under the names releases
have used. The SSD guidance records an unknown day of birth as the 15th, so that is this
format's estimated day. Dates are exported from SQL Server as datetimes; the time is dropped.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Final

from linkage.ingest.errors import ExtractError
from linkage.ingest.formats.base import FormatExtract, RecordTable, blank_to_none, read_csv_rows

__all__ = ["FORMAT", "is_ssd_folder", "read_ssd"]

FORMAT: Final = "ssd"
ESTIMATED_DAY: Final = 15
_FIELDS: Final = {
    "record_id": ("pers_person_id",),
    "local_id": ("pers_legacy_id",),
    "upn": ("pers_upn",),
    "nhs_number": ("pers_single_unique_id", "pers_common_child_id", "pers_nhs_number"),
    "given_name": ("pers_forename", "pers_legal_forename", "pers_first_name"),
    "middle_names": ("pers_middle_names",),
    "family_name": ("pers_surname", "pers_legal_surname", "pers_last_name"),
    "dob": ("pers_dob",),
    "expected_dob": ("pers_expected_dob",),
    "sex": ("pers_sex",),
}
CATEGORIES: Final = {
    "pers_ethnicity": "ethnicity", "pers_gender": "identity", "pers_death_date": "identity",
    "pers_is_mother": "looked-after", "pers_nationality": "immigration",
    "pers_upn_unknown": "education-identifiers", "pers_send_flag": "send",
    "restriction": "restricted-marker",
}


def is_ssd_folder(path: Path) -> bool:
    return path.is_dir() and (path / "ssd_person.csv").exists()


def read_ssd(path: Path) -> FormatExtract:
    person = path / "ssd_person.csv"
    if not person.exists():
        raise ExtractError(f"{path}: SSD folder has no ssd_person.csv")
    address_path, linked_path = path / "ssd_address.csv", path / "ssd_linked_identifiers.csv"
    addresses = _addresses(address_path) if address_path.exists() else {}
    former = _former_upns(linked_path) if linked_path.exists() else {}
    rows = RecordTable()
    used = {name for names in _FIELDS.values() for name in names}
    for line, raw in read_csv_rows(person):
        row = {k.lower(): blank_to_none(v) for k, v in raw.items()}
        if "pers_person_id" not in row:
            raise ExtractError(f"{person}: required column 'pers_person_id' is missing")
        record = {field: next((row[n] for n in names if row.get(n)), None)
                  for field, names in _FIELDS.items()}
        for column in ("dob", "expected_dob"):
            record[column] = _date_part(record[column])
        key = record["record_id"] or ""
        record.update(addresses.get(key, {}))
        record["former_upn"] = former.get(key)
        record.update({k: v for k, v in row.items() if k not in used})
        rows.add(line, record)
    files = tuple(p for p in (person, address_path, linked_path) if p.exists())
    return FormatExtract(FORMAT, None, files, rows, [], dict(CATEGORIES), None, ESTIMATED_DAY)


def _date_part(value: str | None) -> str | None:
    """'2015-03-02 00:00:00.000' → '2015-03-02'; anything else as it was."""
    if value and len(value) > 10 and value[4] == "-" and value[10] in " T":
        return value[:10]
    return value


def _addresses(path: Path) -> dict[str, dict[str, str | None]]:
    out: dict[str, dict[str, str | None]] = {}
    for line, raw in read_csv_rows(path):
        row = {k.lower(): blank_to_none(v) for k, v in raw.items()}
        person = row.get("addr_person_id")
        if not person or person in out:
            continue
        parts: dict[str, str] = {}
        if row.get("addr_address_json"):
            try:
                loaded = json.loads(row["addr_address_json"] or "")
            except json.JSONDecodeError as exc:
                raise ExtractError(f"{path}: line {line}: addr_address_json is not JSON "
                                   f"({exc.msg})") from exc
            parts = {k.upper(): str(v).strip() for k, v in (loaded or {}).items() if v}
        text = ", ".join(parts[k] for k in ("ROOM", "FLOOR", "FLAT", "BUILDING", "HOUSE",
                                            "STREET", "TOWN") if parts.get(k)) or None
        out[person] = {"address": text, "postcode": row.get("addr_address_postcode"),
                       "uprn": parts.get("UPRN")}
    return out


def _former_upns(path: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    for _line, raw in read_csv_rows(path):
        row = {k.lower(): blank_to_none(v) for k, v in raw.items()}
        kind = (row.get("link_identifier_type") or "").lower()
        is_upn = "upn" in kind or "unique pupil number" in kind
        if row.get("link_person_id") and "former" in kind and is_upn:
            out.setdefault(row["link_person_id"] or "", row.get("link_identifier_value") or "")
    return out
