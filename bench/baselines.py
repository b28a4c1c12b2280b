"""The two baselines kinlink must beat, measured in the same run (shared/domain/splink5.md).

- exact match: what councils do today — records join when they share an NHS number, a UPN, or an
  exact given name, family name and date of birth; connected components.
- plain Splink: set up as a competent user would for scale, with no standardisation beyond
  lower-cased names and digits-only NHS numbers: Splink's stock comparisons (name comparisons with
  term-frequency adjustment, date of birth, postcode, exact NHS number and UPN), tight blocking
  (NHS number; UPN; date of birth + surname; given name + surname; postcode + given name), a
  deterministic prior, u by random sampling, two EM sessions, connected components at 0.95.
Both read the same ingested extracts as kinlink (so bad-field handling is equal) and return one
person label per ``source:record_id``.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

__all__ = ["exact_match_baseline", "plain_splink_baseline"]


def _canonical(sources: Path) -> pd.DataFrame:
    from linkage.ingest import read_sources

    ingest = read_sources(sources)
    frame = pd.concat(list(ingest.sources.values()), ignore_index=True)
    frame["unique_id"] = frame["source"] + ":" + frame["record_id"]
    return frame


def _components(n: int, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    parent = np.arange(n)

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for a, b in zip(left.tolist(), right.tolist(), strict=True):
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    return np.array([find(i) for i in range(n)])


def exact_match_baseline(sources: Path) -> pd.DataFrame:
    frame = _canonical(sources)
    frame["nhs"] = frame["nhs_number"].str.replace(r"\D", "", regex=True)
    frame["key"] = (
        frame["given_name"].str.lower().str.strip()
        + "|"
        + frame["family_name"].str.lower().str.strip()
        + "|"
        + frame["dob"]
    )
    frame["i"] = np.arange(len(frame))
    lefts, rights = [], []
    for column in ("nhs", "upn", "key"):
        groups = frame.dropna(subset=[column]).groupby(column)["i"]
        first = groups.transform("min")
        mask = first.index
        lefts.append(frame.loc[mask, "i"].to_numpy())
        rights.append(first.to_numpy())
    labels = _components(len(frame), np.concatenate(lefts), np.concatenate(rights))
    return pd.DataFrame({"unique_id": frame["unique_id"], "person_id": labels.astype(str)})


def plain_splink_baseline(sources: Path) -> pd.DataFrame:
    import splink.comparison_library as cl
    from splink import Linker, SettingsCreator, block_on
    from splink.internals.duckdb.database_api import DuckDBAPI

    frame = _canonical(sources)
    data = pd.DataFrame(
        {
            "unique_id": frame["unique_id"],
            "nhs_number": frame["nhs_number"].str.replace(r"\D", "", regex=True),
            "upn": frame["upn"],
            "given_name": frame["given_name"].str.lower(),
            "family_name": frame["family_name"].str.lower(),
            "dob": frame["dob"],
            "postcode": frame["postcode"].str.upper(),
        }
    )
    settings = SettingsCreator(
        link_type="dedupe_only",
        comparisons=[
            cl.ExactMatch("nhs_number"),
            cl.ExactMatch("upn"),
            cl.NameComparison("given_name").configure(term_frequency_adjustments=True),
            cl.NameComparison("family_name").configure(term_frequency_adjustments=True),
            cl.DateOfBirthComparison("dob", input_is_string=True),
            cl.PostcodeComparison("postcode"),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("nhs_number"),
            block_on("upn"),
            block_on("dob", "family_name"),
            block_on("given_name", "family_name"),
            block_on("postcode", "given_name"),
        ],
    )
    with contextlib.closing(duckdb.connect()) as con:
        db_api = DuckDBAPI(connection=con)
        linker = Linker(db_api.register(data), settings)
        # The prior from NHS numbers where the records carry them; a register with none (the
        # adult-copies population) gets the demographic rules Splink's own tutorial uses on
        # such data, or the estimate is zero and EM cannot start.
        has_nhs = bool(data["nhs_number"].replace("", None).notna().any())
        linker.training.estimate_probability_two_random_records_match(
            ["l.nhs_number = r.nhs_number"] if has_nhs else [
                "l.given_name = r.given_name AND l.family_name = r.family_name AND l.dob = r.dob",
                "l.postcode = r.postcode AND l.dob = r.dob"],
            recall=0.7,
        )
        linker.training.estimate_u_using_random_sampling(max_pairs=2e6, seed=1)
        linker.training.estimate_parameters_using_expectation_maximisation(
            block_on("dob", "family_name")
        )
        linker.training.estimate_parameters_using_expectation_maximisation(
            block_on("given_name", "postcode")
        )
        predictions = linker.inference.predict(threshold_match_probability=0.5)
        clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(
            predictions, threshold_match_probability=0.95
        ).as_pandas_dataframe()
    return pd.DataFrame(
        {"unique_id": clusters["unique_id"], "person_id": clusters["cluster_id"].astype(str)}
    )
