"""The canonical source-extract layout (``shared/contracts/source-extract.md``) as constants.

Every reader maps its input onto these names; every later stage relies on nothing else.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "CANONICAL_COLUMNS",
    "DATE_COLUMNS",
    "IDENTITY_COLUMNS",
    "RELATIONSHIP_COLUMNS",
    "REQUIRED_COLUMNS",
    "unique_id",
]

#: The person-record columns every extract is mapped onto, in contract order.
CANONICAL_COLUMNS: Final[tuple[str, ...]] = (
    "record_id",
    "nhs_number",
    "upn",
    "local_id",
    "given_name",
    "middle_names",
    "family_name",
    "dob",
    "sex",
    "postcode",
    "address",
    "former_upn",
    "former_family_name",
    "uprn",
    "expected_dob",
)

#: Columns that hold a date (ISO once read), parsed with the source's date format.
DATE_COLUMNS: Final[tuple[str, ...]] = ("dob", "expected_dob")

#: Only the record's own ID is mandatory; every other contract column may be absent or empty.
REQUIRED_COLUMNS: Final[tuple[str, ...]] = ("record_id",)

#: Columns that say who a record is about (as opposed to attributes carried for sharing).
IDENTITY_COLUMNS: Final[tuple[str, ...]] = CANONICAL_COLUMNS[1:]

#: ``<source>_relationships.csv`` layout.
RELATIONSHIP_COLUMNS: Final[tuple[str, ...]] = ("record_id", "related_record_id", "relationship")


def unique_id(source: str, record_id: str) -> str:
    """One key for a record across all sources: record IDs are only unique within their source."""
    return f"{source}:{record_id}"
