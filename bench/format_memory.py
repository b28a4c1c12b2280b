"""Peak memory reading a 1M-record agency file with a streaming reader (issue 16's figure).

    .venv/bin/python bench/format_memory.py --format fhir --records 1000000
    .venv/bin/python bench/format_memory.py --format ctf --records 1000000

A small synthetic population's records of the format's agency are tiled to ``--records`` (each
copy with its own record ID, and for CTF its own valid UPN) and written by the synth format
writer. Then two fresh processes each read the file and report their peak resident size
(``ru_maxrss``) and time: the format reader alone (what streaming bounds) and the full
``read_sources`` path (reader, then the contract checks on a pandas frame of every record, which
is what a link run holds anyway). Not a timed test: a figure for the README.
"""

from __future__ import annotations

import argparse
import csv
import json
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from linkage.synth import generate_population  # noqa: E402
from linkage.synth.formats import _WRITERS, FORMAT_SOURCES  # noqa: E402
from linkage.synth.identifiers import UpnIssuer  # noqa: E402


def build(fmt: str, records: int, work: Path) -> Path:
    base, out = work / "base", work / "sources"
    shutil.rmtree(work, ignore_errors=True)
    generate_population(base, families=2000, seed=21)
    source = FORMAT_SOURCES[fmt]
    with (base / f"{source}.csv").open(encoding="utf-8", newline="") as handle:
        template = list(csv.DictReader(handle))
    upns = UpnIssuer() if fmt == "ctf" else None
    rows = []
    for n in range(records):
        row = dict(template[n % len(template)])
        row["record_id"] = f"{row['record_id']}-{n}"
        if upns is not None:
            # 999 serials per school and year: spread the copies over enough schools.
            school = f"{1000 + (n // 999) % 9000:04d}"
            row["upn"] = upns.issue("999", school, 2010 + n // (999 * 9000)) \
                if row.get("upn") else ""
        rows.append(row)
    out.mkdir(parents=True)
    written = _WRITERS[fmt](out, source, rows, [])
    return written[source]


def measure(mode: str, fmt: str, path: Path) -> dict[str, object]:
    code = f"""
import json, resource, sys, time
sys.path.insert(0, {str(ROOT)!r})
from pathlib import Path
t = time.perf_counter()
if {mode!r} == "reader":
    from linkage.ingest.formats import READERS
    n = len(READERS[{fmt!r}](Path({str(path)!r})).rows)
else:
    from linkage.ingest import read_sources
    n = sum(len(f) for f in read_sources(Path({str(path.parent)!r})).sources.values())
print(json.dumps({{"records": n, "seconds": round(time.perf_counter() - t, 1),
                  "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}}))
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--format", default="fhir", choices=sorted(FORMAT_SOURCES))
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--work", type=Path, default=ROOT / "bench" / "out" / "format_memory")
    parser.add_argument("--reuse", action="store_true",
                        help="Measure the file a previous run built (same --format and --work).")
    parser.add_argument("--modes", default="reader,read_sources")
    args = parser.parse_args()
    started = time.perf_counter()
    source = FORMAT_SOURCES[args.format]
    built = sorted((args.work / "sources").glob(f"{source}*")) if args.reuse else []
    path = built[0] if built else build(args.format, args.records, args.work)
    size = sum(p.stat().st_size for p in ([path] if path.is_file() else path.iterdir()))
    print(json.dumps({"format": args.format, "records": args.records,
                      "file_mb": round(size / 2**20), "build_seconds":
                      round(time.perf_counter() - started, 1),
                      "writer_peak_rss_mb": round(
                          resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}))
    for mode in args.modes.split(","):
        print(json.dumps({"mode": mode, **measure(mode, args.format, path)}))


if __name__ == "__main__":
    main()
