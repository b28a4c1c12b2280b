"""``kinlink blocking``: pairs and largest block per rule, counted independently here, and the
true pairs each rule finds."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from typer.testing import CliRunner

from kinlink.cli import app
from linkage.features import prepare_sources
from linkage.model.blocking import PREDICTION_KEYS
from linkage.synth import generate_population

runner = CliRunner()


@pytest.fixture(scope="module")
def population(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("population")
    generate_population(out, families=120, seed=8)
    return out


def run_report(population: Path, *options: str) -> list[dict[str, Any]]:
    result = runner.invoke(app, ["blocking", "--sources", str(population), "--json",
                                 "--truth", str(population / "truth" / "truth.csv"), *options])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def report(population: Path) -> list[dict[str, Any]]:
    return run_report(population, "--unbounded")


def test_pairs_and_largest_block_per_rule_match_a_count_by_hand(
    population: Path, report: list[dict[str, Any]]
) -> None:
    features = prepare_sources(population).features
    for keys, row in zip(PREDICTION_KEYS, report, strict=True):
        keyed = features.dropna(subset=list(keys))
        sizes = keyed.groupby(list(keys)).size()
        assert row["pairs"] == int((sizes * (sizes - 1) // 2).sum()), keys
        assert row["largest block"] == (int(sizes.max()) if len(sizes) else 0), keys
        assert row["new comparisons"] <= row["pairs"], keys


def test_recall_per_rule_counts_true_pairs_sharing_the_keys(
    population: Path, report: list[dict[str, Any]]
) -> None:
    features = prepare_sources(population).features.set_index("unique_id")
    truth = pd.read_csv(population / "truth" / "truth.csv", dtype=str)
    truth["unique_id"] = truth["source"] + ":" + truth["record_id"]
    truth = truth[truth["unique_id"].isin(features.index)]
    pairs = [p for _, group in truth.groupby("person_id")
             for p in itertools.combinations(sorted(group["unique_id"]), 2)]

    def agrees(keys: tuple[str, ...], a: str, b: str) -> bool:
        return all(pd.notna(features.at[a, k]) and pd.notna(features.at[b, k])
                   and features.at[a, k] == features.at[b, k] for k in keys)

    found = [[agrees(keys, a, b) for keys in PREDICTION_KEYS] for a, b in pairs]
    for i, row in enumerate(report):
        alone = sum(f[i] for f in found) / len(pairs)
        so_far = sum(any(f[: i + 1]) for f in found) / len(pairs)
        only = sum(f[i] and not any(f[:i] + f[i + 1:]) for f in found)
        assert row["recall alone"] == pytest.approx(alone)
        assert row["cumulative recall of true pairs"] == pytest.approx(so_far)
        assert row["true pairs no other rule finds"] == only
    assert report[-1]["cumulative recall of true pairs"] > 0.95


def test_the_bounded_report_splits_only_large_name_blocks(
    population: Path, report: list[dict[str, Any]]
) -> None:
    """With a bound of 3 records, the name rule becomes: blocks of at most 3, then larger blocks
    on year of birth, then on postcode district; together never more pairs than the rule alone,
    and every other rule unchanged."""
    bounded = run_report(population, "--largest-block", "3")
    name_rule = "given_name_canonical + family_name_metaphone"
    split = [r for r in bounded if r["rule"].startswith(name_rule)]
    assert [r["rule"] for r in split] == [
        f"{name_rule} + small_block_given_name_canonical_family_name_metaphone",
        f"{name_rule} + dob_year", f"{name_rule} + postcode_district"]
    features = prepare_sources(population).features.dropna(
        subset=["given_name_canonical", "family_name_metaphone"])
    sizes = features.groupby(["given_name_canonical", "family_name_metaphone"]).size()
    small = sizes[sizes <= 3]
    assert split[0]["pairs"] == int((small * (small - 1) // 2).sum())
    assert split[0]["largest block"] == int(small.max())
    (whole,) = [r for r in report if r["rule"] == name_rule]
    assert sum(r["new comparisons"] for r in split) <= whole["new comparisons"]
    # The run's sparse-date rule comes after the model's own, and only in the run's rules.
    assert bounded[-1]["rule"] == "dob + small_block_dob"
    model_rules = bounded[:-1]
    others = [r for r in model_rules if not r["rule"].startswith(name_rule)]
    assert [r["rule"] for r in others] == [r["rule"] for r in report if r["rule"] != name_rule]
    assert [r["pairs"] for r in others] == [r["pairs"] for r in report if r["rule"] != name_rule]
    assert model_rules[-1]["cumulative recall of true pairs"] <= report[-1][
        "cumulative recall of true pairs"] <= bounded[-1]["cumulative recall of true pairs"]
