"""The child at a glance, from what has already been disclosed: a summary card, candidate cards
people can tell apart, records with human labels, and where the agencies disagree.

Everything here is a pure function of the released records (``gateway.disclosure.disclose``)
and the decision's withheld list. It reads nothing from the index, so it cannot show what the
purpose withholds; it can only say that it was withheld, with the clause.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

__all__ = ["CandidateCard", "ChildSummary", "DataDictionary", "Disagreement", "Flag", "age_on",
           "candidate_card", "child_summary", "data_dictionary", "format_nhs_number",
           "labelled_record"]

DICTIONARY = Path(__file__).with_name("data_dictionary.yaml")
_ABBREVIATIONS = {"gdns": "gardens", "rd": "road", "st": "street", "ln": "lane", "ave": "avenue",
                  "cres": "crescent", "cl": "close", "ct": "court", "dr": "drive", "pl": "place",
                  "sq": "square", "ter": "terrace", "terr": "terrace"}


@dataclass(frozen=True)
class DataDictionary:
    fields: dict[str, str]
    values: dict[str, dict[str, str]]
    flags: tuple[dict[str, Any], ...]

    def label(self, column: str) -> str:
        return self.fields.get(column) or column.replace("_", " ").capitalize()

    def value(self, column: str, raw: Any) -> str:
        if column == "nhs_number":
            return format_nhs_number(str(raw))
        return self.values.get(column, {}).get(str(raw), str(raw))


@cache
def data_dictionary(path: Path = DICTIONARY) -> DataDictionary:
    """The dictionary file, read once; a malformed one fails naming the file and the entry."""
    loaded = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    for i, flag in enumerate(loaded.get("flags", [])):
        missing = {"name", "category", "column"} - set(flag)
        if missing:
            raise ValueError(f"{path}: flags[{i}]: missing {', '.join(sorted(missing))}")
    return DataDictionary(dict(loaded.get("fields", {})),
                          {k: {str(a): str(b) for a, b in v.items()}
                           for k, v in loaded.get("values", {}).items()},
                          tuple(loaded.get("flags", [])))


def format_nhs_number(value: str) -> str:
    """NHS numbers are read aloud and compared in 3-3-4 groups (NHS Digital's display standard)."""
    digits = re.sub(r"\D", "", value)
    return f"{digits[:3]} {digits[3:6]} {digits[6:]}" if len(digits) == 10 else value


def age_on(dob: str | None, today: dt.date) -> int | None:
    try:
        born = dt.date.fromisoformat(dob or "")
    except ValueError:
        return None
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def _name(identity: dict[str, Any]) -> str | None:
    parts = [identity.get("given_name"), identity.get("family_name")]
    return " ".join(p for p in parts if p) or None


def _address_key(address: dict[str, Any]) -> tuple[str, str]:
    """Postcode and street line as compared: case, punctuation and the usual abbreviations
    ("Gdns", "Rd") do not make two records disagree; a different house or postcode does."""
    words = re.findall(r"[a-z0-9]+", str(address.get("address") or "").lower())
    line = " ".join(_ABBREVIATIONS.get(w, w) for w in words)
    return re.sub(r"\s", "", str(address.get("postcode") or "").upper()), line


def _full_address(address: dict[str, Any]) -> str:
    return ", ".join(str(p) for p in (address.get("address"), address.get("postcode")) if p)


@dataclass(frozen=True)
class Disagreement:
    what: str
    #: (agency, value) for every record, so the reader sees who says which.
    values: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Flag:
    name: str
    #: "yes", "no", "not recorded" (no permitted record holds the field) or "withheld".
    state: str
    agencies: tuple[str, ...] = ()
    clause: str = ""


@dataclass(frozen=True)
class ChildSummary:
    name: str | None
    other_names: tuple[str, ...]
    dob: str | None
    age: int | None
    nhs_number: str | None
    upn: str | None
    address: str | None
    flags: tuple[Flag, ...]
    disagreements: tuple[Disagreement, ...]
    #: Summary items the purpose withholds, each with the clause that withheld it.
    withheld: tuple[tuple[str, str], ...] = field(default=())


def _most_common(values: list[str]) -> str | None:
    return Counter(values).most_common(1)[0][0] if values else None


def _disagreement(what: str, seen: list[tuple[str, str, Any]]) -> list[Disagreement]:
    """``seen`` holds (agency, value as shown, value as compared) for every record."""
    if len({key for _, _, key in seen}) <= 1:
        return []
    return [Disagreement(what, tuple(sorted({(a, v) for a, v, _ in seen})))]


def _flags(records: list[dict[str, Any]], withheld: list[dict[str, str]],
           dictionary: DataDictionary) -> tuple[Flag, ...]:
    clauses = {w["category"]: w["clause"] for w in withheld}
    flags = []
    for rule in dictionary.flags:
        held = [(r["agency"], str(r["data"][rule["column"]])) for r in records
                if rule["column"] in (r.get("data") or {})
                and str(r["data"][rule["column"]]).strip() != ""]
        if not held and rule["category"] in clauses:
            flags.append(Flag(rule["name"], "withheld", clause=clauses[rule["category"]]))
            continue
        if not held:
            flags.append(Flag(rule["name"], "not recorded"))
            continue
        raised = sorted({a for a, v in held if _raises(rule, v)})
        flags.append(Flag(rule["name"], "yes" if raised else "no", tuple(raised)))
    return tuple(flags)


def _raises(rule: dict[str, Any], value: str) -> bool:
    if "above" in rule:
        try:
            return float(value) > float(rule["above"])
        except ValueError:
            return False
    return value in {str(w) for w in rule.get("when", [])}


def child_summary(records: list[dict[str, Any]], withheld: list[dict[str, str]],
                  today: dt.date, dictionary: DataDictionary | None = None) -> ChildSummary:
    """The card at the top of the child page, from the released records only."""
    dictionary = dictionary or data_dictionary()
    ids = [(r["agency"], r["identity"]) for r in records if r.get("identity")]
    addresses = [(r["agency"], r["address"]) for r in records if r.get("address")]
    names = [(a, n) for a, i in ids if (n := _name(i))]
    dobs = [(a, str(i["dob"])) for a, i in ids if i.get("dob")]
    nhs = [(a, str(i["nhs_number"])) for a, i in ids if i.get("nhs_number")]
    upns = [str(i["upn"]) for _, i in ids if i.get("upn")]
    name = _most_common([n for _, n in names])
    dob = _most_common([d for _, d in dobs])
    best_address = _most_common([_full_address(a) for _, a in addresses])
    disagreements = [
        *_disagreement("Name", [(a, n, n.lower()) for a, n in names]),
        *_disagreement("Date of birth", [(a, d, d) for a, d in dobs]),
        *_disagreement("NHS number", [(a, format_nhs_number(n), re.sub(r"\D", "", n))
                                      for a, n in nhs]),
        *_disagreement("Address", [(a, _full_address(x), _address_key(x))
                                   for a, x in addresses]),
    ]
    held_back = {w["category"]: w["clause"] for w in withheld}
    return ChildSummary(
        name=name, other_names=tuple(sorted({n for _, n in names if n != name})),
        dob=dob, age=age_on(dob, today),
        nhs_number=format_nhs_number(_most_common([n for _, n in nhs]) or "") or None,
        upn=_most_common(upns), address=best_address,
        flags=_flags(records, withheld, dictionary), disagreements=tuple(disagreements),
        withheld=tuple((c, held_back[c]) for c in ("identity", "address") if c in held_back))


@dataclass(frozen=True)
class CandidateCard:
    person_id: str
    grade: str
    probability: float
    name: str | None
    dob: str | None
    age: int | None
    postcode_district: str | None
    agencies: tuple[str, ...]
    #: What the purpose withholds from this card, in words ("Address", "Agencies involved").
    withheld: tuple[str, ...]


def candidate_card(person_id: str, grade: str, probability: float,
                   records: list[dict[str, Any]], permitted: dict[str, frozenset[str]],
                   today: dt.date) -> CandidateCard:
    """Enough to tell two candidates apart — name, date of birth and age, postcode district, who
    knows them — from the released records only, and what the purpose withheld from the card."""
    ids = [r["identity"] for r in records if r.get("identity")]
    postcodes = [str(r["address"]["postcode"]) for r in records
                 if (r.get("address") or {}).get("postcode")]
    dob = _most_common([str(i["dob"]) for i in ids if i.get("dob")])
    agencies = tuple(sorted({r["agency"] for r in records
                             if "involvements" in permitted.get(r["agency"], frozenset())}))
    granted = {c for cats in permitted.values() for c in cats}
    withheld = tuple(words for category, words in (("address", "Address"),
                                                    ("involvements", "Agencies involved"))
                     if category not in granted)
    return CandidateCard(
        person_id, grade, probability, _most_common([n for i in ids if (n := _name(i))]),
        dob, age_on(dob, today),
        _most_common([p.split()[0] if " " in p else p[:-3] for p in postcodes]) or None,
        agencies, withheld)


def labelled_record(record: dict[str, Any],
                    dictionary: DataDictionary | None = None) -> list[tuple[str, str]]:
    """One released record as (label, value) rows in the dictionary's words."""
    dictionary = dictionary or data_dictionary()
    rows = []
    for part in ("identity", "address", "data"):
        for column, value in (record.get(part) or {}).items():
            if value in (None, ""):
                continue
            rows.append((dictionary.label(column), dictionary.value(column, value)))
    return rows
