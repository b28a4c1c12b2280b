"""The identity index: persons, families, record links, lineage and review decisions."""

from linkage.index.store import (
    SCHEMA_VERSION,
    IndexNotFound,
    IndexUnavailable,
    LinkInProgress,
    building_index,
    connect_index,
    default_db_path,
    default_location,
)

__all__ = [
    "SCHEMA_VERSION",
    "IndexNotFound",
    "IndexUnavailable",
    "LinkInProgress",
    "building_index",
    "connect_index",
    "default_db_path",
    "default_location",
]
