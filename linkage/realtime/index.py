"""The identity index held in memory for real-time matching: standardised features per record,
term frequencies, and one sorted key table per blocking rule.

Candidates for a query are the records that share a blocking key with it under any of the saved
model's prediction blocking rules (the rules the link run used), so a query is compared with exactly
the records Splink's ``predict_between`` would compare it with. Each blocking column is dictionary-
coded (a value's position among the column's distinct values); a rule's key is its columns' codes
combined into one int64, so the keys are built with numpy in a second or two for a million records,
kept in one sorted array per rule (12 bytes a record), and found by binary search. A query value
the index has never seen has no code, so that rule has no candidates for it — as in SQL.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from linkage.index.store import IndexNotFound, connect_index
from linkage.realtime.scoring_model import ScoringModel
from stores.database import StoreLocation

__all__ = ["FACT_ONLY_COLUMNS", "MATCH_COLUMNS", "MatchIndex"]

#: The feature columns the comparisons and blocking rules read.
MATCH_COLUMNS = (
    "nhs_number", "upn", "local_id_key", "given_name", "given_name_canonical",
    "given_name_canonicals", "given_name_metaphone", "given_names_all", "family_name",
    "family_name_tokens", "family_name_metaphone", "dob", "dob_year", "dob_is_jan1", "sex",
    "postcode", "postcode_district", "postcode_sector", "address_key",
    "address_line_key", "family_name_first_token", "former_upn", "former_family_name", "uprn",
    "expected_dob",
)

#: Candidate routes beyond the link run's blocking rules, each as the columns it requires
#: equal: a double-barrelled surname ("Ridcombe Marby") and its first part ("Ridcombe") differ
#: in sound, so a child recorded under both blocks on neither surname rule.
EXTRA_ROUTES: tuple[tuple[str, ...], ...] = (
    ("given_name_canonical", "family_name_first_token", "dob_year"),
)

#: Read by the hard constraints (``linkage.persons.constraints.record_facts``), not the scores.
FACT_ONLY_COLUMNS = ("source", "upn_is_temporary", "name_is_placeholder")


@dataclass(frozen=True)
class _Coded:
    """A scalar column as one shared object per distinct value, and each record's code."""

    values: list[Any]          # per record; equal values are the same object
    codes: np.ndarray          # int64 per record, -1 where NULL
    code_of: dict[Any, int]    # distinct value → code


def _coded(column: pa.ChunkedArray) -> _Coded:
    encoded = column.combine_chunks().dictionary_encode()
    distinct = encoded.dictionary.to_pylist()
    codes = encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
    # One object per distinct value: a million records hold a few thousand given names, dates
    # and postcodes, and a list of a million separate strings would take gigabytes.
    lookup = np.empty(len(distinct) + 1, dtype=object)
    lookup[:-1] = distinct
    lookup[-1] = None
    return _Coded(lookup[codes].tolist(), codes, {v: i for i, v in enumerate(distinct)})


def _shared(values: list[Any]) -> list[Any]:
    """A list column with one object per distinct list (never mutated)."""
    distinct: dict[Any, Any] = {}
    return [distinct.setdefault(tuple(v) if v is not None else None, v) for v in values]


@dataclass
class _RuleTable:
    columns: tuple[str, ...]
    radices: tuple[int, ...]   # distinct values per column: codes combine in mixed radix
    keys: np.ndarray           # sorted int64 keys
    rows: np.ndarray           # int32 record rows, in key order

    def lookup(self, key: int) -> np.ndarray:
        lo, hi = np.searchsorted(self.keys, [key, key + 1])
        return self.rows[lo:hi]


def _rule_table(columns: tuple[str, ...], coded: dict[str, _Coded]) -> _RuleTable:
    if missing := [c for c in columns if c not in coded]:
        raise ValueError(f"blocking rule on {', '.join(missing)}: not a scalar column that "
                         "real-time matching loads (linkage.realtime.index.MATCH_COLUMNS)")
    radices = tuple(max(len(coded[c].code_of), 1) for c in columns)
    if math.prod(radices) >= 2**62:
        raise ValueError(f"blocking rule on {', '.join(columns)}: too many distinct values")
    key = np.zeros(len(coded[columns[0]].codes), dtype=np.int64)
    present = np.ones(len(key), dtype=bool)
    for column, radix in zip(columns, radices, strict=True):
        codes = coded[column].codes
        present &= codes >= 0
        key = key * radix + codes
    rows = np.flatnonzero(present).astype(np.int32)
    keys = key[rows]
    order = np.argsort(keys, kind="stable")
    return _RuleTable(columns, radices, keys[order], rows[order])


