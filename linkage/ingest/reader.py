"""Read a directory of agency extracts onto the canonical contract.

A bad *value* never stops a run: the field is set to null and a reject names the file, the row and
the field (never the value: it is personal data). A bad *file* stops the run with an
``ExtractError`` naming it, before anything is written, so the previous index keeps serving.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from linkage.contract import CANONICAL_COLUMNS, DATE_COLUMNS, RELATIONSHIP_COLUMNS
from linkage.ingest.errors import ExtractError
from linkage.ingest.formats import CANONICAL, FORMAT_NAMES, READERS, FormatExtract, detect_format
from linkage.ingest.formats.base import RecordTable
from linkage.ingest.formats.census import ADDRESS_SUFFIX
from linkage.ingest.rejects import Reject
from linkage.ingest.source_config import SourceConfig, load_source_config
from linkage.standardise.dates import DateFormatChoice, detect_date_format, parse_date
from linkage.standardise.distinct import Distinct
from linkage.standardise.nhs_number import clean_nhs_number, clean_nhs_numbers
from linkage.standardise.postcodes import clean_postcode
from linkage.standardise.sex import clean_sex, is_known_sex_code
from linkage.standardise.upn import clean_upn, clean_upns
from linkage.standardise.uprn import clean_uprn

__all__ = ["IngestResult", "SourceReading", "read_sources"]

_ENCODINGS = ("utf-8", "utf-8-sig", "cp1252")
_SUFFIXES = (".csv", ".parquet", ".xml", ".json", ".ndjson")
_RELATIONSHIP_SUFFIX = "_relationships"
#: Files beside a source that belong to it rather than being sources of their own.
_COMPANION_SUFFIXES = (_RELATIONSHIP_SUFFIX, ADDRESS_SUFFIX)
#: A column with at least this many values, every one rejected, is one problem (a wrong date
#: format, a column mapped to the wrong field), reported once for the file instead of per row.
_WHOLE_COLUMN = 5

_NHS_PROBLEMS = {
    "invalid_check": "NHS number fails its check digit",
    "wrong_length": "NHS number is not 10 digits",
    "placeholder": "NHS number is a placeholder",
}
_UPN_PROBLEMS = {
    "bad_check": "UPN check letter does not match",
    "malformed": "UPN is not 13 characters in the DfE format",
}
_DATE_PROBLEMS = {
    "unparseable": "date does not match the source's date format",
    "placeholder": "date is a placeholder",
    "future": "date is in the future",
    "too_old": "date is before 1900",
}


@dataclass(frozen=True)
class SourceReading:
    """How one source's file(s) were read, for the run summary (counts only, no values)."""

    format: str
    version: str | None
    files: tuple[str, ...]
    records: int
    rejects: int
    dates: dict[str, object]
    estimated_day: int

    def as_dict(self) -> dict[str, object]:
        return {"format": self.format, "version": self.version, "files": list(self.files),
                "records": self.records, "rejects": self.rejects, "dates": self.dates,
                "estimated_day": self.estimated_day}


@dataclass
class IngestResult:
    #: source name → canonical frame (contract columns + source, agency, row_number, attributes)
    sources: dict[str, pd.DataFrame]
    relationships: pd.DataFrame
    rejects: list[Reject] = field(default_factory=list)
    #: source name → {extra column: data category}
    attribute_categories: dict[str, dict[str, str]] = field(default_factory=dict)
    #: source name → how its file(s) were read (format, version, records, rejects, dates)
    readings: dict[str, SourceReading] = field(default_factory=dict)


def read_sources(directory: Path, today: date | None = None) -> IngestResult:
    """Every source in ``directory``: canonical CSV/Parquet, or a file or folder in one of the
    formats of ``linkage.ingest.formats``. Any unreadable file stops the whole read here, before
    anything is written, so the previous index keeps serving.

    ``today`` is the run's date, against which a date of birth "in the future" is judged (an
    expected date of delivery may be up to 40 weeks ahead); None: the machine's date. A link
    run passes its own start, so one run judges every record by one day and a test by the day
    it names."""
    sources = _discover(directory)
    result = IngestResult(
        sources={}, relationships=pd.DataFrame(columns=["source", *RELATIONSHIP_COLUMNS])
    )
    relationship_frames: list[pd.DataFrame] = []
    for name, path in sources:
        config = load_source_config(directory / f"{name}.yaml")
        before = len(result.rejects)
        read = _read_source(name, path, config, result.rejects, today)
        # The contract's relationships file applies whatever the source's format: a format with
        # no way to say "mother of" (census, CIN) can still be sent with one beside it.
        rel_path = directory / f"{name}{_RELATIONSHIP_SUFFIX}.csv"
        ids = set(read.canonical["record_id"].tolist())
        if read.relationships is not None:
            relationship_frames.append(read.relationships)
        if rel_path.exists():
            relationship_frames.append(_read_relationships(rel_path, name, ids, result.rejects))
            read.files = (*read.files, rel_path)
        result.sources[name] = read.canonical
        result.attribute_categories[name] = read.categories
        result.readings[name] = SourceReading(
            format=read.format, version=read.version, files=tuple(str(f) for f in read.files),
            records=len(read.canonical), rejects=len(result.rejects) - before,
            dates=read.dates.as_dict(), estimated_day=read.estimated_day)
    if relationship_frames:
        result.relationships = pd.concat(relationship_frames, ignore_index=True)
    return result


