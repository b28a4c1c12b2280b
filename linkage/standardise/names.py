"""Names: one spelling per name, tokens for double-barrelled surnames, diminutives, phonetic keys.

Case, accents, apostrophes and stray spaces differ between agencies for no reason a person would
care about (O'Brien, OBRIEN, o brien); a diminutive (Bill for William) or one half of a
double-barrelled surname is the same person recorded differently. Placeholder given names ("Baby",
"Unborn") say nothing about who the child is and are removed, with a flag.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from functools import cache
from importlib import resources
from typing import Final

import jellyfish

__all__ = [
    "canonical_forms",
    "canonical_name",
    "is_placeholder_given_name",
    "name_tokens",
    "names_equivalent",
    "normalise_name",
    "phonetic_key",
]

_PLACEHOLDERS: Final = frozenset(
    {
        "baby",
        "unborn",
        "infant",
        "unknown",
        "not known",
        "notknown",
        "nk",
        "unnamed",
        "newborn",
        "male",
        "female",
        "boy",
        "girl",
        "twin",
        "twin 1",
        "twin 2",
        "baby boy",
        "baby girl",
    }
)
_PLACEHOLDER_PREFIXES: Final = ("baby of ", "baby ", "unborn ", "infant of ", "twin ")


def normalise_name(raw: object) -> str | None:
    """Lower case ASCII letters, hyphen-separated parts as spaces, apostrophes dropped."""
    if raw is None or (isinstance(raw, float) and raw != raw):
        return None
    text = unicodedata.normalize("NFKD", str(raw)).encode("ascii", "ignore").decode().lower()
    text = re.sub(r"['`’]", "", text)
    text = re.sub(r"[^a-z]+", " ", text).strip()
    return text or None


def is_placeholder_given_name(normalised: str | None) -> bool:
    if not normalised:
        return False
    return normalised in _PLACEHOLDERS or normalised.startswith(_PLACEHOLDER_PREFIXES)


def name_tokens(normalised: str | None) -> list[str]:
    return normalised.split() if normalised else []


@cache
def _nickname_table() -> dict[str, frozenset[str]]:
    """Every name (full or diminutive) → the full names it can stand for."""
    table: dict[str, set[str]] = {}
    text = resources.files("linkage.standardise").joinpath("nicknames.csv").read_text("utf-8")
    for row in csv.DictReader(text.splitlines()):
        full = row["name"].strip()
        table.setdefault(full, set()).add(full)
        for short in row["diminutives"].split():
            table.setdefault(short, set()).add(full)
    return {name: frozenset(fulls) for name, fulls in table.items()}


def canonical_forms(name: str | None) -> frozenset[str]:
    """The full names ``name`` may stand for (itself included)."""
    if not name:
        return frozenset()
    return _nickname_table().get(name, frozenset()) | {name}


def canonical_name(name: str | None) -> str | None:
    """One deterministic full form, for blocking: Alex → alexander, Harry → harold.

    A name that stands for several full names keeps only one here (so Harry/Henry may not share a
    block); comparisons use every form (``canonical_forms``), so they still agree.
    """
    if not name:
        return None
    others = canonical_forms(name) - {name}
    return min(others) if others else name


def names_equivalent(a: str | None, b: str | None) -> bool:
    if not a or not b:
        return False
    return a == b or bool(canonical_forms(a) & canonical_forms(b))


@cache
def phonetic_key(name: str | None) -> str | None:
    if not name:
        return None
    return jellyfish.metaphone(name.replace(" ", "")) or None
