"""Real-time matching benchmark: per-query latency and top-1 accuracy against the identity index,
with Splink's own per-record matching measured in the same run as the baseline.

    .venv/bin/python bench/realtime.py                 # 2,000 households (~11k records)
    .venv/bin/python bench/realtime.py --families 185000 --queries 2000   # ~1M records

The population is synthesised and linked once per size and seed (cached under bench/out/).
Queries are drawn from the population's people with fresh realistic errors
(``linkage.synth.queries``). A query's top candidate is correct when the index record it matched
best is one of the true person's records: the matcher is judged on finding the person, whichever
part of a person the link run may have split.
"""

from __future__ import annotations

import argparse
import csv
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from linkage.realtime import Matcher  # noqa: E402
from linkage.synth.queries import draw_queries  # noqa: E402

console = Console(width=160)
PY = sys.executable


def population(families: int, seed: int, work: Path) -> tuple[Path, Path]:
    directory = work / f"population-{families}-{seed}"
    db = work / f"realtime-{families}-{seed}.duckdb"
    if not (directory / "truth" / "truth.csv").exists():
        subprocess.run([PY, "-m", "kinlink.cli", "synth", "--out", str(directory),
                        "--families", str(families), "--seed", str(seed)], check=True,
                       stdout=subprocess.DEVNULL)
    if not db.exists():
        subprocess.run([PY, "-m", "kinlink.cli", "link", "--sources", str(directory), "--db",
                        str(db)], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return directory, db


def splink_baseline(db: Path, queries: list[dict[str, str]], n: int) -> float:
    """Splink's own way to match new records against an existing table: ``predict_between``."""
    import json

    import duckdb
    from splink import DuckDBAPI, Linker

    from linkage.realtime.matcher import QUERY_FIELDS
    from linkage.standardise.records import standardise_record

    with duckdb.connect(str(db), read_only=True) as con:
        model = con.execute("SELECT value FROM meta WHERE key = 'model_json'").fetchall()[0][0]
        features = con.sql("SELECT * FROM record_features").df()
    api = DuckDBAPI(duckdb.connect())
    existing = api.register(features)
    linker = Linker(existing, json.loads(model))
    for column in ("given_name", "family_name", "dob", "postcode"):
        linker.table_management.compute_tf_table(column)
    times = []
    for number, query in enumerate(queries[:n]):
        record = {k: (query.get(k) or None) for k in QUERY_FIELDS}
        row = standardise_record({**record, "source": "query", "record_id": query["record_id"]})
        new = api.register(pd.DataFrame([row]), table_name=f"query_{number}")
        started = time.perf_counter()
        linker.inference.predict_between(existing, new).as_pandas_dataframe()
        times.append(time.perf_counter() - started)
    return float(np.median(times) * 1000)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--families", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--baseline-queries", type=int, default=20)
    parser.add_argument("--work", type=Path, default=ROOT / "bench" / "out")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    directory, db = population(args.families, args.seed, args.work)
    queries_path = draw_queries(directory, args.queries, seed=args.seed + 1)
    with open(queries_path, encoding="utf-8") as handle:
        queries = list(csv.DictReader(handle))

    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    started = time.perf_counter()
    matcher = Matcher.load(db)
    load_seconds = time.perf_counter() - started
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    truth = pd.read_csv(directory / "truth" / "truth.csv", dtype=str)
    true_person = dict(zip(truth["source"] + ":" + truth["record_id"], truth["person_id"],
                           strict=True))
    latencies, correct, empty = [], 0, 0
    for query in queries:
        began = time.perf_counter()
        found = matcher.match(query, top=5)
        latencies.append(time.perf_counter() - began)
        if not found:
            empty += 1
        elif true_person.get(found[0].best_record) == query["true_person_id"]:
            correct += 1
    ms = np.array(latencies) * 1000
    p50, p95, p99 = np.percentile(ms, [50, 95, 99])
    baseline = splink_baseline(db, queries, args.baseline_queries)

    table = Table(title=f"Real-time matching: {len(matcher.index):,} indexed records, "
                        f"{len(queries):,} queries with realistic errors (pid {os.getpid()})")
    for column in ("method", "p50 ms", "p95 ms", "p99 ms", "× Splink", "top-1 correct",
                   "no candidate", "index load s", "index MB", "targets"):
        table.add_column(column, justify="left" if column in ("method", "targets") else "right")
    accuracy = correct / len(queries)
    verdict = "met" if p95 <= 25 and accuracy >= 0.99 else "not met"
    table.add_row("kinlink matcher", f"{p50:.2f}", f"{p95:.2f}", f"{p99:.2f}",
                  f"{baseline / p50:,.0f}× faster", f"{accuracy:.4f}", str(empty),
                  f"{load_seconds:.1f}", f"{rss_after - rss_before:,.0f}",
                  f"p95 ≤ 25 ms, top-1 ≥ 0.99: {verdict}")
    table.add_row(f"Splink predict_between, median of {args.baseline_queries} queries",
                  f"{baseline:.1f}", "", "", "1", "", "", "", "", "")
    console.print(table)


if __name__ == "__main__":
    main()
