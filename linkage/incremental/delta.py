"""What a re-extract changed: new, changed, withdrawn and unchanged records against the last index.

A record is unchanged when its standardised features hash the same as last run's: that is what
its comparisons are computed from, so a change to the standardisers (a nickname added) counts as a
change to every record it touches, and an edit to a column linkage never reads counts as none.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import duckdb

__all__ = ["DELTA_TABLE", "STABLE_TABLE", "RecordDelta", "record_delta", "store_fingerprints"]

#: Temporary tables (in the building index's connection) of this run's record keys.
DELTA_TABLE = "incremental_delta_records"
STABLE_TABLE = "incremental_stable_records"

_FINGERPRINTS_SQL = """
    SELECT unique_id, md5_number(CAST(to_json(f) AS VARCHAR)) AS content_hash
    FROM (SELECT * EXCLUDE (idx) FROM record_features) AS f
"""


@dataclass(frozen=True)
class RecordDelta:
    new: int
    changed: int
    withdrawn: int
    unchanged: int

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def store_fingerprints(con: duckdb.DuckDBPyConnection) -> None:
    """Keep each record's feature hash in the index, for the next run to diff against."""
    con.execute(f"INSERT INTO record_fingerprints {_FINGERPRINTS_SQL}")


def record_delta(con: duckdb.DuckDBPyConnection) -> RecordDelta:
    """Diff this run's ``record_fingerprints`` against the previous index's.

    Leaves two temporary tables of ``unique_id``: ``DELTA_TABLE`` (new or changed, whose pairs
    are scored afresh) and ``STABLE_TABLE`` (unchanged, whose pairs with each other are reused).
    Withdrawn records are in neither, so every pair they were in is dropped.
    """
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {STABLE_TABLE} AS
        SELECT c.unique_id FROM record_fingerprints c
        JOIN previous.record_fingerprints p USING (unique_id)
        WHERE c.content_hash = p.content_hash
        """
    )
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {DELTA_TABLE} AS
        SELECT unique_id FROM record_fingerprints
        WHERE unique_id NOT IN (SELECT unique_id FROM {STABLE_TABLE})
        """
    )
    row = con.execute(
        f"""
        SELECT
            (SELECT count(*) FROM {DELTA_TABLE} d
             WHERE d.unique_id NOT IN (SELECT unique_id FROM previous.record_fingerprints)),
            (SELECT count(*) FROM {DELTA_TABLE} d
             WHERE d.unique_id IN (SELECT unique_id FROM previous.record_fingerprints)),
            (SELECT count(*) FROM previous.record_fingerprints p
             WHERE p.unique_id NOT IN (SELECT unique_id FROM record_fingerprints)),
            (SELECT count(*) FROM {STABLE_TABLE})
        """
    ).fetchall()
    new, changed, withdrawn, unchanged = (int(v) for v in row[0])
    return RecordDelta(new=new, changed=changed, withdrawn=withdrawn, unchanged=unchanged)
