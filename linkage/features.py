"""Extracts to the model's feature table: the one path every command takes to read sources."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from linkage.ingest import read_sources
from linkage.standardise.records import standardise_records

__all__ = ["PreparedSources", "prepare_sources"]


@dataclass
class PreparedSources:
    ingest: Any  # linkage.ingest.IngestResult
    canonical: pd.DataFrame
    features: pd.DataFrame  # standardised, with an ``idx`` column 0..n-1


def prepare_sources(directory: Path, today: date | None = None) -> PreparedSources:
    """The sources read (``today`` as ``read_sources`` takes it) and standardised."""
    ingest = read_sources(directory, today)
    canonical = pd.concat(list(ingest.sources.values()), ignore_index=True)
    features = standardise_records(canonical)
    features.insert(0, "idx", np.arange(len(features), dtype=np.int64))
    return PreparedSources(ingest=ingest, canonical=canonical, features=features)
