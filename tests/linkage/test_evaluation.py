import pandas as pd
import pytest

from linkage.evaluation import cluster_accuracy


def test_perfect_clustering() -> None:
    truth = pd.Series(["a", "a", "b", "c", "c", "c"])
    acc = cluster_accuracy(truth.copy(), truth)
    assert acc.precision == 1.0 and acc.recall == 1.0 and acc.mixed_clusters == 0


def test_false_merge_and_split_are_counted() -> None:
    truth = pd.Series(["a", "a", "b", "b", "c", "c"])
    predicted = pd.Series(["x", "x", "x", "x", "y", "z"])  # a+b merged, c split
    acc = cluster_accuracy(predicted, truth)
    # predicted pairs: C(4,2)=6, correct 2; true pairs 3, found 2
    assert acc.predicted_pairs == 6 and acc.correct_pairs == 2
    assert acc.precision == pytest.approx(2 / 6)
    assert acc.recall == pytest.approx(2 / 3)
    assert acc.mixed_clusters == 1 and acc.split_clusters == 1


def test_unlinked_records_count_as_singletons() -> None:
    truth = pd.Series(["a", "a"])
    acc = cluster_accuracy(pd.Series([None, None], dtype="string"), truth)
    assert acc.recall == 0.0 and acc.predicted_pairs == 0
