"""The reject report: every field a run set to null, and why — never the value itself.

A problem that concerns a whole file (every postcode in a foreign format, say) is one line with no
row number, so the rows that need fixing are not buried under it.
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Reject", "summarise_rejects", "write_reject_report"]


@dataclass(frozen=True, slots=True)
class Reject:
    file: str
    row: int | None  # line in the file (header is line 1); None for a file-level note
    field: str
    problem: str


def write_reject_report(rejects: Sequence[Reject], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["file", "row", "field", "problem"])
        for r in rejects:
            writer.writerow([r.file, "" if r.row is None else r.row, r.field, r.problem])


def summarise_rejects(rejects: Iterable[Reject]) -> dict[str, int]:
    return dict(Counter(f"{r.field}: {r.problem}" for r in rejects).most_common())
