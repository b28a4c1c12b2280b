"""The identity index held in memory for real-time matching: standardised features per record,
term frequencies, and one sorted hash table per blocking rule.

Candidates for a query are the records that share a blocking key with it under any of the same
rules the batch linkage uses, so a query is compared with exactly the records a link run would have
compared it with. Each rule's keys are 64-bit hashes in one sorted numpy array (16 bytes a
record), so a million records cost megabytes per rule, not a dict of lists.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import numpy as np

from linkage.index.store import IndexNotFound
from linkage.model.blocking import prediction_blocking_rules
from linkage.realtime.scoring_model import ScoringModel

__all__ = ["MatchIndex", "blocking_columns"]

#: The feature columns the comparisons and blocking rules read.
MATCH_COLUMNS = (
    "nhs_number", "upn", "local_id_key", "given_name", "given_name_canonical",
    "given_name_canonicals", "given_name_metaphone", "given_names_all", "family_name",
    "family_name_tokens", "family_name_metaphone", "dob", "dob_year", "dob_is_jan1", "sex",
    "postcode", "postcode_district", "postcode_sector", "address_key",
)


def blocking_columns() -> list[tuple[str, ...]]:
    """Each prediction blocking rule as the columns it requires equal (read from Splink's SQL)."""
    rules = []
    for creator in prediction_blocking_rules():
        sql = creator.get_blocking_rule("duckdb").blocking_rule_sql
        columns = tuple(re.findall(r'l\."?(\w+)"?\s*=\s*r\."?\1"?', sql))
        if not columns:
            raise ValueError(f"blocking rule not understood: {sql}")
        rules.append(columns)
    return rules


def _key(values: Sequence[Any]) -> int | None:
    if any(v is None for v in values):
        return None
    return hash(tuple(values))


@dataclass
class _RuleTable:
    columns: tuple[str, ...]
    keys: np.ndarray   # sorted int64 hashes
    rows: np.ndarray   # int32 record rows, in key order

    def lookup(self, key: int) -> np.ndarray:
        lo = np.searchsorted(self.keys, key, side="left")
        hi = np.searchsorted(self.keys, key, side="right")
        return self.rows[lo:hi]


class MatchIndex:
    def __init__(self, columns: dict[str, list[Any]], person_ids: list[str],
                 unique_ids: list[str], model: ScoringModel, rules: list[_RuleTable],
                 term_frequencies: dict[str, dict[Any, float]]) -> None:
        self.columns = columns
        self.person_ids = person_ids
        self.unique_ids = unique_ids
        self.model = model
        self.rules = rules
        self.term_frequencies = term_frequencies
        self._rows: dict[str, int] | None = None

    def __len__(self) -> int:
        return len(self.person_ids)

    def row_of(self, unique_id: str) -> int | None:
        """The row of a record (``source:record_id``), for explaining a stored pair."""
        if self._rows is None:
            self._rows = {u: i for i, u in enumerate(self.unique_ids)}
        return self._rows.get(unique_id)

    def features(self, row: int) -> dict[str, Any]:
        return {name: values[row] for name, values in self.columns.items()}

    def candidates(self, query: dict[str, Any]) -> np.ndarray:
        found = [table.lookup(key) for table in self.rules
                 if (key := _key([query.get(c) for c in table.columns])) is not None]
        return np.unique(np.concatenate(found)) if found else np.empty(0, dtype=np.int32)

    @classmethod
    def load(cls, db_path: Path) -> MatchIndex:
        if not Path(db_path).exists():
            raise IndexNotFound(f"no identity index at {db_path}")
        with duckdb.connect(str(db_path), read_only=True) as con:
            model_row = con.execute("SELECT value FROM meta WHERE key = 'model_json'").fetchall()
            if not model_row:
                raise IndexNotFound(f"{db_path} has no stored model; link it with this version")
            model = ScoringModel.from_model_json(json.loads(model_row[0][0]))
            table = con.sql(
                f"SELECT f.unique_id, l.person_id, {', '.join('f.' + c for c in MATCH_COLUMNS)} "
                "FROM record_features f JOIN record_links l USING (unique_id) "
                "ORDER BY f.unique_id"
            ).to_arrow_table()
        columns = {c: table.column(c).to_pylist() for c in MATCH_COLUMNS}
        unique_ids = table.column("unique_id").to_pylist()
        person_ids = table.column("person_id").to_pylist()
        del table
        term_frequencies = {}
        for column in model.tf_columns:
            counts: dict[Any, int] = {}
            for value in columns[column]:
                if value is not None:
                    counts[value] = counts.get(value, 0) + 1
            total = sum(counts.values())
            term_frequencies[column] = {v: n / total for v, n in counts.items()}
        rules = []
        for rule_columns in blocking_columns():
            keys, rows = [], []
            for row, values in enumerate(zip(*(columns[c] for c in rule_columns), strict=True)):
                key = _key(values)
                if key is not None:
                    keys.append(key)
                    rows.append(row)
            key_array = np.asarray(keys, dtype=np.int64)
            order = np.argsort(key_array, kind="stable")
            rules.append(_RuleTable(rule_columns, key_array[order],
                                    np.asarray(rows, dtype=np.int32)[order]))
        return cls(columns, person_ids, unique_ids, model, rules, term_frequencies)
