"""The identity index: persons, families, record links, lineage and review decisions."""

from linkage.index.store import (
    SCHEMA_VERSION,
    IndexNotFound,
    LinkInProgress,
    building_index,
    connect_index,
    default_db_path,
)

__all__ = [
    "SCHEMA_VERSION",
    "IndexNotFound",
    "LinkInProgress",
    "building_index",
    "connect_index",
    "default_db_path",
]
