"""Splink's own scores for query records against the identity index: the yardstick the real-time
matcher is tested against (same candidates, same levels, same weights) and benchmarked against.

Splink is given exactly what a link run gave it: the index's stored feature table, the fitted model
stored beside it, and term frequencies computed over that table. Its warning about parameters left
at their defaults is silenced: the reference scores the model exactly as the link run did. Queries
are cast to the stored table's schema in DuckDB, so a column that happens to be empty in a handful
of queries still has the type the comparison SQL expects.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
from splink import block_on
from splink.internals.duckdb.database_api import DuckDBAPI

from linkage.index.store import IndexNotFound
from linkage.model.training import new_linker
from linkage.realtime.scoring_model import ScoringModel

__all__ = ["SplinkReference"]

_INDEX = "kinlink_index"


#: DuckDB's type for a column registered with no value at all.
_NULL_TYPE = '"NULL"'


def _quoted(column: str) -> str:
    return '"' + column.replace('"', '""') + '"'


class SplinkReference:
    def __init__(self, db_path: Path) -> None:
        if not Path(db_path).exists():
            raise IndexNotFound(f"no identity index at {db_path}")
        self._con = duckdb.connect()
        path = str(Path(db_path)).replace("'", "''")
        self._con.execute(f"ATTACH '{path}' AS {_INDEX} (READ_ONLY)")
        model_rows = self._con.execute(
            f"SELECT value FROM {_INDEX}.meta WHERE key = 'model_json'").fetchall()
        if not model_rows:
            raise IndexNotFound(f"{db_path} has no stored model; link it with this version")
        self.model: dict[str, Any] = json.loads(model_rows[0][0])
        self._con.execute(f"CREATE TABLE existing AS SELECT * FROM {_INDEX}.record_features")
        self._con.execute("DETACH " + _INDEX)
        self._api = DuckDBAPI(connection=self._con)
        # Gammas and Bayes factors kept, so a disagreement can be traced to one comparison.
        self._linker = new_linker(self._api, "existing",
                                  {**self.model, "retain_intermediate_calculation_columns": True})
        self._existing = self._api.register("existing")
        for column in ScoringModel.from_model_json(self.model).tf_columns:
            self._linker.table_management.compute_tf_table(column)
        self._tables = 0

    def _register(self, rows: Sequence[dict[str, Any]], extra: dict[str, list[Any]] | None = None
                  ) -> Any:
        """Rows of features as a Splink input table with the stored feature table's column types."""
        self._tables += 1
        name = f"reference_{self._tables}"
        frame = pd.DataFrame(list(rows))
        for column, values in (extra or {}).items():
            frame[column] = values
        self._con.register("reference_rows", frame)
        try:
            types = self._con.execute(
                "SELECT column_name, data_type FROM duckdb_columns() "
                "WHERE table_name = 'existing' ORDER BY column_index").fetchall()
            # Every stored column, typed as stored (absent ones NULL), then any extra ones. A
            # column stored with no value at all has DuckDB's NULL type, which takes no cast.
            columns = ", ".join(
                [f'CAST({_quoted(c) if c in frame.columns else "NULL"} AS '
                 f'{"VARCHAR" if t == _NULL_TYPE else t}) AS {_quoted(c)}'
                 for c, t in types]
                + [_quoted(c) for c in (extra or {})])
            self._con.execute(f"CREATE TABLE {name} AS SELECT {columns} FROM reference_rows")
        finally:
            self._con.unregister("reference_rows")
        return self._api.register(name, table_name=name)

    def predict_between(self, queries: Sequence[dict[str, Any]]) -> pd.DataFrame:
        """Every (index record, query) pair the model's blocking rules generate, as Splink scores
        it: ``unique_id_l`` is the index record, ``unique_id_r`` the query."""
        new = self._register(queries)
        return self._linker.inference.predict_between(
            self._existing, new, warning_mode="never").as_pandas_dataframe()

    def score_pairs(self, lefts: Sequence[Mapping[str, Any]], rights: Sequence[Mapping[str, Any]]
                    ) -> pd.DataFrame:
        """Splink's scores for the given pairs (``lefts[i]`` with ``rights[i]``), blocked or not,
        in input order; the pair's position is in ``pair_l``."""
        if len(lefts) != len(rights):
            raise ValueError("score_pairs needs as many left records as right ones")
        keys = list(range(len(lefts)))
        left = self._register([{**r, "unique_id": f"L{i}"} for i, r in enumerate(lefts)],
                              {"pair": keys})
        right = self._register([{**r, "unique_id": f"R{i}"} for i, r in enumerate(rights)],
                               {"pair": keys})
        scored = self._linker.inference.predict_between(
            left, right, blocking_rules_to_generate_predictions=[block_on("pair")],
            warning_mode="never",
        ).as_pandas_dataframe()
        scored["pair_l"] = scored["unique_id_l"].str[1:].astype(int)
        return scored.sort_values("pair_l").reset_index(drop=True)
