"""The README's example of each format is a file kinlink reads as the README says: written out
where its heading puts it, each reads with its format, at least one record, and no reject."""

from __future__ import annotations

import re
from pathlib import Path

from linkage.ingest import read_sources
from linkage.ingest.formats import READERS

README = Path(__file__).resolve().parents[2] / "README.md"
_SECTION = re.compile(r"<details><summary>One small example of each format.*?</details>", re.S)
_HEADING = re.compile(r"\n`([a-z0-9-]+)` — ([^\n]*):\n")
_BLOCK = re.compile(r"```\w+\n(.*?)```", re.S)


def write_examples(out: Path) -> dict[str, str]:
    """Each example where its heading says (a file, or a folder of the files named); returns
    source name → format."""
    found = _SECTION.search(README.read_text(encoding="utf-8"))
    assert found, "README has no examples section"
    parts = _HEADING.split(found.group(0))
    sources: dict[str, str] = {}
    for fmt, heading, body in zip(parts[1::3], parts[2::3], parts[3::3], strict=True):
        names = re.findall(r"`([^`]+)`", heading)
        blocks = _BLOCK.findall(body)
        if heading.startswith("folder"):
            folder = out / names[0].rstrip("/")
            folder.mkdir()
            for name, block in zip(names[1:], blocks, strict=False):
                (folder / name).write_text(block, encoding="utf-8")
            source = folder.name
        else:
            (out / names[0]).write_text(blocks[0], encoding="utf-8")
            source = names[0].split(".")[0]
        sources[source] = fmt
    return sources


def test_each_readme_example_reads_as_its_format(tmp_path: Path) -> None:
    sources = write_examples(tmp_path)
    assert sorted(sources.values()) == sorted(READERS)     # one example of every format
    result = read_sources(tmp_path)                        # chosen by type and content alone
    assert {name: reading.format for name, reading in result.readings.items()} == sources
    assert all(reading.records >= 1 for reading in result.readings.values())
    assert result.rejects == []
    # Every example is the same child: one UPN or NHS number, one date of birth.
    children = [frame[frame["dob"].notna()] for frame in result.sources.values()]
    assert {d for frame in children for d in frame["dob"]} == {"2016-05-04"}
    assert {tuple(r) for r in result.relationships[["source", "relationship"]].to_numpy()} == {
        ("education", "parent"), ("gp", "mother")}