@dataclass
class _SourceRead:
    format: str
    version: str | None
    files: tuple[Path, ...]
    canonical: pd.DataFrame
    categories: dict[str, str]
    dates: DateFormatChoice
    estimated_day: int
    relationships: pd.DataFrame | None = None


def _read_source(name: str, path: Path, config: SourceConfig,
                 rejects: list[Reject], today: date | None = None) -> _SourceRead:
    """One source through its reader (canonical table or agency format), then the contract's
    checks — the same checks whatever the format, so a bad value is reported the same way."""
    fmt = config.format or detect_format(path)
    if fmt not in FORMAT_NAMES:
        raise ExtractError(f"{path.parent / (name + '.yaml')}: field format: {fmt!r} is not "
                           f"one of {', '.join(FORMAT_NAMES)}")
    if fmt == CANONICAL:
        day: int = config.estimated_day or 1
        canonical, dates = _to_canonical(path, _read_table(path), config, rejects, source=name,
                                         estimated_day=day, today=today)
        return _SourceRead(fmt, None, (path,), canonical, dict(config.categories), dates, day)
    extract = READERS[fmt](path)
    rejects.extend(extract.rejects)
    frame = _frame(extract.rows)
    lines, extract.rows = extract.rows.lines, RecordTable()  # the frame holds the values now
    day = config.estimated_day or extract.estimated_day
    canonical, dates = _to_canonical(
        extract.files[0], frame, config, rejects, source=name, row_numbers=lines,
        format_dates=extract.date_formats, estimated_day=day, today=today)
    # The format's own categories, then the YAML's: an agreement may rename them.
    categories = {k: v for k, v in extract.categories.items()
                  if k in frame.columns} | dict(config.categories)
    relationships = (_format_relationships(extract, name, set(canonical["record_id"]), rejects)
                     if extract.relationships else None)
    return _SourceRead(fmt, extract.version, extract.files, canonical, categories, dates, day,
                       relationships)


def _discover(directory: Path) -> list[tuple[str, Path]]:
    """(source name, file or folder) for every source; companions and notes are left out."""
    if not directory.exists():
        raise ExtractError(f"{directory}: sources directory does not exist")
    if not directory.is_dir():
        raise ExtractError(f"{directory}: not a directory")
    found: list[tuple[str, Path]] = []
    for p in sorted(directory.iterdir()):
        if p.name.startswith("."):
            continue
        if p.is_file() and p.suffix.lower() in _SUFFIXES:
            if not p.stem.endswith(_COMPANION_SUFFIXES):
                found.append((p.stem, p))
        elif p.is_dir() and detect_format(p) is not None:
            found.append((p.name, p))
    if not found:
        raise ExtractError(
            f"{directory}: no extracts found (expected <source>.csv or <source>.parquet, or a "
            "file or folder in one of the formats kinlink reads)"
        )
    names = [n for n, _ in found]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise ExtractError(f"{directory}: source {duplicated[0]} has more than one file "
                           "(e.g. both a CSV and a Parquet file)")
    return found


def _frame(rows: RecordTable) -> pd.DataFrame:
    frame = pd.DataFrame(rows.columns, dtype=object)
    if "record_id" not in frame.columns:
        frame["record_id"] = pd.Series([None] * len(rows), dtype=object)
    return frame


