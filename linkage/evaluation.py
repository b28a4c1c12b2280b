"""Accuracy against a truth file: pairwise precision and recall, and mixed or split clusters.

Pairwise measures count every pair of records placed together; a false merge of two children with
five records each costs 25 false pairs, which is the right weight for a disclosure risk. Mixed and
split cluster counts say how many *people* are affected, which is what a reviewer can act on.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pandas as pd

__all__ = [
    "ClusterAccuracy",
    "cluster_accuracy",
    "evaluate_against_decisions",
    "evaluate_export",
    "read_truth",
]


@dataclass(frozen=True)
class ClusterAccuracy:
    records: int
    predicted_clusters: int
    true_clusters: int
    true_pairs: int
    predicted_pairs: int
    correct_pairs: int
    precision: float
    recall: float
    f1: float
    mixed_clusters: int
    split_clusters: int
    mixed_rate: float

    def as_dict(self) -> dict[str, float | int]:
        return asdict(self)


def _pairs(sizes: pd.Series) -> int:
    s = sizes.astype("int64")
    return int((s * (s - 1) // 2).sum())


def cluster_accuracy(predicted: pd.Series, truth: pd.Series) -> ClusterAccuracy:
    """Compare two labelings of the same records (aligned Series; missing predictions = singletons)."""
    frame = pd.DataFrame({"p": predicted.astype("string"), "t": truth.astype("string")})
    missing = frame["p"].isna()
    frame.loc[missing, "p"] = "__unlinked__" + frame.index[missing].astype(str)
    predicted_pairs = _pairs(frame.groupby("p").size())
    true_pairs = _pairs(frame.groupby("t").size())
    correct_pairs = _pairs(frame.groupby(["p", "t"]).size())
    precision = correct_pairs / predicted_pairs if predicted_pairs else 1.0
    recall = correct_pairs / true_pairs if true_pairs else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    truths_per_cluster = frame.groupby("p")["t"].nunique()
    clusters_per_truth = frame.groupby("t")["p"].nunique()
    predicted_clusters = int(frame["p"].nunique())
    mixed = int((truths_per_cluster > 1).sum())
    return ClusterAccuracy(
        records=len(frame),
        predicted_clusters=predicted_clusters,
        true_clusters=int(frame["t"].nunique()),
        true_pairs=true_pairs,
        predicted_pairs=predicted_pairs,
        correct_pairs=correct_pairs,
        precision=precision,
        recall=recall,
        f1=f1,
        mixed_clusters=mixed,
        split_clusters=int((clusters_per_truth > 1).sum()),
        mixed_rate=mixed / predicted_clusters if predicted_clusters else 0.0,
    )


def read_truth(path: Path) -> pd.DataFrame:
    truth = pd.read_csv(path, dtype=str, keep_default_na=False)
    needed = {"source", "record_id", "person_id"}
    missing = needed - set(truth.columns)
    if missing:
        raise ValueError(f"{path}: truth file lacks column(s) {', '.join(sorted(missing))}")
    return truth


def evaluate_export(identities: pd.DataFrame, truth: pd.DataFrame) -> dict[str, ClusterAccuracy]:
    """Score exported identities (source, record_id, person_id, family_id) against truth."""
    merged = truth.merge(identities, on=["source", "record_id"], how="left", suffixes=("_true", ""))
    result = {"persons": cluster_accuracy(merged["person_id"], merged["person_id_true"])}
    if "family_id_true" in merged.columns and "family_id" in merged.columns:
        has_truth = merged["family_id_true"].astype("string").str.len() > 0
        fam = merged[has_truth]
        result["families"] = cluster_accuracy(fam["family_id"], fam["family_id_true"])
    return result


def evaluate_against_decisions(identities: pd.DataFrame, decisions: pd.DataFrame) -> dict[str, Any]:
    """How far the index agrees with reviewers' standing decisions, used as labels.

    ``same`` pairs should share a person, ``different`` pairs should not; ``unsure`` is no label.
    """
    person = dict(zip(identities["source"] + ":" + identities["record_id"],
                      identities["person_id"], strict=True))
    same = different = same_linked = different_apart = 0
    for left, right, verdict in zip(decisions["unique_id_l"], decisions["unique_id_r"],
                                    decisions["decision"], strict=True):
        if left not in person or right not in person:
            continue
        together = person[left] == person[right]
        if verdict == "same":
            same += 1
            same_linked += together
        elif verdict == "different":
            different += 1
            different_apart += not together
    labelled = same + different
    return {"same": same, "same_linked": same_linked, "different": different,
            "different_apart": different_apart,
            "agreement": (same_linked + different_apart) / labelled if labelled else 1.0}
