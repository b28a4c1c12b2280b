"""The comparison levels guarded for speed (``ONE_DIGIT_DOB_SQL``, ``HOUSE_POSTCODE_TYPO_SQL``)
give every pair the answer the unguarded edit distance gives: a guard that dropped a true
"one digit different" would quietly cost matches."""

from __future__ import annotations

import datetime as dt
import random

import duckdb

from linkage.model.comparisons import (
    HOUSE_POSTCODE_TYPO_SQL,
    ONE_DIGIT_DOB_SQL,
    STREET_WORDS_WITHIN_SQL,
)


def _one_edit_variants(date: str) -> set[str]:
    """Every valid ISO date one substitution or adjacent transposition away."""
    found: set[str] = set()
    for i in range(len(date)):
        for digit in "0123456789":
            found.add(date[:i] + digit + date[i + 1:])
        if i + 1 < len(date):
            found.add(date[:i] + date[i + 1] + date[i] + date[i + 2:])
    valid = set()
    for text in found - {date}:
        try:
            dt.date.fromisoformat(text)
        except ValueError:
            continue
        valid.add(text)
    return valid


def test_one_digit_dob_guard_agrees_with_the_edit_distance_on_valid_dates() -> None:
    rng = random.Random(7)
    start = dt.date(1920, 1, 1)
    dates = [(start + dt.timedelta(days=rng.randrange(40_000))).isoformat() for _ in range(60)]
    pairs = [(a, b) for a in dates for b in _one_edit_variants(a)]
    pairs += [(a, b) for a in dates for b in dates]
    with duckdb.connect() as con:
        con.execute("CREATE TABLE p (dob_l VARCHAR, dob_r VARCHAR)")
        con.executemany("INSERT INTO p VALUES (?, ?)", [*pairs, (None, dates[0]), (None, None)])
        disagree, guarded = con.execute(
            f"SELECT count(*) FILTER (WHERE coalesce({ONE_DIGIT_DOB_SQL}, false) "
            "<> coalesce(damerau_levenshtein(dob_l, dob_r) <= 1, false)), "
            f"count(*) FILTER (WHERE {ONE_DIGIT_DOB_SQL}) FROM p").fetchone()
    assert disagree == 0
    # The variants are most of the pairs: the guard let them through.
    assert guarded >= len(pairs) - len(dates) ** 2


def test_house_postcode_typo_guard_keeps_the_unguarded_answer() -> None:
    unguarded = (
        "split_part(address_line_key_l, '|', 1) = split_part(address_line_key_r, '|', 1) "
        "AND damerau_levenshtein(CAST(postcode_l AS VARCHAR), CAST(postcode_r AS VARCHAR)) <= 1 "
        "AND (damerau_levenshtein(split_part(address_line_key_l, '|', 2), "
        f"split_part(address_line_key_r, '|', 2)) <= 2 OR {STREET_WORDS_WITHIN_SQL})")
    rows = []
    for number in ("12", "14", None):
        for street in ("mill lane leeds", "mil lane leeds", "mill road leeds",
                       "mill lane headingley leeds", "headingley mill lane leeds"):
            for postcode in ("LS6 2AB", "LS6 2AD", "LS62AB", "M1 1AA", None):
                rows.append((f"{number}|{street}" if number else None, postcode))
    pairs = [(*a, *b) for a in rows for b in rows]
    with duckdb.connect() as con:
        con.execute("CREATE TABLE p (address_line_key_l VARCHAR, postcode_l VARCHAR, "
                    "address_line_key_r VARCHAR, postcode_r VARCHAR)")
        con.executemany("INSERT INTO p VALUES (?, ?, ?, ?)", pairs)
        disagree, held = con.execute(
            f"SELECT count(*) FILTER (WHERE coalesce({HOUSE_POSTCODE_TYPO_SQL}, false) "
            f"<> coalesce({unguarded}, false)), count(*) FILTER (WHERE {HOUSE_POSTCODE_TYPO_SQL}) "
            "FROM p").fetchone()
    assert disagree == 0
    assert held > 0