class _Row(Mapping[str, Any]):
    """A read-only view of one index record's features (see ``MatchIndex.features``)."""

    __slots__ = ("_columns", "_row")

    def __init__(self, columns: dict[str, list[Any]], row: int) -> None:
        self._columns = columns
        self._row = row

    def __getitem__(self, name: str) -> Any:
        return self._columns[name][self._row]

    def get(self, name: str, default: Any = None) -> Any:
        column = self._columns.get(name)
        return default if column is None else column[self._row]

    def __iter__(self) -> Iterator[str]:
        return iter(self._columns)

    def __len__(self) -> int:
        return len(self._columns)


#: Each record's row in the index (the order ``MatchIndex.load`` reads them in) and person.
_ROWS_SQL = """
SELECT f.unique_id, l.person_id, f.dob_year,
       row_number() OVER (ORDER BY f.unique_id) - 1 AS row
FROM record_features f JOIN record_links l USING (unique_id) JOIN source_records s USING (unique_id)
"""

#: A record the run held: every pair it is in was held as ambiguous, none linked (a record is
#: held when it fits two people; a pair is held when either of its records is). With the
#: persons of the records it was held between.
_HELD_SQL = f"""
WITH r AS ({_ROWS_SQL}),
e AS (SELECT unique_id_l AS unique_id, unique_id_r AS other, outcome FROM person_edges
      UNION ALL SELECT unique_id_r, unique_id_l, outcome FROM person_edges)
SELECT r.row, string_agg(DISTINCT o.person_id, ',' ORDER BY o.person_id)
       FILTER (WHERE e.outcome = 'held:ambiguous')
FROM e JOIN r USING (unique_id) JOIN r o ON o.unique_id = e.other
GROUP BY r.row
HAVING bool_or(e.outcome = 'held:ambiguous') AND NOT bool_or(e.outcome LIKE 'linked%')
"""

#: Parent → child relationships (the link run's ``_PARENT_ROLES``), as the birth years the
#: ``parent-younger-than-child`` rule compares: per parent record its eldest child's person's
#: earliest year, per child record its youngest parent's person's latest.
_FAMILY_YEARS_SQL = f"""
WITH r AS ({_ROWS_SQL}),
years AS (SELECT person_id, min(dob_year) AS lo, max(dob_year) AS hi FROM r GROUP BY person_id),
rel AS (SELECT source || ':' || record_id AS parent, source || ':' || related_record_id AS child
        FROM relationships
        WHERE lower(trim(relationship)) IN ('mother', 'father', 'parent')
          AND record_id <> related_record_id),
pairs AS (SELECT p.row AS parent_row, c.row AS child_row, py.hi AS parent_hi, cy.lo AS child_lo
          FROM rel JOIN r p ON p.unique_id = rel.parent JOIN r c ON c.unique_id = rel.child
          JOIN years py ON py.person_id = p.person_id JOIN years cy ON cy.person_id = c.person_id)
SELECT 'child', parent_row, min(child_lo) FROM pairs WHERE child_lo IS NOT NULL GROUP BY 1, 2
UNION ALL
SELECT 'parent', child_row, max(parent_hi) FROM pairs WHERE parent_hi IS NOT NULL GROUP BY 1, 2
"""


#: Every relationship an agency records between two indexed records (parent, carer, sibling),
#: as row pairs: the household route reaches a parent through the children at the query's home.
_RELATED_SQL = f"""
WITH r AS ({_ROWS_SQL}),
rel AS (SELECT source || ':' || record_id AS a, source || ':' || related_record_id AS b
        FROM relationships WHERE record_id <> related_record_id)
SELECT ra.row AS a_row, rb.row AS b_row FROM rel JOIN r ra ON ra.unique_id = rel.a JOIN r rb ON rb.unique_id = rel.b
"""

