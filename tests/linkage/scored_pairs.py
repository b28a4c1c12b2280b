"""Clustering from hand-written scored pairs, for the tests of the persons rules."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from linkage.persons.clustering import ClusteringRules, ClusterResult, cluster_records
from linkage.persons.constraints import RecordFacts

__all__ = ["child", "cluster"]


def child(given: str | None, dob: str | None = "2015-03-02", nhs: str | None = None) -> RecordFacts:
    """A health record of a child: what the constraints read, nothing more."""
    return RecordFacts(
        nhs_number=nhs,
        dob=dob,
        given_name=given,
        given_name_canonical=given,
        given_name_metaphone=None,
        given_names_all=frozenset([given]) if given else frozenset(),
        source="health",
    )


def cluster(records: Sequence[RecordFacts], edges: Sequence[tuple[int, int, float]] = (),
            **kw: Any) -> ClusterResult:
    """``edges`` are (record, record, match probability); the weight is its log2 odds, as
    Splink's."""
    left = np.array([e[0] for e in edges], dtype=np.int64)
    right = np.array([e[1] for e in edges], dtype=np.int64)
    p = np.array([e[2] for e in edges], dtype=float)
    w = np.log2(p / (1 - p + 1e-12))
    return cluster_records(records, left, right, p, w, ClusteringRules(), **kw)
