"""``kinlink train``: learn the person model from extracts and save it with its report."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import duckdb
from splink.internals.duckdb.database_api import DuckDBAPI

from linkage.features import prepare_sources
from linkage.model.report import write_model_report
from linkage.model.training import new_linker, train_model

__all__ = ["train_from_sources"]


def train_from_sources(
    sources: Path, out_path: Path, labels_from_identifiers: bool = False
) -> Path:
    """Train on ``sources`` in a scratch in-memory database; write JSON and HTML; return the report path."""
    prepared = prepare_sources(sources)
    with contextlib.closing(duckdb.connect()) as con:
        con.register("features_df", prepared.features)
        con.execute("CREATE TABLE record_features AS SELECT * FROM features_df")
        linker = new_linker(DuckDBAPI(connection=con), "record_features")
        train_model(linker)
        if labels_from_identifiers:
            _learn_m_from_identifier_pairs(linker, con)
        out_path.parent.mkdir(parents=True, exist_ok=True)
        model = linker.misc.save_model_to_json(str(out_path), overwrite=True)
    report = out_path.with_suffix(".html")
    write_model_report(
        model if isinstance(model, dict) else json.loads(out_path.read_text()), report
    )
    return report


def _learn_m_from_identifier_pairs(linker: object, con: duckdb.DuckDBPyConnection) -> None:
    """Pairs sharing a valid NHS number are (almost) certain matches: use them as labels for m.

    The NHS-number comparison itself is excluded: labelling on it would make its m exactly 1.
    """
    from splink.internals.linker import Linker

    assert isinstance(linker, Linker)
    nhs = next(c for c in linker._settings_obj.comparisons if c.output_column_name == "nhs_number")
    saved = [(level, level.m_probability) for level in nhs.comparison_levels]
    con.execute(
        """
        CREATE OR REPLACE TABLE identifier_labels AS
        SELECT l.unique_id AS unique_id_l, r.unique_id AS unique_id_r, 1.0 AS clerical_match_score
        FROM record_features l JOIN record_features r
          ON l.nhs_number = r.nhs_number AND l.unique_id < r.unique_id
        USING SAMPLE 100000
        """
    )
    labels = linker._db_api.register("identifier_labels")
    linker.training.estimate_m_from_pairwise_labels(labels)
    for level, m in saved:
        level.m_probability = m
