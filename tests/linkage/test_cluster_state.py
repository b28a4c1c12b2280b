"""The compact state clustering keeps at scale reads as the plain structures it replaced did:
pair probabilities by pair (the last listing wins, unscored pairs are 0, the mean summed in
order), every record's root at once, a person's dates made only at its first join, and record
facts read column by column as one record is read."""

import math

import numpy as np
import pandas as pd

from linkage.persons.clustering import _Clusters
from linkage.persons.constraints import FACT_COLUMNS, record_facts, record_facts_of_columns
from linkage.persons.pair_scores import PairScores
from tests.linkage.scored_pairs import child


def test_pair_scores_read_as_a_dict_filled_in_order() -> None:
    left, right = np.array([0, 3, 2, 0]), np.array([1, 2, 4, 1])
    probability = np.array([0.9, 0.4, 0.7, 0.3])  # (0, 1) listed twice: the last one holds
    scores = PairScores(left, right, probability, records=5)
    table: dict[tuple[int, int], float] = {}
    for i, j, p in zip(left.tolist(), right.tolist(), probability.tolist(), strict=True):
        table[(min(i, j), max(i, j))] = p
    a, b = [1, 0, 2], [3, 4]
    total = 0.0
    for i in a:
        for j in b:
            total += table.get((min(i, j), max(i, j)), 0.0)
    assert scores.mean_between(a, b) == total / 6
    assert scores.mean_between([0], [1]) == 0.3
    assert scores.mean_between([1], [3]) == 0.0


def test_pair_scores_sum_in_order_to_the_last_bit() -> None:
    # Figures whose order of addition shows in the last bit.
    values = [0.1, 1e16, -1e16, 0.3, 0.7, 1e-5]
    left, right = np.zeros(len(values), dtype=np.int64), np.arange(1, len(values) + 1)
    scores = PairScores(left, right, np.array(values), records=len(values) + 1)
    running = 0.0
    for v in values:
        running += v
    assert scores.mean_between([0], list(range(1, len(values) + 1))) == running / len(values)
    assert running != math.fsum(values)  # the case does tell the orders apart


def test_roots_are_what_find_gives_and_dates_wait_for_a_join() -> None:
    facts = [child(f"name{n}", f"2015-0{1 + n % 3}-10") for n in range(7)]
    clusters = _Clusters(facts)
    assert clusters.dobs(4) == {"2015-02-10": (4,)}
    for i, j in ((0, 1), (2, 3), (1, 3), (5, 6)):
        clusters.union(clusters.find(i), clusters.find(j))
    assert clusters.roots().tolist() == [clusters.find(i) for i in range(7)]
    root = clusters.find(0)
    assert {dob: sorted(records) for dob, records in clusters.dobs(root).items()} == {
        "2015-01-10": [0, 3], "2015-02-10": [1], "2015-03-10": [2]}
    assert clusters.dobs(4) == {"2015-02-10": (4,)}  # never joined: still read off its record


def test_facts_of_columns_read_each_value_as_one_record_is_read() -> None:
    rows = [
        {"nhs_number": "9434765919", "dob": "2015-01-10", "given_name": "amy",
         "given_name_canonical": "amy", "given_name_metaphone": "AM", "given_names_all": ["amy"],
         "upn": "A123", "upn_is_temporary": False, "source": "health", "family_name": "smith",
         "address_key": "1|AB1", "name_is_placeholder": False, "sex": "F",
         "address_line_key": None, "former_upn": None},
        {"nhs_number": float("nan"), "dob": pd.NA, "given_name": None,
         "given_name_canonical": None, "given_name_metaphone": None, "given_names_all": None,
         "upn": "T1", "upn_is_temporary": True, "source": "health", "family_name": "smith",
         "address_key": None, "name_is_placeholder": True, "sex": None,
         "address_line_key": "1|high st", "former_upn": "A9"},
    ]
    restrictions = ["adoption", None]
    columns = [[row[c] for row in rows] for c in FACT_COLUMNS]
    assert record_facts_of_columns(columns, restrictions) == [
        record_facts(row, restriction) for row, restriction in zip(rows, restrictions, strict=True)]
    facts = record_facts_of_columns(columns, restrictions)
    assert facts[0].source is facts[1].source  # one string for a value many records share
