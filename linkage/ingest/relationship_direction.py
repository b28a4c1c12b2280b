"""Which way round a relationships file is written, read from the dates of birth in it.

The contract's ``record_id,related_record_id,relationship`` reads naturally both ways: "record_id is
the mother of related_record_id" and "related_record_id is record_id's mother". Agencies' systems
export either, and read the wrong way every mother becomes her own child's daughter: the constraints
then bar a mother's records from joining each other (a parent younger than her child) and the
household rules look in the wrong place. The data says which: a mother is older than her child. So
each source's file is read the way most of its dated parent rows say, and only when they say so
clearly; with too few dated rows the contract's reading (record_id is the relative) stands.

Rows naming a child (``son``, ``daughter``, ``child``) are turned round into ``parent`` rows, and
common synonyms (``mum``, ``dad``, ``brother``) into the roles the linkage rules know.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

__all__ = ["Orientation", "orient_relationships"]

PARENT_ROLES = frozenset({"mother", "father", "parent"})
_CHILD_ROLES = frozenset({"child", "son", "daughter"})
_SYNONYMS = {
    "mum": "mother", "mom": "mother", "birth mother": "mother", "dad": "father",
    "birth father": "father", "brother": "sibling", "sister": "sibling",
    "half-sibling": "sibling", "half sibling": "sibling", "step-parent": "carer",
    "stepparent": "carer", "guardian": "carer", "foster carer": "carer",
}
#: At least this many dated parent rows, and this share of them, must point the other way
#: before a file is read the other way round.
MIN_DATED_ROWS = 5
MIN_SHARE = 0.9


@dataclass(frozen=True)
class Orientation:
    """How one source's relationships were read, for the run summary (counts only)."""

    source: str
    #: True when the file lists the relative second (related_record_id is the mother).
    relative_second: bool
    parent_rows_dated: int
    parent_rows_pointing_second: int


def orient_relationships(
    relationships: pd.DataFrame, dob_of: Mapping[str, str | None]
) -> tuple[pd.DataFrame, list[Orientation]]:
    """Rows as ``record_id`` = the relative, ``related_record_id`` = the person they are the
    relative of, ``relationship`` = a role the linkage rules know. ``dob_of`` maps
    ``source:record_id`` to a standardised date of birth."""
    if relationships.empty:
        return relationships, []
    rows = relationships.copy()
    role = rows["relationship"].astype(str).str.strip().str.lower()
    role = role.map(lambda r: _SYNONYMS.get(r, r))
    child = role.isin(_CHILD_ROLES)
    # A "child" row names the child first when read the contract's way: turn it round.
    rows.loc[child, ["record_id", "related_record_id"]] = (
        rows.loc[child, ["related_record_id", "record_id"]].to_numpy())
    role = role.where(~child, "parent")
    rows["relationship"] = role

    orientations: list[Orientation] = []
    for source, group in rows.groupby("source", sort=True):
        parents = group[group["relationship"].isin(PARENT_ROLES)]
        first = _dates(parents["source"] + ":" + parents["record_id"], dob_of)
        second = _dates(parents["source"] + ":" + parents["related_record_id"], dob_of)
        dated = first.notna() & second.notna() & (first != second)
        second_older = int((second[dated] < first[dated]).sum())
        total = int(dated.sum())
        flip = total >= MIN_DATED_ROWS and second_older >= MIN_SHARE * total
        if flip:
            index = group.index
            rows.loc[index, ["record_id", "related_record_id"]] = (
                rows.loc[index, ["related_record_id", "record_id"]].to_numpy())
        orientations.append(Orientation(str(source), flip, total, second_older))
    return rows, orientations


def _dates(keys: pd.Series, dob_of: Mapping[str, str | None]) -> pd.Series:
    """Each key's date of birth (None where unknown), looked up key by key: ``Series.map`` with
    a mapping first builds an index of all its keys (every record of the run) on each call."""
    return pd.Series([dob_of.get(k) for k in keys.tolist()], index=keys.index, dtype=object)
