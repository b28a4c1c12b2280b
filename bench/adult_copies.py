"""Adults, each written many times over, with fields missing: the shape of the public labelled
sets of adults that other engines are checked on, which none of the project's other populations
has (ours hold each child a few times at most, one copy per agency).

    python bench/adult_copies.py --out DIR [--people 5000] [--seed 21]
    python bench/linkage.py --sources DIR --truth DIR/truth/truth.csv   # beside plain Splink

One source (``DIR/register.csv``, the extract contract's columns) holding every copy, and
``DIR/truth/truth.csv``. Only adults (born 1920-2000), no identifiers, no address line: names,
date of birth, sex and a postcode, as a register compiled from many older lists gives them. The
names, towns, postcodes and typing slips are ``bench/independent_population.py``'s, so nothing
here is drawn from ``linkage/``.

Rates, per copy (chosen for a register built from many lists, not tuned against kinlink):
  copies per person: 1 + a geometric draw with mean 9 (so ~10 on average, a few with 30+)
  given name missing 15 %, a diminutive where the name has one 15 %, the middle name in its
    place 4 %, a typo 8 %; family name missing 12 %, a typo 8 %, a married/maiden other name
    for women 8 %
  date of birth missing 20 %, one digit mistyped 6 %, day and month swapped 2 %, the year only
    (1 January) 3 %, another year 3 %
  sex missing 10 %; postcode missing 25 %, another postcode (an earlier home) 20 %, a typo 4 %
"""

from __future__ import annotations

import argparse
import csv
import random
import sys
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.independent_population import (
    _CONTRACT,
    _DIMINUTIVES,
    _MEN,
    _WOMEN,
    _draw_heritage,
    _first_name,
    _format_postcode,
    _Places,
    _surname,
    _typo,
)


def _copies(rng: random.Random) -> int:
    count = 1
    while rng.random() < 0.9:
        count += 1
    return count


def _mistype_date(rng: random.Random, dob: date) -> str:
    text = dob.isoformat()
    for _ in range(10):
        i = rng.choice([2, 3, 5, 6, 8, 9])
        out = text[:i] + str(rng.randint(0, 9)) + text[i + 1:]
        try:
            date.fromisoformat(out)
        except ValueError:
            continue
        if out != text:
            return out
    return text


def _observed_dob(rng: random.Random, dob: date) -> str:
    r = rng.random()
    if r < 0.20:
        return ""
    if r < 0.26:
        return _mistype_date(rng, dob)
    if r < 0.28 and dob.day <= 12 and dob.day != dob.month:
        return date(dob.year, dob.day, dob.month).isoformat()
    if r < 0.31:
        return date(dob.year, 1, 1).isoformat()
    if r < 0.34:
        return dob.replace(year=dob.year + rng.choice([-2, -1, 1, 2])).isoformat() \
            if not (dob.month == 2 and dob.day == 29) else dob.isoformat()
    return dob.isoformat()


def _observed_name(rng: random.Random, name: str, missing: float, other: str | None,
                   replace: float) -> str:
    r = rng.random()
    if r < missing:
        return ""
    if other and r < missing + replace:
        name = other
    if rng.random() < 0.08:
        name = _typo(rng, name)[0]
    return name


def generate(out: Path, people: int = 5000, seed: int = 21) -> int:
    """Write the register and its truth; return the number of records."""
    rng = random.Random(seed)
    places = _Places(rng, families=max(1, people // 2))
    out.mkdir(parents=True, exist_ok=True)
    (out / "truth").mkdir(exist_ok=True)
    rows, truth = [], []
    start = date(1920, 1, 1)
    for p in range(people):
        sex = rng.choice("MF")
        heritage = _draw_heritage(rng)
        given = _first_name(rng, _MEN if sex == "M" else _WOMEN, heritage, set())
        middle = _first_name(rng, _MEN if sex == "M" else _WOMEN, heritage, {given})
        family = _surname(rng, heritage)
        other_family = _surname(rng, heritage) if sex == "F" else None
        dob = start + timedelta(days=rng.randrange(80 * 365))
        homes = [places.address().postcode for _ in range(rng.randint(1, 3))]
        for c in range(_copies(rng)):
            nickname = _DIMINUTIVES.get(given)
            shown = given
            r = rng.random()
            if nickname and r < 0.15:
                shown = rng.choice(nickname)
            elif 0.15 <= r < 0.19:
                shown = middle
            record_id = f"r{p}-{c}"
            postcode = ""
            r = rng.random()
            if r >= 0.25:
                postcode = homes[0] if r >= 0.45 or len(homes) == 1 else rng.choice(homes[1:])
                if rng.random() < 0.04:
                    postcode = _typo(rng, postcode)[0]
                postcode = _format_postcode(rng, postcode)
            row = dict.fromkeys(_CONTRACT, "")
            row.update(record_id=record_id,
                       given_name=_observed_name(rng, shown, 0.15, None, 0.0),
                       family_name=_observed_name(rng, family, 0.12, other_family, 0.08),
                       dob=_observed_dob(rng, dob), sex="" if rng.random() < 0.10 else sex,
                       postcode=postcode)
            rows.append(row)
            truth.append(("register", record_id, f"p{p}"))
    rng.shuffle(rows)
    with (out / "register.csv").open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(_CONTRACT))
        writer.writeheader()
        writer.writerows(rows)
    with (out / "truth" / "truth.csv").open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["source", "record_id", "person_id"])
        writer.writerows(truth)
    return len(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--people", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=21)
    args = parser.parse_args()
    print(f"{generate(args.out, args.people, args.seed):,} records in {args.out}")


if __name__ == "__main__":
    main()