def _format_relationships(
    extract: FormatExtract, source: str, record_ids: set[str], rejects: list[Reject]
) -> pd.DataFrame:
    """A format's relationship rows (CTF contacts, FHIR RelatedPerson) whose records were kept."""
    rows = [r for r in extract.relationships if r[0] in record_ids and r[1] in record_ids]
    dropped = len(extract.relationships) - len(rows)
    if dropped:
        rejects.append(Reject(str(extract.files[0]), None, "relationship",
                              f"{dropped} relationship(s) name a record that was not kept"))
    out = pd.DataFrame(rows, columns=list(RELATIONSHIP_COLUMNS), dtype=object)
    out.insert(0, "source", source)
    return out


def _read_table(path: Path) -> pd.DataFrame:
    if path.suffix == ".parquet":
        try:
            frame = pd.read_parquet(path)
        except Exception as exc:  # pyarrow raises several types for a corrupt file
            raise ExtractError(
                f"{path}: not a readable Parquet file ({type(exc).__name__})"
            ) from exc
        return frame.astype("string").astype(object).where(frame.notna(), None)
    last_error: Exception | None = None
    for encoding in _ENCODINGS:
        try:
            return pd.read_csv(
                path, dtype=str, keep_default_na=False, encoding=encoding, skipinitialspace=False
            )
        except UnicodeDecodeError as exc:
            last_error = exc
        except pd.errors.EmptyDataError as exc:
            raise ExtractError(f"{path}: file is empty (no header row)") from exc
        except pd.errors.ParserError as exc:
            raise ExtractError(f"{path}: not a readable CSV file ({exc})") from exc
    raise ExtractError(f"{path}: unknown text encoding ({last_error})")


def _to_canonical(
    path: Path,
    frame: pd.DataFrame,
    config: SourceConfig,
    rejects: list[Reject],
    *,
    source: str | None = None,
    row_numbers: list[int] | None = None,
    format_dates: tuple[str, ...] | None = None,
    estimated_day: int = 1,
    today: date | None = None,
) -> tuple[pd.DataFrame, DateFormatChoice]:
    missing = sorted(v for v in config.columns.values() if v not in frame.columns)
    if missing:
        raise ExtractError(
            f"{path}: column {missing[0]!r} named in {path.with_suffix('.yaml').name} is not in the file"
        )
    frame = frame.rename(columns={src: dst for dst, src in config.columns.items()})
    if "record_id" not in frame.columns:
        raise ExtractError(f"{path}: required column 'record_id' is missing")
    # One representation of "no value" from here on: None in object columns.
    frame = frame.astype(object).where(frame.notna(), None)
    for position in range(frame.shape[1]):
        frame.isetitem(position, _stripped(frame.iloc[:, position]))
    lines: pd.Series = (
        pd.Series(row_numbers, index=frame.index, dtype="int64") if row_numbers is not None
        else pd.Series(range(2, len(frame) + 2), index=frame.index)
        if path.suffix == ".csv"
        else pd.Series(range(1, len(frame) + 1), index=frame.index)
    )

    # Rows that cannot be a record at all: no ID, or a repeated ID.
    no_id = frame["record_id"].isna()
    repeated = frame["record_id"].duplicated() & ~no_id
    for idx in frame.index[no_id]:
        rejects.append(
            Reject(str(path), int(lines[idx]), "record_id", "record_id is empty; row skipped")
        )
    for idx in frame.index[repeated]:
        rejects.append(
            Reject(
                str(path),
                int(lines[idx]),
                "record_id",
                "record_id repeats an earlier row; row skipped",
            )
        )
    keep = ~(no_id | repeated)
    frame, lines = frame[keep], lines[keep]

    extras = [c for c in frame.columns if c not in CANONICAL_COLUMNS]
    out = pd.DataFrame(index=frame.index)
    for column in CANONICAL_COLUMNS:
        out[column] = frame[column] if column in frame.columns else None
    for column, mapping in config.values.items():
        out[column] = out[column].map(
            lambda v, m=mapping: m.get(v, v) if isinstance(v, str) else None
        )

    dates = _date_choice(out, config, format_dates)
    formats = dates.formats

    def check(column: str, clean: Callable[[Any], tuple[Any, str | None]],
              in_bulk: Callable[[list[Any]], list[tuple[Any, str | None]]] | None = None,
              ) -> None:
        values = out[column]
        # Cleaned once per distinct value and spread back by code (one hashing of the rows, no
        # Python call per row); a missing value has nothing to clean, None as before. A rule
        # with a bulk form (the same rule over many values at once) takes them all at once.
        distinct = Distinct(values)
        results = in_bulk(distinct.values) if in_bulk else distinct.apply(clean)
        spread = np.empty(len(results) + 1, dtype=object)
        spread[:] = [*(r[0] for r in results), None]
        cleaned = pd.Series(spread[distinct.codes], index=values.index, dtype=object)
        cleaned = cleaned.where(cleaned.notna(), None)
        problems = distinct.spread([r[1] for r in results])
        problems = problems.where(problems.notna(), None)
        failed = int(problems.notna().sum())
        if failed >= _WHOLE_COLUMN and failed == int(values.notna().sum()):
            # Not thousands of bad rows but one wrong setting: say so once, where it is fixed.
            rejects.append(Reject(str(path), None, column, _whole_column_problem(
                column, failed, problems.value_counts().index[0], path, formats)))
        else:
            for idx in problems.index[problems.notna()]:
                rejects.append(
                    Reject(str(path), int(lines[idx]), column, str(problems[idx])))
        out[column] = cleaned

    def nhs(v: Any) -> tuple[Any, str | None]:
        r = clean_nhs_number(v)
        return (r.value, _NHS_PROBLEMS.get(r.status))

    def nhs_in_bulk(vs: list[Any]) -> list[tuple[Any, str | None]]:
        return [(value, _NHS_PROBLEMS.get(status)) for value, status in clean_nhs_numbers(vs)]

    def upn_in_bulk(vs: list[Any]) -> list[tuple[Any, str | None]]:
        return [(r.value, _UPN_PROBLEMS.get(r.status)) for r in clean_upns(vs)]

    def upn(v: Any) -> tuple[Any, str | None]:
        r = clean_upn(v)
        return (r.value, _UPN_PROBLEMS.get(r.status))

    def dob(v: Any) -> tuple[Any, str | None]:
        r = parse_date(v, formats, today=today, estimated_day=estimated_day)
        return (r.iso, _DATE_PROBLEMS.get(r.status))

    def uprn(v: Any) -> tuple[Any, str | None]:
        value = clean_uprn(v)
        return (value, None) if value else (None, "UPRN is not 1 to 12 digits")

    def postcode(v: Any) -> tuple[Any, str | None]:
        p = clean_postcode(v)
        return (p.value, None) if p else (None, "not a postcode")

    def sex(v: Any) -> tuple[Any, str | None]:
        if not is_known_sex_code(v):
            return (None, "unknown sex code")
        return (clean_sex(v), None)

    check("nhs_number", nhs, nhs_in_bulk)
    check("upn", upn, upn_in_bulk)
    check("former_upn", upn, upn_in_bulk)
    for column in DATE_COLUMNS:
        check(column, dob)
    check("uprn", uprn)
    check("postcode", postcode)
    _note_postcodes_from_elsewhere(path, out["postcode"], rejects)
    check("sex", sex)

    contract = list(CANONICAL_COLUMNS)
    out[contract] = out[contract].astype(object).where(out[contract].notna(), None)
    out["source"] = source or path.stem
    out["agency"] = config.agency or source or path.stem
    out["row_number"] = lines.astype("int64")
    out["attributes"] = _attributes_json(frame, sorted(extras))
    return out.reset_index(drop=True), dates


