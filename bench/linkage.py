"""Linkage benchmark: kinlink against plain Splink and exact matching, on the same population.

    .venv/bin/python bench/linkage.py                 # ~65k records (12,000 families)
    .venv/bin/python bench/linkage.py --large         # also ~1M records (200,000 families)
    .venv/bin/python bench/linkage.py --sources DIR --truth DIR/truth/truth.csv   # your own files
    .venv/bin/python bench/linkage.py --engine duckdb,spark   # also kinlink on Splink's Spark
    .venv/bin/python bench/linkage.py --skewed        # also the same size with skewed surnames
    .venv/bin/python bench/linkage.py --delta         # also a 1% delta: incremental vs full
    .venv/bin/python bench/linkage.py --memory-limit 6GB   # DuckDB's budget for kinlink

Each method runs in its own process, so its wall time and peak memory are its own (the larger of
the child's max RSS from ``wait4`` and its process tree's RSS sampled every 0.25 s, which counts
the Spark engine's JVM). Accuracy is pairwise against the truth file; ratios are against plain Splink
measured in the same run, for time and for peak memory. kinlink's stages are listed with their
seconds and the process's peak memory while each ran (``kinlink link --json``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from linkage.evaluation import cluster_accuracy, read_truth  # noqa: E402

console = Console(width=200)


def _tree_rss_mb(pid: int) -> float:
    """Resident memory of a process and all its descendants (the Spark engine's JVM is a
    grandchild, which the child's own rusage does not count)."""
    total, stack = 0, [pid]
    while stack:
        current = stack.pop()
        try:
            with open(f"/proc/{current}/statm") as handle:
                total += int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as handle:
                    stack.extend(int(child) for child in handle.read().split())
        except (FileNotFoundError, ProcessLookupError, ValueError):
            continue
    return total / 2**20


#: The CPU seconds of the last child ``_run_child`` ran (a list so it can be set in place).
LAST_CPU = [0.0]


def _run_child(args: list[str]) -> tuple[float, float, str]:
    """Run a child process; return (seconds, peak RSS in MB of its process tree, stdout). Its
    CPU seconds (user + system, from ``wait4``) are kept in ``LAST_CPU``."""
    started = time.perf_counter()
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak_tree = 0.0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak_tree
        while not done.wait(0.25):
            peak_tree = max(peak_tree, _tree_rss_mb(proc.pid))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    stdout_chunks: list[str] = []
    assert proc.stdout is not None
    for line in proc.stdout:
        stdout_chunks.append(line)
    done.set()
    sampler.join()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - started
    LAST_CPU[0] = usage.ru_utime + usage.ru_stime
    stderr = proc.stderr.read() if proc.stderr else ""
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed ({proc.returncode}):\n{stderr[-3000:]}")
    return seconds, max(usage.ru_maxrss / 1024, peak_tree), "".join(stdout_chunks)


def _baseline_child(method: str, sources: Path, out: Path) -> None:
    from bench.baselines import exact_match_baseline, plain_splink_baseline

    fn = exact_match_baseline if method == "exact" else plain_splink_baseline
    fn(sources).to_csv(out, index=False)


def _labels_from_export(path: Path) -> pd.DataFrame:
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame["unique_id"] = frame["source"] + ":" + frame["record_id"]
    return frame


def _stages(summary: dict) -> str:
    """Each stage as "name seconds s (CPU seconds cpu) / peak MB": on a shared machine the wall
    seconds vary with the load, the CPU seconds much less."""
    peaks, cpu = summary.get("peak_mb", {}), summary.get("cpu_seconds", {})
    return ", ".join(f"{k} {v:.1f}s ({cpu.get(k, 0):.1f} cpu)/{peaks.get(k, 0):,.0f}MB"
                     for k, v in summary["seconds"].items())


def _kinlink_row(kinlink: str, sources: Path, truth: pd.DataFrame, workdir: Path, label: str,
                 engine: str, memory_limit: str | None = None) -> dict:
    db = workdir / f"{label}-{engine}.duckdb"
    for leftover in (db, db.with_name(db.name + ".wal")):
        leftover.unlink(missing_ok=True)
    limit = ["--memory-limit", memory_limit] if memory_limit else []
    seconds, peak, stdout = _run_child(
        [kinlink, "link", "--sources", str(sources), "--db", str(db), "--json", "--full",
         "--engine", engine, *limit]
    )
    cpu = LAST_CPU[0]
    summary = json.loads(stdout)
    export = workdir / f"{label}-{engine}-kinlink.csv"
    _run_child([kinlink, "export", "identities", "--db", str(db), "--out", str(export)])
    labels = _labels_from_export(export)
    merged = truth.merge(
        labels[["unique_id", "person_id", "family_id"]],
        on="unique_id",
        how="left",
        suffixes=("_true", ""),
    )
    acc = cluster_accuracy(merged["person_id"], merged["person_id_true"])
    fam = None
    if "family_id_true" in merged:
        fam = cluster_accuracy(merged["family_id"], merged["family_id_true"])
    stages = _stages(summary)
    return {
        "population": label,
        "method": "kinlink" if engine == "duckdb" else f"kinlink ({engine})",
        "records": len(truth),
        "seconds": seconds,
        "cpu": cpu,
        "stages": stages,
        "peak_mb": peak,
        "acc": acc,
        "fam": fam,
    }


def bench_population(sources: Path, truth_path: Path, workdir: Path, label: str,
                     engines: tuple[str, ...] = ("duckdb",), baselines: bool = True,
                     memory_limit: str | None = None) -> list[dict]:
    truth = read_truth(truth_path)
    truth["unique_id"] = truth["source"] + ":" + truth["record_id"]
    rows: list[dict] = []
    py = sys.executable
    kinlink = str(Path(py).with_name("kinlink"))

    for method in ("exact", "plain-splink") if baselines else ():
        out = workdir / f"{label}-{method}.csv"
        seconds, peak, _ = _run_child(
            [py, __file__, "--child", method, "--sources", str(sources), "--out", str(out)]
        )
        labels = pd.read_csv(out, dtype=str)
        merged = truth.merge(labels, on="unique_id", how="left", suffixes=("_true", ""))
        acc = cluster_accuracy(merged["person_id"], merged["person_id_true"])
        rows.append(
            {
                "population": label,
                "method": method,
                "records": len(truth),
                "seconds": seconds,
                "cpu": LAST_CPU[0],
                "stages": "",
                "peak_mb": peak,
                "acc": acc,
                "fam": None,
            }
        )

    for engine in engines:
        rows.append(_kinlink_row(kinlink, sources, truth, workdir, label, engine, memory_limit))
    return rows


def _delta_rows(sources: Path, workdir: Path, label: str, memory_limit: str | None) -> list[dict]:
    """A 1% delta (0.8% new, 0.2% changed, 3 withdrawn per source) on ``sources``: the base
    linked once, then the re-extract linked incrementally and fully from copies of it."""
    import shutil

    from bench.incremental import persons, write_reextract

    kinlink = str(Path(sys.executable).with_name("kinlink"))
    base, final = workdir / f"{label}-delta-base", workdir / f"{label}-delta-final"
    write_reextract(sources, base, final, seed=7, added=0.008, changed_share=0.002)
    limit = ["--memory-limit", memory_limit] if memory_limit else []
    dbs = {name: workdir / f"{label}-delta-{name}.duckdb" for name in ("base", "incr", "full")}
    for db in dbs.values():
        db.unlink(missing_ok=True)
    _run_child([kinlink, "link", "--sources", str(base), "--db", str(dbs["base"]), "--json",
                *limit])
    shutil.copy(dbs["base"], dbs["incr"])
    shutil.copy(dbs["base"], dbs["full"])
    rows = []
    for name, mode in (("full", "--full"), ("incr", "--incremental")):
        seconds, peak, stdout = _run_child(
            [kinlink, "link", "--sources", str(final), "--db", str(dbs[name]), "--json", mode,
             *limit])
        summary = json.loads(stdout)
        rows.append({"population": label, "method": f"1% delta, {mode[2:]}",
                     "records": summary["records"], "seconds": seconds, "cpu": LAST_CPU[0],
                     "peak_mb": peak,
                     "stages": _stages(summary)})
    rows[1]["same"] = persons(dbs["incr"]) == persons(dbs["full"])
    return rows


def _generate(workdir: Path, families: int, seed: int, skewed: bool = False) -> Path:
    target = workdir / (f"population-{families}-{seed}" + ("-skewed" if skewed else ""))
    if not (target / "truth" / "truth.csv").exists():
        from linkage.synth import generate_population
        from linkage.synth.population import SKEWED_SURNAMES

        console.print(f"generating {families:,} families (seed {seed}"
                      + (", skewed surnames" if skewed else "") + ") …")
        generate_population(target, families=families, seed=seed,
                            surname_skew=SKEWED_SURNAMES if skewed else 0.0)
    return target


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--families", type=int, default=12000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--large", action="store_true", help="also run ~1M records")
    parser.add_argument("--large-families", type=int, default=185000)
    parser.add_argument("--sources", type=Path)
    parser.add_argument("--truth", type=Path)
    parser.add_argument("--workdir", type=Path, default=ROOT / "bench" / "out")
    parser.add_argument("--child", choices=["exact", "plain-splink"], help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--no-baselines", action="store_true",
                        help="skip exact match and plain Splink (scaling runs)")
    parser.add_argument("--engine", default="duckdb",
                        help="kinlink engines to run, comma-separated: duckdb, spark")
    parser.add_argument("--skewed", action="store_true",
                        help="also each size with the most common surname on ~1 family in 9")
    parser.add_argument("--delta", action="store_true",
                        help="also a 1%% delta on each standard population, incremental vs full")
    parser.add_argument("--only-large", action="store_true", help="skip the ~65k population")
    parser.add_argument("--memory-limit", help="kinlink's DuckDB memory budget, e.g. 6GB")
    args = parser.parse_args()

    if args.child:
        _baseline_child(args.child, args.sources, args.out)
        return

    args.workdir.mkdir(parents=True, exist_ok=True)
    populations: list[tuple[str, Path, Path]] = []
    if args.sources:
        populations.append(
            ("given", args.sources, args.truth or args.sources / "truth" / "truth.csv")
        )
    else:
        sizes = [] if args.only_large else [args.families]
        sizes += [args.large_families] if args.large or args.only_large else []
        for families in sizes:
            for skewed in (False, True) if args.skewed else (False,):
                src = _generate(args.workdir, families, args.seed, skewed)
                label = f"{families // 1000}k families" + (" skewed" if skewed else "")
                populations.append((label, src, src / "truth" / "truth.csv"))

    rows: list[dict] = []
    for label, src, truth in populations:
        rows.extend(bench_population(src, truth, args.workdir, label.replace(" ", "-"),
                                     tuple(args.engine.split(",")), not args.no_baselines,
                                     args.memory_limit))
        if args.delta and "skewed" not in label:
            rows.extend(_delta_rows(src, args.workdir, label.replace(" ", "-"),
                                    args.memory_limit))

    table = Table(
        title="linkage benchmark (pairwise accuracy vs truth; time ratio vs plain Splink)"
    )
    for col in (
        "population",
        "method",
        "records",
        "seconds",
        "× plain",
        "cpu s",
        "× plain cpu",
        "peak MB",
        "× plain mem",
        "precision",
        "recall",
        "F1",
        "mixed",
        "split",
        "family F1",
        "stages (s)",
    ):
        table.add_column(
            col, justify="right" if col not in ("method", "stages (s)", "population") else "left"
        )
    for row in rows:
        base = next(
            (r for r in rows
             if r["population"] == row["population"] and r["method"] == "plain-splink"),
            None,
        )
        acc = row.get("acc")
        if "same" in row:
            full = next(r for r in rows if r["population"] == row["population"]
                        and r["method"] == "1% delta, full")
            note = (f"{row['seconds'] / full['seconds']:.2f} of the full re-run; same persons: "
                    + ("yes" if row["same"] else "NO"))
        if row["method"].startswith("1% delta"):
            base = None
        table.add_row(
            row["population"],
            row["method"],
            f"{row['records']:,}",
            f"{row['seconds']:.1f}",
            f"{row['seconds'] / base['seconds']:.2f}" if base else "",
            f"{row['cpu']:.1f}" if "cpu" in row else "",
            f"{row['cpu'] / base['cpu']:.2f}" if base and "cpu" in row else "",
            f"{row['peak_mb']:,.0f}",
            f"{row['peak_mb'] / base['peak_mb']:.2f}" if base else "",
            f"{acc.precision:.5f}" if acc else "",
            f"{acc.recall:.5f}" if acc else "",
            f"{acc.f1:.5f}" if acc else "",
            f"{acc.mixed_clusters:,}" if acc else "",
            f"{acc.split_clusters:,}" if acc else "",
            f"{row['fam'].f1:.4f}" if row.get("fam") else "",
            row["stages"] + (f" ({note})" if "same" in row else ""),
        )
    console.print(table)


if __name__ == "__main__":
    main()
