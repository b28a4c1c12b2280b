"""Invented towns: streets with postcodes, schools and GP practices, sized to the population.

Two towns share one county's postcode style (``TA1 2AB``); streets sit in a district and sector
with a few unit postcodes each, so postcode agreement at unit, sector and district level all mean
something. Street names repeat the commonest English ones, and the same name can occur in both
towns, so an address is only distinctive with its postcode.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Final

from linkage.synth.identifiers import HOME_LA_CODES
from linkage.synth.names import ADULT_FEMALE, ADULT_MALE, SURNAMES

__all__ = ["Address", "Place", "School", "Town", "build_place"]

_STREET_STEMS: Final = (
    "Church",
    "Station",
    "Mill",
    "Park",
    "Victoria",
    "Queens",
    "Kings",
    "Albert",
    "Manor",
    "Chapel",
    "Orchard",
    "Meadow",
    "Oak",
    "Elm",
    "Ash",
    "Beech",
    "Willow",
    "Hawthorn",
    "Cedar",
    "Priory",
    "Abbey",
    "Castle",
    "Bridge",
    "River",
    "Brook",
    "Green",
    "Hill",
    "High",
    "North",
    "South",
    "East",
    "West",
    "New",
    "Market",
    "School",
    "Vicarage",
    "Rectory",
    "Grange",
    "Farm",
    "Windmill",
    "Newton",
    "York",
    "Windsor",
    "Stanley",
    "Grove",
    "Springfield",
    "Highfield",
    "Fairfield",
    "Greenway",
    "Wellington",
    "Somerset",
    "Quantock",
    "Mendip",
    "Blackdown",
    "Exmoor",
    "Tone",
    "Parrett",
    "Avon",
    "Sedgemoor",
    "Priorswood",
    "Lyngford",
    "Staplegrove",
    "Galmington",
    "Halcon",
    "Hamilton",
    "Cheddon",
    "Kingston",
    "Bishops",
    "Trinity",
    "St Johns",
    "St Marys",
    "St Georges",
    "St Andrews",
    "Holway",
    "Wilton",
    "Roman",
    "Shoreditch",
    "Lambrook",
    "Obridge",
    "Belvedere",
    "Cleveland",
    "Richmond",
    "Clarence",
    "Hillside",
    "Woodland",
    "Coronation",
    "Jubilee",
    "Nursery",
    "Forge",
    "Cherry",
    "Laburnum",
    "Lime",
    "Rowan",
    "Sycamore",
    "Chestnut",
    "Poplar",
    "Maple",
    "Ridgeway",
    "Broadway",
    "Bath",
    "Wells",
    "Bristol",
    "Langport",
    "Wiveliscombe",
    "Milverton",
)
_STREET_KINDS: Final = (
    ("Road", 30),
    ("Street", 14),
    ("Lane", 12),
    ("Close", 10),
    ("Avenue", 7),
    ("Way", 6),
    ("Drive", 6),
    ("Gardens", 4),
    ("Crescent", 4),
    ("Place", 3),
    ("Terrace", 3),
    ("Court", 2),
    ("Walk", 2),
    ("Rise", 1),
    ("Mews", 1),
)
_UNIT_LETTERS: Final = "ABDEFGHJLNPQRSTUWXYZ"
_PRACTICE_KINDS: Final = ("Surgery", "Medical Centre", "Health Centre", "Medical Practice")


@dataclass(frozen=True, slots=True)
class Address:
    line: str  # "12 Church Road" or "Flat 3, 12 Church Road"
    town: str
    postcode: str

    def text(self) -> str:
        return f"{self.line}, {self.town}"


@dataclass(frozen=True, slots=True)
class _Street:
    name: str
    town: str
    postcodes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class School:
    name: str
    urn: str  # six-digit Unique Reference Number
    la_code: str
    number: str  # four-digit DfE establishment number
    phase: str  # primary | secondary


@dataclass(frozen=True, slots=True)
class Town:
    name: str
    area: str
    la_code: str
    districts: tuple[int, ...]
    share: float


TOWNS: Final = (
    Town("Tonebridge", "TA", HOME_LA_CODES[0], (1, 2, 3, 4, 6), 0.64),
    Town("Avonleigh", "BA", HOME_LA_CODES[1], (1, 2, 3, 5), 0.36),
)


class Place:
    """The streets, schools and practices of the synthetic towns, and a supply of free addresses."""

    def __init__(self, families: int, rng: random.Random) -> None:
        self._rng = rng
        self.streets: list[_Street] = []
        self.schools: dict[str, dict[str, list[School]]] = {}
        self.practices: dict[str, list[str]] = {}
        self.health_visitors: dict[str, list[str]] = {}
        used_postcodes: set[str] = set()
        used_urns: set[str] = set()
        n_streets = min(6000, max(200, families // 30))  # the postcode space bounds it
        for town in TOWNS:
            count = max(60, round(n_streets * town.share))
            for _ in range(count):
                district = rng.choice(town.districts)
                sector = rng.randrange(1, 10)
                units = []
                for _ in range(rng.choice((1, 1, 2, 2, 3))):
                    while True:
                        pc = (
                            f"{town.area}{district} {sector}"
                            f"{rng.choice(_UNIT_LETTERS)}{rng.choice(_UNIT_LETTERS)}"
                        )
                        if pc not in used_postcodes:
                            used_postcodes.add(pc)
                            units.append(pc)
                            break
                kind = rng.choices(
                    [k for k, _ in _STREET_KINDS], weights=[w for _, w in _STREET_KINDS]
                )[0]
                self.streets.append(
                    _Street(f"{rng.choice(_STREET_STEMS)} {kind}", town.name, tuple(units))
                )
            town_families = families * town.share
            self.schools[town.name] = {
                "primary": self._schools(
                    town, "primary", max(2, round(town_families / 260)), used_urns
                ),
                "secondary": self._schools(
                    town, "secondary", max(1, round(town_families / 1600)), used_urns
                ),
            }
            self.practices[town.name] = [
                f"{rng.choice(_STREET_STEMS)} {rng.choice(_PRACTICE_KINDS)}"
                for _ in range(max(2, round(town_families / 1500)))
            ]
            self.health_visitors[town.name] = [
                self.worker_name() for _ in range(max(2, round(town_families / 600)))
            ]
        self._next_house: dict[int, int] = {}
        self._street_towns = [s.town for s in self.streets]

    def _schools(self, town: Town, phase: str, count: int, used_urns: set[str]) -> list[School]:
        rng = self._rng
        schools = []
        for i in range(count):
            while True:
                urn = str(rng.randrange(100000, 150000))
                if urn not in used_urns:
                    used_urns.add(urn)
                    break
            base = 2000 if phase == "primary" else 4000
            stem = rng.choice(_STREET_STEMS)
            label = ("Primary School", "Primary Academy", "CofE Primary School", "Infant School")
            name = (
                f"{stem} {rng.choice(label)}"
                if phase == "primary"
                else f"{stem} {rng.choice(('Academy', 'School', 'Community College'))}"
            )
            schools.append(School(name, urn, town.la_code, f"{base + i + 1:04d}", phase))
        return schools

    def worker_name(self) -> str:
        """An invented professional's name (workers are not people in the population)."""
        rng = self._rng
        given = rng.choice(ADULT_FEMALE if rng.random() < 0.75 else ADULT_MALE)
        return f"{given} {rng.choice(SURNAMES)}"

    def new_address(self, town: str | None = None) -> Address:
        """A dwelling nobody else in the population occupies now."""
        rng = self._rng
        while True:
            index = rng.randrange(len(self.streets))
            if town is None or self._street_towns[index] == town:
                break
        street = self.streets[index]
        number = self._next_house.get(index, 0) + 1
        self._next_house[index] = number
        # The first 150 houses of a street are taken in a scrambled order (151 is prime).
        house = (number * (index % 149 + 2)) % 151 if number <= 150 else number
        if rng.random() < 0.12:
            line = f"Flat {rng.randrange(1, 12)}, {house} {street.name}"
        else:
            line = f"{house} {street.name}"
        postcode = street.postcodes[(number // 12) % len(street.postcodes)]
        return Address(line, street.town, postcode)

    def town_of_new_household(self) -> str:
        return self._rng.choices([t.name for t in TOWNS], weights=[t.share for t in TOWNS])[0]


def build_place(families: int, rng: random.Random) -> Place:
    return Place(families, rng)