def _stripped(column: pd.Series) -> list[Any]:
    """A column's text without surrounding whitespace, an empty cell None (one list pass, not
    a data frame's per-cell ``map``, which also infers a dtype the next line throws away)."""
    return [(v.strip() or None) if isinstance(v, str) else v for v in column.tolist()]


def _present(value: Any) -> bool:
    # Empty cells are absent, not NaN: NaN is not JSON, and an empty marker is no marker.
    return value is not None and value == value and value != ""


def _attributes_json(frame: pd.DataFrame, names: list[str]) -> list[str]:
    """Each row's extra columns as the JSON object ``json.dumps`` makes of its present values,
    keys in sorted order. Each distinct ``"key": value`` pair is encoded once and Arrow joins a
    row's pairs (``json.dumps`` of a dict is its pairs joined by ", " inside braces), instead of
    a dictionary and an encoder call per row; a column of anything but text, or two columns of
    one name, take the row-by-row way."""
    if not names:
        return ["{}"] * len(frame)
    if len(set(frame.columns)) != len(frame.columns):
        return _attributes_json_by_row(frame, names)
    # Each present pair comes with the ", " before it; a row's pairs joined end to end then
    # start with one ", " too many, sliced off.
    pieces = []
    try:
        for name in names:
            distinct = Distinct(frame[name])
            if not all(type(v) is str for v in distinct.values):
                # 1 and 1.0 are one distinct value to pandas but two spellings to JSON.
                return _attributes_json_by_row(frame, names)
            key = json.dumps(name)
            encoded = pa.array([*(f", {key}: {json.dumps(v)}" if _present(v) else ""
                                  for v in distinct.values), ""], type=pa.string())
            codes = np.where(distinct.codes < 0, len(distinct), distinct.codes)
            pieces.append(pc.take(encoded, pa.array(codes)))
    except TypeError:  # an unhashable value (a list in a cell)
        return _attributes_json_by_row(frame, names)
    joined = pc.utf8_slice_codeunits(pc.binary_join_element_wise(*pieces, ""), 2)
    return pc.binary_join_element_wise("{", joined, "}", "").to_pylist()


