"""Measure audit append throughput: serialised commits (one transaction per append, the old way)
against group commit, with many threads appending single events as the gateway's thread pool does.

Not a test (pytest does not collect it); run it by hand on a quiet machine:

    .venv/bin/python tests/audit/measure_group_commit.py [--threads 16] [--appends 500]

Each mode writes a fresh trail in a temporary directory, then checks that the sequence numbers are
gap-free and that ``verify`` passes, so a fast but wrong result cannot be reported.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from pathlib import Path

from audit import AuditEvent, AuditTrail, verify_trail


def _event(thread: int, k: int) -> AuditEvent:
    return AuditEvent(event_type="PatientRead", outcome="permit", client_id="bench-client",
                      agency="police", purpose="mash-triage",
                      subject_person_id=f"PBENCH{thread:02d}{k:05d}")


def run(mode: str, threads: int, appends: int) -> dict[str, float]:
    """Appends/s and per-append latency for ``mode`` ('serialised' or 'group')."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.audit.duckdb"
        trail = AuditTrail.open(path)
        # The old behaviour: every caller takes a lock and commits alone.
        serial = threading.Lock() if mode == "serialised" else None
        latencies: list[float] = []
        record = threading.Lock()

        def worker(t: int) -> None:
            mine = []
            for k in range(appends):
                start = time.perf_counter()
                if serial is not None:
                    with serial:
                        trail.append([_event(t, k)])
                else:
                    trail.append([_event(t, k)])
                mine.append(time.perf_counter() - start)
            with record:
                latencies.extend(mine)

        pool = [threading.Thread(target=worker, args=(t,)) for t in range(threads)]
        began = time.perf_counter()
        for thread in pool:
            thread.start()
        for thread in pool:
            thread.join()
        elapsed = time.perf_counter() - began
        trail.checkpoint()
        seqs = [r[0] for r in trail.cursor().execute(
            "SELECT seq FROM audit_events ORDER BY seq").fetchall()]
        key_name, public = trail.key_name, trail.public_key
        trail.close()
        if seqs != list(range(threads * appends)):
            raise SystemExit(f"{mode}: sequence numbers are not gap-free")
        result = verify_trail(path, key_name, public)
        if not result.ok:
            raise SystemExit(f"{mode}: verify failed: {result.problem}")
    latencies.sort()
    return {
        "appends_per_s": len(latencies) / elapsed,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000,
        "seconds": elapsed,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--appends", type=int, default=500, help="single-event appends per thread")
    parser.add_argument("--mode", choices=["both", "serialised", "group"], default="both")
    args = parser.parse_args()
    modes = ["serialised", "group"] if args.mode == "both" else [args.mode]
    print(f"{args.threads} threads x {args.appends} single-event appends")
    for mode in modes:
        r = run(mode, args.threads, args.appends)
        print(f"{mode:>10}: {r['appends_per_s']:8.0f} appends/s   p50 {r['p50_ms']:6.2f} ms   "
              f"p99 {r['p99_ms']:7.2f} ms   ({r['seconds']:.1f} s, gap-free, verified)")


if __name__ == "__main__":
    main()
