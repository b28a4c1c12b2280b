"""A PDS batch trace request for the persons the index holds no verified NHS number for.

The Children's Wellbeing and Schools Act makes the NHS number the single unique identifier for
children; a council gets there by tracing its records through PDS. One request row per person,
not per record: the ``UNIQUE REFERENCE`` is the person ID, so the response — dropped into the
sources folder, where it is read as a ``pds`` source — comes back as one record per person
carrying the traced number, and the next link run joins it to that person's records (and, by the
number, to any other agency's record of the same child).

A person needs tracing when none of their records has a valid NHS number whose record does not
say it is unverified (FHIR's UK Core verification status other than 01, "number present and
verified"). The row is built from the person's most complete record; a person with no family
name or no date of birth cannot be traced alphanumerically and is counted, not written.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from linkage.ingest.formats.pds import GENDER_CODES, REQUEST_COLUMNS
from linkage.standardise.nhs_number import clean_nhs_number

__all__ = ["TraceRequest", "write_trace_request"]

VERIFIED: Final = "01"
_FIELDS: Final = ("given_name", "middle_names", "family_name", "dob", "sex", "postcode",
                  "address")


@dataclass(frozen=True)
class TraceRequest:
    path: Path
    persons: int
    written: int
    untraceable: int  # no family name or no date of birth

    def __str__(self) -> str:
        return (f"{self.written:,} of {self.persons:,} persons without a verified NHS number "
                f"written to {self.path} ({self.untraceable:,} lack a family name or date of "
                "birth and cannot be traced)")


def _verified(row: dict[str, Any]) -> bool:
    if clean_nhs_number(row.get("nhs_number")).status != "valid":
        return False
    try:
        attributes = json.loads(row.get("attributes") or "{}")
    except json.JSONDecodeError:
        attributes = {}
    status = attributes.get("nhs_number_verification")
    return status is None or str(status) == VERIFIED


def write_trace_request(con: Any, out: Path) -> TraceRequest:
    """``con``: a connection onto the identity index (``linkage.index.connect_index``)."""
    frame = con.execute(
        f"""SELECT l.person_id, s.nhs_number, s.attributes, {", ".join(f"s.{c}" for c in _FIELDS)}
            FROM record_links l JOIN source_records s USING (unique_id)
            ORDER BY l.person_id, s.unique_id""").df()
    frame = frame.astype(object).where(frame.notna(), None)
    records = frame.to_dict("records")
    by_person: dict[str, list[dict[str, Any]]] = {}
    for row in records:
        by_person.setdefault(row["person_id"], []).append(row)
    out.parent.mkdir(parents=True, exist_ok=True)
    persons = written = untraceable = 0
    with out.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(REQUEST_COLUMNS)
        for person, rows in by_person.items():
            if any(_verified(r) for r in rows):
                continue
            persons += 1
            best = max(rows, key=lambda r: sum(r.get(c) is not None for c in _FIELDS))
            if not best.get("family_name") or not best.get("dob"):
                untraceable += 1
                continue
            unverified = next((clean_nhs_number(r["nhs_number"]).value for r in rows
                               if clean_nhs_number(r.get("nhs_number")).status == "valid"), None)
            writer.writerow([
                person, unverified or "", best["family_name"], best.get("given_name") or "",
                best.get("middle_names") or "", GENDER_CODES.get(best.get("sex") or "", "0"),
                str(best["dob"]).replace("-", ""), best.get("postcode") or "",
                best.get("address") or "", "", "", "", "",
            ])
            written += 1
    return TraceRequest(out, persons, written, untraceable)
