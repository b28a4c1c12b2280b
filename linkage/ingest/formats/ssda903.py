"""Children Looked After return (SSDA903): a folder of CSV tables, one row per child in ``header``.

Columns as the DfE specifies them: ``header.csv`` has CHILD, SEX (1 male, 2 female), DOB (d/m/Y),
ETHNIC, UPN, MOTHER, MC_DOB; ``episodes.csv`` has CHILD, DECOM (episode start), HOME_POST and
PL_POST among others. The return carries no names: a child links by UPN, date of birth, sex and
the home postcode of their latest episode.

MOTHER says whether the looked-after child is herself a mother (1/0) and MC_DOB is her baby's date
of birth; neither names another record, so they are kept as ``looked-after`` attributes rather
than relationship rows.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from linkage.ingest.errors import ExtractError
from linkage.ingest.formats.base import FormatExtract, RecordTable, blank_to_none, read_csv_rows

__all__ = ["DATE_FORMAT", "FORMAT", "is_903_folder", "read_903"]

FORMAT: Final = "903"
DATE_FORMAT: Final = "%d/%m/%Y"
SEX: Final = {"1": "M", "2": "F"}
CATEGORIES: Final = {
    "ethnic": "ethnicity", "mother": "looked-after", "mc_dob": "looked-after",
    "episodes": "looked-after", "latest_placement_postcode": "looked-after",
    "latest_legal_status": "looked-after", "restriction": "restricted-marker",
}


def is_903_folder(path: Path) -> bool:
    return path.is_dir() and (path / "header.csv").exists()


def read_903(path: Path) -> FormatExtract:
    header = path / "header.csv"
    if not header.exists():
        raise ExtractError(f"{path}: SSDA903 folder has no header.csv")
    episodes = path / "episodes.csv"
    latest = _latest_episodes(episodes) if episodes.exists() else {}
    rows = RecordTable()
    for line, raw in read_csv_rows(header):
        row = {k.upper(): blank_to_none(v) for k, v in raw.items()}
        if "CHILD" not in row:
            raise ExtractError(f"{header}: required column 'CHILD' is missing")
        child = row.get("CHILD")
        episode = latest.get(child or "", {})
        rows.add(line, {
            "record_id": child,
            "upn": row.get("UPN"),
            "dob": row.get("DOB"),
            "sex": SEX.get(row.get("SEX") or "", row.get("SEX")),
            "postcode": episode.get("HOME_POST"),
            "ethnic": row.get("ETHNIC"),
            "mother": row.get("MOTHER"),
            "mc_dob": row.get("MC_DOB"),
            "episodes": episode.get("count"),
            "latest_placement_postcode": episode.get("PL_POST"),
            "latest_legal_status": episode.get("LS"),
            **{k.lower(): v for k, v in row.items()
               if k not in {"CHILD", "UPN", "DOB", "SEX", "ETHNIC", "MOTHER", "MC_DOB"}},
        })
    files = (header, episodes) if episodes.exists() else (header,)
    return FormatExtract(FORMAT, None, files, rows, [], dict(CATEGORIES), (DATE_FORMAT,), 1)


def _latest_episodes(path: Path) -> dict[str, dict[str, str | None]]:
    """Each child's latest episode (by DECOM) and how many episodes they have."""
    from datetime import datetime

    best: dict[str, tuple[str, dict[str, str | None]]] = {}
    counts: dict[str, int] = {}
    for _line, raw in read_csv_rows(path):
        row = {k.upper(): blank_to_none(v) for k, v in raw.items()}
        child = row.get("CHILD")
        if not child:
            continue
        counts[child] = counts.get(child, 0) + 1
        try:
            key = datetime.strptime(row.get("DECOM") or "", DATE_FORMAT).date().isoformat()
        except ValueError:
            key = ""
        if child not in best or key >= best[child][0]:
            best[child] = (key, row)
    return {c: {**r, "count": str(counts[c])} for c, (_k, r) in best.items()}
