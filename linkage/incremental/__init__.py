"""Incremental linkage: score only the pairs a re-extract changed, reuse the comparisons of the rest.

A full run and an incremental run on the same extracts give the same persons: both keep every
blocked pair's comparison vector, and both weigh every pair under this run's fitted model and this
population's term frequencies (``linkage.incremental.scoring``).
"""

from linkage.incremental.delta import RecordDelta, record_delta, store_fingerprints
from linkage.incremental.scoring import (
    PairScoring,
    score_all_pairs,
    score_changed_pairs,
    scoring_structure,
    store_pair_comparisons,
    why_not_incremental,
)

__all__ = [
    "PairScoring",
    "RecordDelta",
    "record_delta",
    "score_all_pairs",
    "score_changed_pairs",
    "scoring_structure",
    "store_fingerprints",
    "store_pair_comparisons",
    "why_not_incremental",
]
