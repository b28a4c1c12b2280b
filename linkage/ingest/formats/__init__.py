"""Readers for the files agencies actually hold, chosen by file type and content.

One module per format; each returns a :class:`FormatExtract` of contract-named raw rows, which
``linkage.ingest.reader`` then cleans exactly as it cleans a canonical CSV. ``detect_format``
says which reader a file (or folder of tables) needs; a source's ``format:`` in its YAML wins
when the content is ambiguous.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Final

from lxml import etree

from linkage.ingest.errors import ExtractError
from linkage.ingest.formats.base import FormatExtract, csv_header
from linkage.ingest.formats.census import is_census_header, read_census
from linkage.ingest.formats.cin import read_cin
from linkage.ingest.formats.csc_api import read_csc_api
from linkage.ingest.formats.ctf import read_ctf
from linkage.ingest.formats.fhir import read_fhir
from linkage.ingest.formats.pds import is_pds_header, read_pds_response
from linkage.ingest.formats.ssd import is_ssd_folder, read_ssd
from linkage.ingest.formats.ssda903 import is_903_folder, read_903

__all__ = ["CANONICAL", "FORMAT_NAMES", "READERS", "FormatExtract", "detect_format"]

#: The contract's own layout (CSV or Parquet), read by ``linkage.ingest.reader`` itself.
CANONICAL: Final = "csv"
READERS: Final[dict[str, Callable[[Path], FormatExtract]]] = {
    "ctf": read_ctf,
    "census": read_census,
    "cin": read_cin,
    "903": read_903,
    "ssd": read_ssd,
    "csc-api": read_csc_api,
    "fhir": read_fhir,
    "pds": read_pds_response,
}
FORMAT_NAMES: Final = (CANONICAL, *READERS)
#: File suffixes that can hold a source (besides folders of tables).
SOURCE_SUFFIXES: Final = (".csv", ".parquet", ".xml", ".json", ".ndjson")
_XML_ROOTS: Final = {"CTfile": "ctf", "Message": "cin"}


def detect_format(path: Path) -> str | None:
    """The reader ``path`` needs, or None when it is not a source at all (a folder of notes)."""
    if path.is_dir():
        if is_903_folder(path):
            return "903"
        if is_ssd_folder(path):
            return "ssd"
        if (path / "pupilonroll.csv").exists():
            return "census"
        return None
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        return CANONICAL
    if suffix == ".csv":
        header = csv_header(path)
        if is_pds_header(header):
            return "pds"
        if is_census_header(header):
            return "census"
        return CANONICAL
    if suffix == ".ndjson":
        return "fhir"
    if suffix == ".xml":
        return _xml_format(path)
    if suffix == ".json":
        return _json_format(path)
    return None


def _xml_format(path: Path) -> str:
    root = _xml_root(path)
    fmt = _XML_ROOTS.get(root)
    if fmt is None:
        raise ExtractError(f"{path}: root element <{root}> is not a format kinlink reads "
                           f"(expected {' or '.join(f'<{r}>' for r in _XML_ROOTS)})")
    return fmt


def _xml_root(path: Path) -> str:
    """The root element's local name, from the first start event only (never the whole file)."""
    try:
        for _event, element in etree.iterparse(str(path), events=("start",),
                                                resolve_entities=False, load_dtd=False,
                                                no_network=True):
            return etree.QName(element).localname
    except etree.XMLSyntaxError as exc:
        raise ExtractError(f"{path}: line {exc.lineno or '?'}: not well-formed XML "
                           f"({exc.msg})") from exc
    raise ExtractError(f"{path}: empty XML document")


def _json_format(path: Path) -> str:
    """FHIR (a Bundle names its resourceType) or the CSC API payload (``Children``), from the
    first few kilobytes."""
    with path.open("rb") as handle:
        head = handle.read(4096).decode("utf-8", errors="replace")
    if '"resourceType"' in head:
        return "fhir"
    if '"Children"' in head or '"la_child_id"' in head:
        return "csc-api"
    raise ExtractError(f"{path}: JSON that is neither a FHIR Bundle (resourceType) nor a DfE "
                       "CSC API payload (Children); name the format in its YAML")
