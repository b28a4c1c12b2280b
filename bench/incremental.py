"""Incremental linkage benchmark: a re-extract linked incrementally against a full re-run.

    .venv/bin/python bench/incremental.py                   # ~65k records (12,000 families)
    .venv/bin/python bench/incremental.py --families 2000   # quicker
    .venv/bin/python bench/incremental.py --added 0.01 --changed 0.002   # a daily-sized delta

A base index is linked from the population with about a sixth of each extract held back; the
re-extract adds those records (~20% more), changes 2% (postcode, and given name for half of them)
and withdraws a few. It is then linked from two copies of the base index, once incrementally and
once with ``--full``; each run is its own process, so its wall time is its own. The table gives
both runs' stage timings, the pairs each scored or reused, and whether the persons are identical.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pandas as pd
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from linkage.synth import generate_population  # noqa: E402

console = Console(width=200)
SOURCES = ("health", "education", "social_care", "police")
KINLINK = str(ROOT / ".venv" / "bin" / "kinlink")


def write_reextract(
    full: Path, base: Path, final: Path, seed: int, added: float, changed_share: float
) -> dict[str, int]:
    """``base``: each extract less the records to add (``added`` × base); ``final``: all, with
    ``changed_share`` of them changed and 3 per source withdrawn."""
    rng = random.Random(seed)
    counts = {"added": 0, "changed": 0, "withdrawn": 0}
    for directory in (base, final):
        if directory.exists():
            shutil.rmtree(directory)
        directory.mkdir(parents=True)
        for path in full.iterdir():
            if path.suffix == ".yaml" or path.name.endswith("_relationships.csv"):
                shutil.copy(path, directory / path.name)
    for source in SOURCES:
        frame = pd.read_csv(full / f"{source}.csv", dtype=str, keep_default_na=False)
        in_base = pd.Series([rng.random() < 1 / (1 + added) for _ in range(len(frame))])
        frame[in_base.to_numpy()].to_csv(base / f"{source}.csv", index=False)
        base_rows = list(in_base[in_base].index)
        rng.shuffle(base_rows)
        changed = base_rows[: max(1, round(len(frame) * changed_share))]
        withdrawn = base_rows[len(changed) : len(changed) + 3]
        given = "forename" if source == "police" else "given_name"
        postcode = "post_code" if source == "police" else "postcode"
        frame.loc[changed, postcode] = "TA9 9ZZ"
        frame.loc[changed[::2], given] = frame.loc[changed[::2], given] + "e"
        frame.drop(index=withdrawn).to_csv(final / f"{source}.csv", index=False)
        counts["added"] += int((~in_base).sum())
        counts["changed"] += len(changed)
        counts["withdrawn"] += len(withdrawn)
    return counts


def link(sources: Path, db: Path, *extra: str) -> tuple[float, dict[str, object]]:
    started = time.perf_counter()
    proc = subprocess.run(
        [KINLINK, "link", "--sources", str(sources), "--db", str(db), "--json", *extra],
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(f"kinlink link failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    text = proc.stdout
    return seconds, json.loads(text[text.index("{") : text.rindex("}") + 1])


def persons(db: Path) -> set[frozenset[str]]:
    with duckdb.connect(str(db), read_only=True) as con:
        links = con.execute("SELECT unique_id, person_id FROM record_links").df()
    return set(links.groupby("person_id")["unique_id"].agg(frozenset))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--families", type=int, default=12000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--added", type=float, default=0.2, help="records added, share of base")
    parser.add_argument("--changed", type=float, default=0.02, help="records changed, share")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "incremental")
    args = parser.parse_args()

    population = args.out / f"population-{args.families}-{args.seed}"
    if not (population / "health.csv").exists():
        console.print(f"generating {args.families:,} families into {population}")
        generate_population(population, families=args.families, seed=args.seed)
    base, final = args.out / "base", args.out / "final"
    delta = write_reextract(population, base, final, args.seed, args.added, args.changed)
    base_db, inc_db, full_db = (args.out / f"{n}.duckdb" for n in ("base", "incr", "full"))
    for db in (base_db, inc_db, full_db):
        db.unlink(missing_ok=True)

    console.print("linking the base extracts")
    base_seconds, base_summary = link(base, base_db)
    shutil.copy(base_db, inc_db)
    shutil.copy(base_db, full_db)
    console.print("linking the re-extract incrementally, then fully")
    inc_seconds, inc = link(final, inc_db, "--incremental")
    full_seconds, full = link(final, full_db, "--full")

    same = persons(inc_db) == persons(full_db)
    inc_scoring, full_scoring = inc["scoring"], full["scoring"]
    assert isinstance(inc_scoring, dict) and isinstance(full_scoring, dict)
    inc_stages, full_stages = inc["seconds"], full["seconds"]
    assert isinstance(inc_stages, dict) and isinstance(full_stages, dict)

    table = Table(
        title=(
            f"incremental linkage: base {base_summary['records']:,} records → re-extract "
            f"{inc['records']:,} (+{delta['added']:,} added, {delta['changed']:,} changed, "
            f"{delta['withdrawn']:,} withdrawn)"
        )
    )
    table.add_column("")
    for column in ("full re-run", "incremental", "incremental / full"):
        table.add_column(column, justify="right")

    def ratio(a: float, b: float) -> str:
        return f"{a / b:.2f}" if b else "-"

    table.add_row(
        "pairs scored",
        f"{full_scoring['pairs_scored']:,}",
        f"{inc_scoring['pairs_scored']:,}",
        ratio(float(inc_scoring["pairs_scored"]), float(full_scoring["pairs_scored"])),
    )
    table.add_row("pairs reused (re-weighed)", "0", f"{inc_scoring['pairs_reused']:,}", "")
    for stage in full_stages:
        f, i = float(full_stages[stage]), float(inc_stages.get(stage, 0.0))
        table.add_row(f"  {stage} (s)", f"{f:.2f}", f"{i:.2f}", ratio(i, f))
    table.add_row("wall time (s)", f"{full_seconds:.2f}", f"{inc_seconds:.2f}",
                  ratio(inc_seconds, full_seconds))
    table.add_row("same persons", "", "yes" if same else "NO", "")
    console.print(table)
    console.print(f"base run: {base_seconds:.2f} s wall; files under {args.out}")
    if not same:
        raise SystemExit("incremental persons differ from the full re-run")


if __name__ == "__main__":
    main()
