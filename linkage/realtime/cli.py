"""``kinlink match``: real-time matching of a batch of query records (shared/contracts/cli.md)."""

from __future__ import annotations

import csv
import json
import time
from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich.console import Console

from linkage.index.option import DEFAULT_DB, DbOption

__all__ = ["match"]

out = Console()
err = Console(stderr=True)


def match(
    queries: Annotated[Path, typer.Option("--queries", help="CSV in the source-extract layout.")],
    out_path: Annotated[Path, typer.Option("--out", help="Where to write the candidates CSV.")],
    db: DbOption = DEFAULT_DB,
    top: Annotated[int, typer.Option("--top", min=1, max=100)] = 5,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON summary.")] = False,
) -> None:
    """Match each query record against the index: query_id,rank,person_id,probability,grade."""
    from linkage.index import IndexNotFound, IndexUnavailable
    from linkage.realtime import Matcher

    if not queries.exists():
        err.print(f"error: {queries}: no such file")
        raise typer.Exit(2)
    with open(queries, encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        if not reader.fieldnames or "record_id" not in reader.fieldnames:
            err.print(f"error: {queries}: required column 'record_id' is missing")
            raise typer.Exit(2)
        rows = list(reader)
    try:
        started = time.perf_counter()
        matcher = Matcher.load(db)
        load_seconds = time.perf_counter() - started
    except (IndexNotFound, IndexUnavailable) as exc:
        err.print(f"error: {exc}")
        raise typer.Exit(2) from exc
    latencies = []
    matched = 0
    with open(out_path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["query_id", "rank", "person_id", "probability", "grade"])
        for row in rows:
            began = time.perf_counter()
            candidates = matcher.match(row, top=top)
            latencies.append(time.perf_counter() - began)
            matched += bool(candidates)
            for rank, candidate in enumerate(candidates, start=1):
                writer.writerow([row["record_id"], rank, candidate.person_id,
                                 f"{candidate.probability:.6f}", candidate.grade])
    ms = np.array(latencies) * 1000 if latencies else np.zeros(1)
    p50, p95, p99 = (float(v) for v in np.percentile(ms, [50, 95, 99]))
    summary = {"queries": len(rows), "matched": matched, "index_records": len(matcher.index),
               "index_load_seconds": round(load_seconds, 2), "p50_ms": round(p50, 3),
               "p95_ms": round(p95, 3), "p99_ms": round(p99, 3), "out": str(out_path)}
    if as_json:
        out.print_json(json.dumps(summary))
    else:
        out.print(f"{matched:,} of {len(rows):,} queries matched; p50 {p50:.2f} ms, "
                  f"p95 {p95:.2f} ms, p99 {p99:.2f} ms; candidates in {out_path}")
