"""What every format reader hands back, and the safe XML and CSV reading they share.

A reader turns one agency file (or one folder of tables) into rows named by the contract
(``linkage.contract``) plus the format's other fields, which stay attributes with a data category a
sharing agreement can name. Cleaning and validating the values is not the reader's job: every
format goes through the same checks as a canonical CSV, so a bad NHS number is reported the same
way whichever file it came in.
"""

from __future__ import annotations

import csv
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import ijson
from lxml import etree

from linkage.ingest.errors import ExtractError
from linkage.ingest.rejects import Reject

__all__ = [
    "FormatExtract",
    "JsonLines",
    "RecordTable",
    "XmlRecords",
    "child_text",
    "leaf_texts",
    "local_name",
    "read_csv_rows",
]

_ENCODINGS: Final = ("utf-8-sig", "cp1252")


class RecordTable:
    """Rows gathered column by column: a million records as lists of shared strings, not a
    million dictionaries (the 1M-record CTF reads in a third of the memory this way)."""

    def __init__(self) -> None:
        self.columns: dict[str, list[str | None]] = {}
        self.lines: list[int] = []

    def __len__(self) -> int:
        return len(self.lines)

    def add(self, line: int, values: dict[str, str | None]) -> None:
        count = len(self.lines)
        for key, value in values.items():
            column = self.columns.get(key)
            if column is None:
                column = self.columns[key] = [None] * count
            column.append(value)
        self.lines.append(line)
        for column in self.columns.values():
            if len(column) == count:
                column.append(None)


@dataclass
class FormatExtract:
    """One source as a format reader saw it; ``rows`` are raw text, cleaned later like any CSV."""

    format: str
    version: str | None
    files: tuple[Path, ...]
    rows: RecordTable
    #: (record_id, related_record_id, relationship) with the relative first, as the contract has it
    relationships: list[tuple[str, str, str]] = field(default_factory=list)
    #: extra column → data category code
    categories: dict[str, str] = field(default_factory=dict)
    #: the date format(s) the format's specification defines, or None (detect)
    date_formats: tuple[str, ...] | None = None
    #: the day the format writes when only a month is known
    estimated_day: int = 1
    #: records the reader could not take at all (a FHIR resource that does not parse)
    rejects: list[Reject] = field(default_factory=list)


def local_name(element: etree._Element) -> str:
    return etree.QName(element).localname


def child_text(element: etree._Element, *paths: str) -> str | None:
    """The first non-empty text among ``paths`` ('/'-separated element names).

    Plain names, no namespace: ``XmlRecords`` refuses a namespaced document at its root, and
    lxml's own ``findtext`` is what keeps a million pupils to seconds.
    """
    for path in paths:
        text = element.findtext(path)
        if text and text.strip():
            return text.strip()
    return None


def leaf_texts(element: etree._Element) -> dict[str, str]:
    """Every non-empty leaf text under ``element`` by its path ('BasicDetails/Surname'), first
    one kept: one pass over the record instead of one search per field."""
    out: dict[str, str] = {}
    stack: list[tuple[etree._Element, str]] = [(element, "")]
    while stack:
        node, prefix = stack.pop()
        for child in reversed(node):
            tag = child.tag
            if not isinstance(tag, str):
                continue
            path = f"{prefix}{tag}"
            if len(child):
                stack.append((child, f"{path}/"))
            else:
                text = child.text
                if text and (text := text.strip()):
                    out.setdefault(path, text)
    return out


