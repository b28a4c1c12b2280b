"""Writing extracts, their configuration files and the truth, in bounded memory.

Families are generated one after another, so rows arrive grouped by family. An extract in that
order would let a linkage model learn row adjacency instead of evidence, so every extract is
shuffled: rows go to random bucket files on disk and each bucket is shuffled into the final file.
Memory is one bucket, whatever the population size.
"""

from __future__ import annotations

import csv
import random
import shutil
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Final, Self

__all__ = ["BUCKET_ROWS", "CsvOut", "ShuffledCsv", "source_yaml"]

#: Rows per shuffle bucket (about 10 MB of CSV).
BUCKET_ROWS: Final = 60_000


class ShuffledCsv:
    """A CSV whose rows come out in random order, shuffled through bucket files on disk."""

    def __init__(
        self, path: Path, header: Sequence[str], expected_rows: int, rng: random.Random
    ) -> None:
        self.path = path
        self.rows = 0
        self._header = list(header)
        self._rng = rng
        self._parts = path.with_name(f".{path.name}.parts")
        shutil.rmtree(self._parts, ignore_errors=True)
        self._parts.mkdir(parents=True)
        count = max(1, -(-expected_rows // BUCKET_ROWS))
        self._files = [
            open(self._parts / f"{i}.csv", "w", newline="", encoding="utf-8")  # noqa: SIM115
            for i in range(count)
        ]
        self._writers = [csv.writer(f, lineterminator="\n") for f in self._files]

    def write(self, row: Sequence[str]) -> None:
        self._writers[self._rng.randrange(len(self._writers))].writerow(row)
        self.rows += 1

    def close(self) -> None:
        with open(self.path, "w", newline="", encoding="utf-8") as out:
            csv.writer(out, lineterminator="\n").writerow(self._header)
            for part in self._files:
                part.close()
                with open(part.name, encoding="utf-8") as f:
                    lines = f.readlines()
                self._rng.shuffle(lines)
                out.writelines(lines)
        shutil.rmtree(self._parts, ignore_errors=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if kind is None:
            self.close()
        else:
            for part in self._files:
                part.close()
            shutil.rmtree(self._parts, ignore_errors=True)


class CsvOut:
    """A plain CSV written in generation order (truth and relationship files)."""

    def __init__(self, path: Path, header: Sequence[str]) -> None:
        self.path = path
        self.rows = 0
        self._file = open(path, "w", newline="", encoding="utf-8")  # noqa: SIM115
        self._writer = csv.writer(self._file, lineterminator="\n")
        self._writer.writerow(header)

    def write(self, row: Sequence[str]) -> None:
        self._writer.writerow(row)
        self.rows += 1

    def close(self) -> None:
        self._file.close()


def source_yaml(agency: str, categories: dict[str, str], mapping: str = "") -> str:
    """A ``<source>.yaml``: the agency, any column mapping, and the extra columns' categories."""
    lines = [
        f"agency: {agency}"
        + " " * max(1, 26 - len(f"agency: {agency}"))
        + "# the agency (party) this source belongs to"
    ]
    if mapping:
        lines.append(mapping.rstrip("\n"))
    lines.append(
        "categories:               # extra (non-contract) column: data category code for sharing"
    )
    lines += [f"  {column}: {category}" for column, category in categories.items()]
    return "\n".join(lines) + "\n"
