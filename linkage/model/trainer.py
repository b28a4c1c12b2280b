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
    sources: Path, out_path: Path, labels_from_identifiers: bool = False,
    reviewed_same: list[tuple[str, str]] | None = None,
) -> Path:
    """Train on ``sources`` in a scratch in-memory database; write JSON and HTML; return the report path."""
    prepared = prepare_sources(sources)
    with contextlib.closing(duckdb.connect()) as con:
        con.register("features_df", prepared.features)
        con.execute("CREATE TABLE record_features AS SELECT * FROM features_df")
        linker = new_linker(DuckDBAPI(connection=con), "record_features")
        train_model(linker)
        if labels_from_identifiers or reviewed_same:
            _learn_m_from_labels(linker, con, labels_from_identifiers, reviewed_same or [])
        out_path.parent.mkdir(parents=True, exist_ok=True)
        model = linker.misc.save_model_to_json(str(out_path), overwrite=True)
    report = out_path.with_suffix(".html")
    write_model_report(
        model if isinstance(model, dict) else json.loads(out_path.read_text()), report
    )
    return report


def _learn_m_from_labels(linker: object, con: duckdb.DuckDBPyConnection,
                        identifiers: bool, reviewed_same: list[tuple[str, str]]) -> None:
    """Learn m from labelled matches: pairs sharing a valid NHS number (almost certain) and/or
    pairs a reviewer judged the same person (a person's word, the best label there is).

    The NHS-number comparison's own m values are kept: labelling on it would make its m 1.
    """
    from splink.internals.linker import Linker

    assert isinstance(linker, Linker)
    nhs = next(c for c in linker._settings_obj.comparisons if c.output_column_name == "nhs_number")
    saved = [(level, level.m_probability) for level in nhs.comparison_levels
             if not level.is_null_level]
    con.execute("CREATE OR REPLACE TABLE identifier_labels (unique_id_l VARCHAR, "
                "unique_id_r VARCHAR, clerical_match_score DOUBLE)")
    if identifiers:
        con.execute(
            """
            INSERT INTO identifier_labels
            SELECT l.unique_id, r.unique_id, 1.0
            FROM record_features l JOIN record_features r
              ON l.nhs_number = r.nhs_number AND l.unique_id < r.unique_id
            USING SAMPLE 100000
            """
        )
    known = {u for (u,) in con.execute("SELECT unique_id FROM record_features").fetchall()}
    pairs = [(a, b, 1.0) for a, b in reviewed_same if a in known and b in known]
    if pairs:
        con.executemany("INSERT INTO identifier_labels VALUES (?, ?, ?)", pairs)
    labels = linker._db_api.register("identifier_labels")
    linker.training.estimate_m_from_pairwise_labels(labels)
    for level, m in saved:
        level.m_probability = m