class XmlRecords:
    """Stream the record elements of a large XML file, refusing what could harm the reader.

    lxml's iterparse with entity expansion, DTD loading and network access all off, and any
    DOCTYPE refused outright: an agency file has no business declaring entities, and a file that
    does is either broken or an attack (billion laughs, external entities reading local files).
    Each record element is cleared once handed over, so memory stays one record deep.
    """

    def __init__(self, path: Path, root: str, records: frozenset[str]) -> None:
        self.path = path
        self.root = root
        self.records = records

    def __iter__(self) -> Iterator[etree._Element]:
        try:
            context = etree.iterparse(
                str(self.path), events=("start", "end"), resolve_entities=False,
                load_dtd=False, no_network=True, huge_tree=False, dtd_validation=False,
                remove_comments=True)
            depth = 0
            for event, element in context:
                if event == "start":
                    depth += 1
                    if depth == 1:
                        self._check_root(element)
                    continue
                depth -= 1
                if not isinstance(element.tag, str):
                    raise ExtractError(
                        f"{self.path}: line {element.sourceline}: an XML entity reference is "
                        "refused (files must not declare or use entities)")
                if local_name(element) in self.records:
                    yield element
                    element.clear(keep_tail=False)
                    while element.getprevious() is not None:
                        del element.getparent()[0]
        except etree.XMLSyntaxError as exc:
            line = exc.lineno if exc.lineno else "?"
            raise ExtractError(
                f"{self.path}: line {line}: not well-formed XML ({exc.msg})") from exc
        except OSError as exc:
            raise ExtractError(f"{self.path}: cannot be read ({exc})") from exc

    def _check_root(self, element: etree._Element) -> None:
        doctype = element.getroottree().docinfo.doctype
        if doctype:
            raise ExtractError(
                f"{self.path}: line 1: a DOCTYPE/DTD is refused (entity declarations are not "
                "allowed in agency files)")
        qname = etree.QName(element)
        if qname.namespace:
            raise ExtractError(
                f"{self.path}: line {element.sourceline}: element <{qname.localname}> is in "
                f"namespace {qname.namespace!r}; this reader knows the un-namespaced DfE layout")
        if qname.localname != self.root:
            raise ExtractError(
                f"{self.path}: line {element.sourceline}: root element is <{qname.localname}>, "
                f"expected <{self.root}>")


class JsonLines:
    """A binary JSON file that hands ijson at most one line per read, so the line the parser is
    on is known: a Bundle entry or CSC API child is named by the line it starts on, and a file
    cut short by the line where it breaks. (ijson reports no positions of its own; yajl parses
    each chunk it is given before asking for the next, so the line of the chunk being parsed is
    the line of its events. One line a read costs ~1 s per 50,000 one-line entries.)
    """

    def __init__(self, handle: Any) -> None:
        self.handle = handle
        self.line = 0       # the line of the last byte handed over
        self._next = 1

    def read(self, size: int = -1) -> bytes:
        if size == 0:
            return b""      # ijson's probe for text or bytes must not consume a line
        data: bytes = self.handle.readline(size if size > 0 else -1)
        if data:
            self.line = self._next
            if data.endswith(b"\n"):
                self._next += 1
        return data

    def items(self, prefix: str) -> Iterator[tuple[int, Any]]:
        """(line the item starts on, item) for each item under ``prefix``, streamed."""
        starts: deque[int] = deque()

        def events() -> Iterator[tuple[str, str, Any]]:
            for key, event, value in ijson.parse(self, use_float=True):
                # An item's first event: its start, or the item itself when it is a scalar
                # (a key or end event carries the prefix of the object it belongs to).
                if key == prefix and event not in ("map_key", "end_map", "end_array"):
                    starts.append(self.line)
                yield key, event, value

        for item in ijson.items(events(), prefix):
            yield (starts.popleft() if starts else self.line), item

    @staticmethod
    def where(lines: JsonLines | None) -> str:
        """``line N: `` for an error message, when a line is known."""
        return f"line {lines.line}: " if lines is not None and lines.line else ""


def read_csv_rows(path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    """(line, row) for each data row of a CSV, in the first encoding that reads the whole file."""
    for encoding in _ENCODINGS:
        try:
            # Line by line: the check must not hold a million-row file as one string.
            with path.open(encoding=encoding, newline="") as handle:
                for _line in handle:
                    pass
        except UnicodeDecodeError:
            continue
        except OSError as exc:
            raise ExtractError(f"{path}: cannot be read ({exc})") from exc
        break
    else:
        raise ExtractError(f"{path}: unknown text encoding")
    with path.open(encoding=encoding, newline="") as handle:
        reader = csv.DictReader(handle)
        if not reader.fieldnames:
            raise ExtractError(f"{path}: file is empty (no header row)")
        try:
            for row in reader:
                yield reader.line_num, {k.strip(): (v or "") for k, v in row.items()
                                        if k is not None}
        except csv.Error as exc:
            raise ExtractError(f"{path}: line {reader.line_num}: not a readable CSV ({exc})") \
                from exc


def csv_header(path: Path) -> list[str]:
    """The header row of a CSV, as written (for telling formats apart)."""
    try:
        with path.open(encoding="utf-8-sig", errors="replace", newline="") as handle:
            return [h.strip() for h in next(csv.reader(handle), [])]
    except OSError as exc:
        raise ExtractError(f"{path}: cannot be read ({exc})") from exc


def blank_to_none(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    return value or None
