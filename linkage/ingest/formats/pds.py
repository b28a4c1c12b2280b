"""NHS PDS batch trace (PDS MESH): the request kinlink writes, and the response read back.

Both are CSV with a header. The request's columns, from NHS England's PDS MESH data dictionary:
``UNIQUE REFERENCE`` (mandatory; ours is the person ID, so the answer comes back to the right
person), ``NHS_NO``, ``FAMILY_NAME``, ``GIVEN_NAME``, ``OTHER_GIVEN_NAME``, ``GENDER`` (0 not
known, 1 male, 2 female, 9 not specified), ``DATE_OF_BIRTH`` (YYYYMMDD), ``POSTCODE`` and
``ADDRESS_LINE1``–``ADDRESS_LINE5``. The response repeats the reference and the demographics PDS
holds, with the traced number (``MATCHED_NHS_NO``) and how it was found; a response row with no
traced number says nothing and is left out (counted in the reject report).
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from linkage.ingest.formats.base import FormatExtract, RecordTable, blank_to_none, read_csv_rows
from linkage.ingest.rejects import Reject

__all__ = ["FORMAT", "GENDER_CODES", "REQUEST_COLUMNS", "is_pds_header", "read_pds_response"]

FORMAT: Final = "pds"
REFERENCE: Final = "UNIQUE REFERENCE"
REQUEST_COLUMNS: Final = (
    REFERENCE, "NHS_NO", "FAMILY_NAME", "GIVEN_NAME", "OTHER_GIVEN_NAME", "GENDER",
    "DATE_OF_BIRTH", "POSTCODE", "ADDRESS_LINE1", "ADDRESS_LINE2", "ADDRESS_LINE3",
    "ADDRESS_LINE4", "ADDRESS_LINE5",
)
#: contract sex → PDS gender code, and back
GENDER_CODES: Final = {"M": "1", "F": "2", "U": "0"}
_SEX: Final = {"1": "M", "2": "F", "0": "U", "9": "U"}
_TRACED: Final = ("MATCHED_NHS_NO", "PDS_NHS_NO", "NHS_NO")
CATEGORIES: Final = {
    "trace_result": "identity", "req_nhs_no": "identity", "date_of_death": "identity",
    "gp_practice_code": "professionals", "restriction": "restricted-marker",
}


def is_pds_header(header: list[str]) -> bool:
    names = {h.upper().replace("_", " ") for h in header}
    return REFERENCE in names


def read_pds_response(path: Path) -> FormatExtract:
    rows = RecordTable()
    rejects: list[Reject] = []
    for line, raw in read_csv_rows(path):
        row = {k.upper().replace("UNIQUE_REFERENCE", REFERENCE): blank_to_none(v)
               for k, v in raw.items()}
        traced = next((row[c] for c in _TRACED if row.get(c)), None)
        if traced is None:
            rejects.append(Reject(str(path), line, "NHS_NO",
                                  "no NHS number traced for this reference; row skipped"))
            continue
        lines = [row.get(f"ADDRESS_LINE{i}") for i in range(1, 6)]
        gender = row.get("GENDER")
        rows.add(line, {
            "record_id": row.get(REFERENCE),
            "nhs_number": traced,
            "given_name": row.get("GIVEN_NAME"),
            "middle_names": row.get("OTHER_GIVEN_NAME"),
            "family_name": row.get("FAMILY_NAME"),
            "dob": row.get("DATE_OF_BIRTH"),
            "sex": _SEX.get(gender or "", gender),
            "postcode": row.get("POSTCODE"),
            "address": ", ".join(v for v in lines if v) or None,
            "trace_result": row.get("MATCHED_ALGORITHM_INDICATOR") or row.get(
                "ERROR/SUCCESS_CODE"),
            "req_nhs_no": row.get("REQ_NHS_NO"),
            "date_of_death": row.get("DATE_OF_DEATH"),
            "gp_practice_code": row.get("GP_PRACTICE_CODE"),
            "restriction": row.get("RESTRICTION"),
        })
    return FormatExtract(FORMAT, None, (path,), rows, [], dict(CATEGORIES), ("%Y%m%d",), 1,
                         rejects)