#: The household route is skipped at an address with more records than this (a hostel, a
#: children's home, a mistyped postcode shared by a street): there the address says little,
#: and the route's cost would grow with the address, not with the family.
HOME_RECORDS_MAX = 40
#: The home route scores a record at the query's address only when its given name begins
#: with the query's first this many letters.
HOME_NAME_PREFIX = 2
#: At most this many records are reached through one home's relationships before the given
#: name filters them: a bound on the route's cost whatever the family's size.
HOUSEHOLD_RECORDS_MAX = 400


def _adjacency(pairs: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Both directions of each row pair as compressed rows: offsets (n + 1) and targets."""
    if len(pairs) == 0:
        return np.zeros(n + 1, dtype=np.int64), np.empty(0, dtype=np.int32)
    a = np.concatenate([pairs[:, 0], pairs[:, 1]])
    b = np.concatenate([pairs[:, 1], pairs[:, 0]])
    order = np.argsort(a, kind="stable")
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(a, minlength=n), out=offsets[1:])
    return offsets, b[order].astype(np.int32)


class MatchIndex:
    def __init__(self, columns: dict[str, list[Any]], person_ids: list[str],
                 unique_ids: list[str], model: ScoringModel, rules: list[_RuleTable],
                 term_frequencies: dict[str, dict[Any, float]],
                 code_of: dict[str, dict[Any, int]],
                 restrictions: list[str | None], person_codes: np.ndarray) -> None:
        self.columns = columns
        self.person_ids = person_ids
        self.unique_ids = unique_ids
        self.model = model
        self.rules = rules
        self.term_frequencies = term_frequencies
        self._code_of = code_of
        self._rows: dict[str, int] | None = None
        #: Each record's restricted marker (adoption, gender recognition…), or None.
        self.restrictions = restrictions
        # Every record of a person, found by binary search: the constraints are checked between
        # a query and all of a candidate person's records, not only the best-scoring one.
        self._person_order = np.argsort(person_codes, kind="stable").astype(np.int32)
        self._person_sorted = person_codes[self._person_order]
        self._person_codes = person_codes
        #: Records the link run held as ambiguous (fitting two people who cannot be one) and
        #: linked to nobody, each with the persons it was held between.
        self.held: dict[int, tuple[str, ...]] = {}
        #: For records their agency names as a parent: the birth year of the eldest child they
        #: are named for (its person's earliest); for records named as a child: the birth year of
        #: the youngest parent named (its person's latest). The link run's
        #: ``parent-younger-than-child`` rule reads the same relationships.
        self.eldest_child_year: dict[int, int] = {}
        self.youngest_parent_year: dict[int, int] = {}
        # The household route's tables: records by address, and the relationships agencies
        # record between indexed records (none until ``set_relationships``).
        self._homes = (_rule_table(("address_key",), {"address_key": self._coded_address()})
                       if "address_key" in code_of else None)
        self._related_offsets = np.zeros(len(person_ids) + 1, dtype=np.int64)
        self._related = np.empty(0, dtype=np.int32)
        #: The tables of ``EXTRA_ROUTES`` (set by ``from_arrow``).
        self.routes: list[_RuleTable] = []

    def _coded_address(self) -> _Coded:
        code_of = self._code_of["address_key"]
        codes = np.fromiter((-1 if v is None else code_of[v] for v in self.columns["address_key"]),
                            dtype=np.int64, count=len(self.person_ids))
        return _Coded(self.columns["address_key"], codes, code_of)

    def set_relationships(self, pairs: np.ndarray | Sequence[tuple[int, int]]) -> None:
        """The relationships agencies record between indexed records, as (row, row) pairs."""
        self._related_offsets, self._related = _adjacency(
            np.asarray(pairs, dtype=np.int64).reshape(-1, 2), len(self.person_ids))

    def related_rows(self, row: int) -> np.ndarray:
        """The records an agency records as related to record ``row`` (either way round)."""
        return self._related[self._related_offsets[row]:self._related_offsets[row + 1]]

    def __len__(self) -> int:
        return len(self.person_ids)

    def row_of(self, unique_id: str) -> int | None:
        """The row of a record (``source:record_id``), for explaining a stored pair."""
        if self._rows is None:
            self._rows = {u: i for i, u in enumerate(self.unique_ids)}
        return self._rows.get(unique_id)

    def rows_of_person(self, row: int) -> np.ndarray:
        """Every record row of the person that record ``row`` belongs to."""
        code = self._person_codes[row]
        lo, hi = np.searchsorted(self._person_sorted, [code, code + 1])
        return self._person_order[lo:hi]

    def features(self, row: int) -> _Row:
        """One record's features, read from the columns as they are asked for: a query at a
        million records scores hundreds of candidates, and copying each one's twenty-odd
        features into a dictionary first cost as much as scoring it."""
        return _Row(self.columns, row)

    def _key(self, table: _RuleTable, query: dict[str, Any]) -> int | None:
        key = 0
        for column, radix in zip(table.columns, table.radices, strict=True):
            value = query.get(column)
            code = self._code_of[column].get(value) if value is not None else None
            if code is None:
                return None
            key = key * radix + code
        return key

    def candidates(self, query: dict[str, Any]) -> np.ndarray:
        """Rows sharing a blocking key with the (standardised) query, each once, in row order."""
        found = [table.lookup(key) for table in self.rules
                 if (key := self._key(table, query)) is not None]
        return np.unique(np.concatenate(found)) if found else np.empty(0, dtype=np.int32)

    def household_candidates(self, query: dict[str, Any]) -> np.ndarray:
        """Records of the people a household at the query's address is related to, that carry
        the query's given name (by canonical form or by sound): a mother's school-contact record
        with no date of birth and the surname she had before a marriage, at the home she now
        shares with her child, blocks with none of her own records under the link run's rules,
        but the child recorded at that address names her as parent. The link run joins such a
        contact through the child's household too (``linkage.persons.household_parents``); the
        query carries no relationship, so its address stands for the child it would name.
        Bounded (``HOME_RECORDS_MAX``, ``HOUSEHOLD_RECORDS_MAX``) so the cost is a family's."""
        empty = np.empty(0, dtype=np.int32)
        given = query.get("given_name_canonical")
        sound = query.get("given_name_metaphone")
        if self._homes is None or not (given or sound):
            return empty
        key = self._key(self._homes, query)
        if key is None:
            return empty
        home = self._homes.lookup(key)
        if len(home) == 0 or len(home) > HOME_RECORDS_MAX:
            return empty
        members = np.unique(np.concatenate([self.rows_of_person(r) for r in home.tolist()]))
        reached = [self.related_rows(r) for r in members.tolist()]
        linked = np.unique(np.concatenate(reached)) if reached else empty
        if len(linked) == 0:
            return empty
        found: list[int] = []
        seen: set[int] = set()
        canonical, metaphone = self.columns["given_name_canonical"], self.columns[
            "given_name_metaphone"]
        for r in linked.tolist():
            for row in self.rows_of_person(r).tolist():
                if row in seen:
                    continue
                seen.add(row)
                if len(seen) > HOUSEHOLD_RECORDS_MAX:
                    return np.array(sorted(found), dtype=np.int32)
                if (given and canonical[row] == given) or (sound and metaphone[row] == sound):
                    found.append(row)
        return np.array(sorted(found), dtype=np.int32)

    def home_candidates(self, query: dict[str, Any]) -> np.ndarray:
        """The records at the query's address (bounded by ``HOME_RECORDS_MAX``) whose given
        name begins as the query's does: a parent's record whose given name is misspelt
        ("Samanha") and whose surname is her former one shares the address and nothing the
        blocking rules pair on. The rest of the household (other names) would only be scored
        to be ranked below her, so they are not scored at all."""
        empty = np.empty(0, dtype=np.int32)
        given = query.get("given_name_canonical")
        if not given or self._homes is None or (key := self._key(self._homes, query)) is None:
            return empty
        home = self._homes.lookup(key)
        if len(home) > HOME_RECORDS_MAX:
            return empty
        prefix = given[:HOME_NAME_PREFIX]
        names = self.columns["given_name_canonical"]
        return np.array([r for r in home.tolist() if (names[r] or "").startswith(prefix)],
                        dtype=np.int32)

    def match_candidates(self, query: dict[str, Any], related: np.ndarray | None = None
                         ) -> np.ndarray:
        """The link run's candidates (``candidates``) and the household routes', each once
        (``related``: ``household_candidates(query)``, when the caller has it already)."""
        if related is None:
            related = self.household_candidates(query)
        found = [self.candidates(query), self.home_candidates(query), related,
                 *(table.lookup(key) for table in self.routes
                   if (key := self._key(table, query)) is not None)]
        return np.unique(np.concatenate(found))

    @classmethod
    def load(cls, db_path: Path | str | StoreLocation) -> MatchIndex:
        with connect_index(db_path) as con:
            model_row = con.execute("SELECT value FROM meta WHERE key = 'model_json'").fetchall()
            if not model_row:
                raise IndexNotFound(f"{db_path} has no stored model; link it with this version")
            model = ScoringModel.from_model_json(json.loads(model_row[0][0]))
            table = con.sql(
                f"SELECT f.unique_id, l.person_id, "
                f"{', '.join('f.' + c for c in MATCH_COLUMNS + FACT_ONLY_COLUMNS)}, "
                "s.attributes->>'restriction' AS restriction "
                "FROM record_features f JOIN record_links l USING (unique_id) "
                "JOIN source_records s USING (unique_id) ORDER BY f.unique_id"
            ).to_arrow_table()
            held = {int(row): tuple(p.split(",")) for row, p in con.execute(_HELD_SQL).fetchall()}
            families = con.execute(_FAMILY_YEARS_SQL).fetchall()
            related = con.execute(_RELATED_SQL).fetchnumpy()
        index = cls.from_arrow(table, model)
        index.set_relationships(np.column_stack([related["a_row"], related["b_row"]])
                                if len(related["a_row"]) else np.empty((0, 2)))
        index.held = held
        index.eldest_child_year = {int(r): int(y) for kind, r, y in families if kind == "child"}
        index.youngest_parent_year = {int(r): int(y) for kind, r, y in families
                                      if kind == "parent"}
        return index

    @classmethod
    def from_arrow(cls, table: pa.Table, model: ScoringModel,
                   term_frequencies: dict[str, dict[Any, float]] | None = None) -> MatchIndex:
        """An index of ``table``'s records (``unique_id``, ``person_id``, the feature columns
        and ``restriction``), scored by ``model``: what ``load`` reads from a linked index, or
        a handful of records a test lays out (with a population's ``term_frequencies``, since
        a few records' own would make every name common)."""
        columns: dict[str, list[Any]] = {}
        coded: dict[str, _Coded] = {}
        for name in MATCH_COLUMNS + FACT_ONLY_COLUMNS:
            column = table.column(name)
            if pa.types.is_list(column.type) or pa.types.is_large_list(column.type):
                columns[name] = _shared(column.to_pylist())
            else:
                coded[name] = _coded(column)
                columns[name] = coded[name].values
        unique_ids = table.column("unique_id").to_pylist()
        persons = _coded(table.column("person_id"))
        restrictions = _coded(table.column("restriction")).values
        del table
        pa.default_memory_pool().release_unused()  # hand the Arrow copy's pages back
        if term_frequencies is None:
            term_frequencies = cls._term_frequencies(model, coded)
        rules = [_rule_table(columns_of_rule, coded) for columns_of_rule in model.blocking_rules]
        routes = [_rule_table(columns_of_route, coded) for columns_of_route in EXTRA_ROUTES]
        index = cls(columns, persons.values, unique_ids, model, rules, term_frequencies,
                    {name: c.code_of for name, c in coded.items()}, restrictions, persons.codes)
        index.routes = routes
        return index

    @staticmethod
    def _term_frequencies(model: ScoringModel, coded: dict[str, _Coded]
                          ) -> dict[str, dict[Any, float]]:
        term_frequencies = {}
        for name in model.tf_columns:
            # Splink's term frequency: a value's share of the records where the column is not NULL.
            codes = coded[name].codes
            counts = np.bincount(codes[codes >= 0], minlength=len(coded[name].code_of))
            total = int(counts.sum())
            term_frequencies[name] = {value: float(counts[code]) / total
                                      for value, code in coded[name].code_of.items()}
        return term_frequencies