def _attributes_json_by_row(frame: pd.DataFrame, names: list[str]) -> list[str]:
    """One row's dictionary at a time (not a million of them at once), in sorted key order."""
    columns = [frame[c].tolist() for c in names]
    return [json.dumps({k: v for k, v in zip(names, values, strict=True) if _present(v)})
            for values in zip(*columns, strict=True)]


def _date_choice(
    out: pd.DataFrame, config: SourceConfig, format_dates: tuple[str, ...] | None
) -> DateFormatChoice:
    """Declared in the YAML, else defined by the file's format, else detected from the values
    (issue 14.3): the choice goes into the run summary so an operator can see and correct it."""
    declared = config.declared_formats("dob")
    if declared:
        return DateFormatChoice(declared, "declared")
    if format_dates:
        return DateFormatChoice(format_dates, "format")
    values = [v for column in DATE_COLUMNS for v in out[column].dropna().tolist()
              if isinstance(v, str)]
    return detect_date_format(values)


def _whole_column_problem(
    column: str, count: int, problem: str, path: Path, formats: tuple[str, ...]
) -> str:
    setting = (f"date_formats.dob in {path.with_suffix('.yaml').name} (now "
               f"{', '.join(formats)})" if column in DATE_COLUMNS
               else f"columns.{column} in {path.with_suffix('.yaml').name}")
    return (f"all {count} values rejected, most as: {problem}; the whole column is set to null. "
            f"Check {setting}")


def _note_postcodes_from_elsewhere(path: Path, postcodes: pd.Series, rejects: list[Reject]) -> None:
    """One line for the whole file, not one per row: a source from outside the UK would otherwise
    fill the report with thousands of rows that all say the same thing, hiding the real problems.
    The values are kept (they still say "same place" when equal), so this is a note, not a reject.
    """
    kept = postcodes.dropna()
    is_uk = {v: clean_postcode(v).is_uk for v in kept.unique()}  # type: ignore[union-attr]  # dropna() left only strings, each a parsed postcode
    elsewhere = int((~kept.map(is_uk).astype(bool)).sum())
    if elsewhere:
        rejects.append(Reject(
            str(path), None, "postcode",
            f"{elsewhere} postcode(s) not in the UK format: kept for exact comparison only "
            "(no district or sector)"))


def _read_relationships(
    path: Path, source: str, record_ids: set[str], rejects: list[Reject]
) -> pd.DataFrame:
    frame = _read_table(path)
    missing = [c for c in RELATIONSHIP_COLUMNS if c not in frame.columns]
    if missing:
        raise ExtractError(f"{path}: required column {missing[0]!r} is missing")
    frame = frame[list(RELATIONSHIP_COLUMNS)].astype(object)
    for position in range(frame.shape[1]):
        frame.isetitem(position, [v.strip() if isinstance(v, str) else ""
                                  for v in frame.iloc[:, position].tolist()])
    # Checked a column at a time; only the rows with a problem are walked, in file order, so
    # the rejects come out as they did row by row.
    known = {column: np.fromiter((v in record_ids for v in frame[column].tolist()), dtype=bool,
                                 count=len(frame))
             for column in ("record_id", "related_record_id")}
    named = (frame["relationship"] != "").to_numpy(dtype=bool)
    keep = known["record_id"] & known["related_record_id"] & named
    for offset in np.flatnonzero(~keep).tolist():
        line = offset + 2
        for column in ("record_id", "related_record_id"):
            if not known[column][offset]:
                rejects.append(Reject(str(path), line, column, f"not a record_id in {source}"))
        if not named[offset]:
            rejects.append(Reject(str(path), line, "relationship", "relationship is empty"))
    out = frame[keep].copy()
    out["relationship"] = out["relationship"].str.lower()
    out.insert(0, "source", source)
    return out.reset_index(drop=True)
