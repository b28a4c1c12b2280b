"""Look-up queries drawn from a generated population, for benchmarking real-time matching.

A query is what a practitioner types in at the front door: a name, a date of birth, an address
and, about half the time, an NHS number — with the same kinds of error the extracts carry, drawn
afresh so a query is never a copy of any record. Only people some agency holds are drawn, so every
query has a right answer (``true_person_id``).
"""

from __future__ import annotations

import csv
import random
from datetime import date
from pathlib import Path
from typing import Final

from linkage.contract import CANONICAL_COLUMNS
from linkage.synth.errors import Corruptor, ErrorRates
from linkage.synth.places import Address

__all__ = ["QUERY_COLUMNS", "draw_queries"]

#: A look-up carries what a caller types in: not a local ID, nor the former identifiers and
#: expected date an extract may hold (the query file's layout stays as benchmarks read it).
_NOT_ASKED: Final = frozenset({"local_id", "former_upn", "former_family_name", "uprn",
                               "expected_dob"})
QUERY_COLUMNS: Final = (*(c for c in CANONICAL_COLUMNS if c not in _NOT_ASKED),
                        "true_person_id")


def _address(text: str, postcode: str) -> Address | None:
    if not text:
        return None
    line, _, town = text.rpartition(", ")
    return Address(line, town, postcode)


def _eligible(row: dict[str, str]) -> bool:
    return row["role"] != "unborn" and row["records"] != "0"


def draw_queries(out_dir: Path, n: int, seed: int, *, rates: ErrorRates | None = None) -> Path:
    """Write ``out_dir/queries/queries.csv``: ``n`` people drawn from ``out_dir/truth/persons.csv``.

    The file goes into a folder of its own: ``kinlink link --sources out_dir`` reads every CSV at
    the top of the folder as an agency's extract, and look-ups are not one. Reads the persons file
    twice (count, then pick) so memory does not grow with the population.
    """
    out_dir = Path(out_dir)
    persons = out_dir / "truth" / "persons.csv"
    if not persons.exists():
        raise FileNotFoundError(f"{persons}: no population here; run generate_population first")
    if n < 0:
        raise ValueError("n must not be negative")
    rng = random.Random(f"queries-{seed}")
    fix = Corruptor(rng, rates or ErrorRates())
    with open(persons, encoding="utf-8", newline="") as f:
        total = sum(1 for row in csv.DictReader(f) if _eligible(row))
    if total == 0 and n:
        raise ValueError(f"{persons}: no person with a record to draw from")
    picks = rng.sample(range(total), n) if n <= total else [rng.randrange(total) for _ in range(n)]
    wanted: dict[int, list[int]] = {}
    for order, index in enumerate(picks):
        wanted.setdefault(index, []).append(order)
    chosen: list[dict[str, str] | None] = [None] * n
    with open(persons, encoding="utf-8", newline="") as f:
        index = 0
        for row in csv.DictReader(f):
            if not _eligible(row):
                continue
            for order in wanted.get(index, ()):
                chosen[order] = row
            index += 1

    path = out_dir / "queries" / "queries.csv"
    path.parent.mkdir(exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(QUERY_COLUMNS)
        for number, picked in enumerate(chosen, start=1):
            assert picked is not None
            writer.writerow(_query(fix, rng, picked, f"q{number:06d}"))
    return path


def _query(fix: Corruptor, rng: random.Random, row: dict[str, str], record_id: str) -> list[str]:
    errs: list[str] = []
    others = tuple(s for s in row["other_family_names"].split("|") if s)
    current = _address(row["address"], row["postcode"])
    assert current is not None
    postcode, address = fix.address(
        current, _address(row["previous_address"], row["previous_postcode"]), 1.0, 1.0, errs
    )
    adult = row["role"] != "child"
    nhs = fix.nhs_number(row["nhs_number"], "", errs) if rng.random() < 0.5 else ""
    upn = fix.upn(row["upn"], errs) if row["upn"] and rng.random() < 0.15 else ""
    values = {
        "record_id": record_id,
        "nhs_number": nhs,
        "upn": upn,
        "given_name": fix.noise(
            fix.given_name(
                row["given_name"], row["preferred_name"], fix.rates.preferred_name, errs
            ),
            errs,
        ),
        "middle_names": fix.middle_names(tuple(row["middle_names"].split()), 0.3, errs),
        "family_name": fix.noise(fix.family_name(row["family_name"], others, 1.0, errs), errs),
        "dob": fix.dob(date.fromisoformat(row["dob"]), 1.5 if adult else 1.0, 1.0, errs),
        "sex": fix.sex(row["sex"], 1.0, errs),
        "postcode": fix.noise(postcode, errs),
        "address": fix.noise(address, errs),
        "true_person_id": row["person_id"],
    }
    return [values[c] for c in QUERY_COLUMNS]
