"""A second synthetic population, written without reading ``linkage/synth`` or ``linkage/persons``.

The linkage rules were tuned on the project's own generator, so a score on that population says
little about an unseen one. This generator works only from the source-extract contract and the
domain notes, with its own names, places and error rates, so a model that learned its own
generator's quirks shows it here.

    python bench/independent_population.py --out DIR [--families 12000] [--seed 11]

Writes ``DIR/health.csv``, ``DIR/education.csv``, ``DIR/social_care.csv`` (contract layout, with
``*_relationships.csv``), ``DIR/police.csv`` with ``DIR/police.yaml`` (its own column names, UK date
format, ``Male``/``Female`` codes), and ``DIR/truth/truth.csv`` (``source,record_id,person_id,
family_id``). ``DIR/truth/persons.csv`` and ``DIR/truth/record_notes.csv`` say who each person is
and which deliberate mess each record carries, for diagnosis; kinlink does not read ``truth/``.

Rates, chosen for English agency data as we understand it (not tuned against kinlink):

Population (per family unless said)
  children 1/2/3/4/5: 40/36/15/6/3 %; twins 1.6 % of maternities, a quarter of them given
    similar names (Ella/Ellie, Jack/Jake, Leo/Theo, Hassan/Hussain)
  carers: two parents 64 %, lone mother 30 %, lone father 3 %, grandmother as carer 3 %
  surnames: parents share one 50 % of couples; otherwise children take the father's 55 %, the
    mother's 20 %, a double-barrelled mother-father name 25 %; lone mother's children carry an
    absent father's surname 40 %; the children's surname changed (step-parent, separation) in 5 % of families
  names: drawn from our lists with weight 1/rank^0.6 (a top name is ~5 % of its list; real
    top names are 1-3 %, so name clashes are somewhat commoner here than in life); British
    surnames 35 % from a common list (Smith ~2.5 % of families), 65 % from a long tail of ~1,000
  heritage: White British/Irish 82 %, South Asian 8 %, Polish 4 %, West African/Somali 4 %,
    other mix drawn from all lists 2 %; Polish surnames take the feminine form for women
  a son shares his father's given name ("Jr") in 4 % of families with a son and a father;
    social care and police add "Jnr" to the middle names in 25 % of his records
  30 % of South Asian boys are Mohammed with the name they go by as a middle name; schools and
    the police record the name they go by in 60 % of their records
  moved house within the last three years: 24 % of families (70 % within the same town)
  homes: about five per family in the population (families with children fill ~1 home in 5), so
    a moved family's old address is sometimes another family's home now; ~20 homes per postcode

Sources (who is in them)
  health: 99 % of children, 85 % of mothers (maternity), 55 % of fathers/carers; mother links
  education: 97 % of children aged 4-15 on the extract date, 55 % of 16-17 year olds; pupils only
  social care: 22 % of families (all children, 88 % of mothers, 55 % of fathers, pre-birth records
    for 45 % of children under 2); relationships mother/father/sibling/carer for 85 % of pairs
  police: 40 % of social-care families and 8 % of others; 85 % of adults, 35 % of children
    aged 10+, 12 % of younger children (victims, witnesses)

Record mess (health / education / social care / police)
  NHS number present (children): 98.5 / 3 / 65 / 0 %; adults 97 / 0 / 20 / 0 %
  NHS written with spaces 35 %, dashes 5 %; mistyped (fails check) 0.4 / 1 / 1.5 / - %;
    placeholder 0.2 / 0 / 1 / - %; a sibling's valid number 0.1 / 1 / 0.8 / - % of children
  UPN (education only): 100 %; a duplicate pupil record carries a re-issued UPN
  middle names recorded 70 / 45 / 25 / 15 %
  preferred name or diminutive when the name has one: 4 / 30 / 20 / 30 %
  given-name typo 0.8 / 1.2 / 2.5 / 4 %; surname typo 0.8 / 1 / 2 / 4 %
  only one half of a double-barrelled surname 20 / 15 / 30 / 35 %; hyphen written as space 10 %
  a changed surname still the old one 50 / 15 / 40 / 30 %
  all capitals 5 / 3 / 10 / 70 %; stray surrounding spaces 2 / 1 / 4 / 3 %
  DOB day/month swap (day <= 12) 0.3 / 0.4 / 1.2 / 2 %; off by one day 0.2 / 0.3 / 0.8 / 1.5 %;
    wrong year 0.1 / 0.1 / 0.5 / 1.5 %; missing 0.1 / 0.1 / 1.5 / 5 %;
    estimated 1 January for adults 0.2 / - / 3 / 6 %
  address not updated after a move 10 / 8 / 25 / 45 %; postcode missing 1 / 1 / 6 / 15 %
  postcode lower case 10 %, without its space 15 %, extra space 3 %
  sex missing 0.5 / 0.5 / 3 / 4 %
  duplicate record of the same person in the same source 0.5 / 0.4 / 5 / 7 % (observed afresh,
    so with its own mess; a social-care duplicate has its own local ID)
  newborns under 6 months still "Baby <surname>" in health: 5 %
  Mohammed/Muhammad/Mohammad recorded in another spelling: 15 % of records
  pre-birth records: "Unborn"/"Baby", expected date = birth + N(3, 9) days, the mother's surname
    60 %, sex mostly U or empty, no NHS number

Relationships: by default a row ``child,mother,mother`` means "related_record_id is record_id's
mother"; ``--relationship-reading record`` writes the other reading (see RELATIONSHIP_READINGS).
"""

from __future__ import annotations

import argparse
import csv
import random
import string
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

__all__ = ["EXTRACT_DATE", "RELATIONSHIP_READINGS", "SOURCES", "PopulationSummary", "generate"]

#: The day every agency took its extract; ages and moves are measured from it.
EXTRACT_DATE = date(2026, 9, 30)
SOURCES = ("health", "education", "social_care", "police")

# --------------------------------------------------------------------------------------------
# Names (our own lists; order is commonness, drawn with a Zipf-like weight)


def _names(text: str) -> list[str]:
    return text.split()


_BOYS = {
    "british": _names(
        "Oliver George Harry Jack Noah Charlie Leo Oscar Alfie Thomas William James Henry Freddie "
        "Archie Joshua Jacob Theo Arthur Isaac Lucas Ethan Alexander Samuel Joseph Max Teddy "
        "Edward Daniel Mason Logan Reggie Tommy Riley Harrison Benjamin Finley Ronnie Dylan Albert "
        "Frankie Bobby Stanley Louie Jude Toby Jenson Rory Elliot Kai Tyler Callum Connor Kieran "
        "Bradley Lewis Jamie Cameron Nathan Harvey Caleb Ezra Hugo Felix Sebastian Zachary Rhys "
        "Owen Ellis Declan Cian Dominic Frederick Theodore Matthew Christopher Jayden Brandon Liam"
    ),
    "south_asian": _names(
        "Mohammed Muhammad Ibrahim Yusuf Zayn Hamza Ali Ayaan Adam Aryan Arjun Rayyan Haris Ismail "
        "Zakariya Musa Idris Ayan Rohan Dev Harjit Armaan Saif Bilal"
    ),
    "polish": _names("Jakub Kacper Szymon Filip Antoni Jan Mateusz Wiktor Aleksander Igor Oskar"),
    "african": _names(
        "David Daniel Emmanuel Samuel Oluwaseun Tobi Kwame Kofi Abdirahman Mohamed Chidi Ayomide "
        "Michael Joshua Ebuka"
    ),
}
_GIRLS = {
    "british": _names(
        "Olivia Amelia Isla Ava Lily Freya Ivy Florence Mia Isabella Sophia Grace Willow Evie Poppy "
        "Ella Ellie Emily Rosie Elsie Sienna Daisy Phoebe Evelyn Matilda Alice Ruby Millie Harper "
        "Lola Maisie Erin Chloe Jessica Sophie Scarlett Holly Megan Charlotte Elizabeth Katie Lucy "
        "Hannah Abigail Imogen Eleanor Esme Thea Layla Zara Bethany Jasmine Leah Paige Amber Niamh "
        "Ffion Eloise Beatrice Harriet Annabel Isabelle Courtney Demi Kayleigh Nicole Tilly Libby "
        "Lexi Gracie Alexandra Victoria Rebecca Gabriella"
    ),
    "south_asian": _names(
        "Aisha Fatima Maryam Zainab Hafsa Khadija Amira Anaya Inaaya Aleena Safa Noor Priya Simran "
        "Hiba Mariam Zara Eesha Anika Sana"
    ),
    "polish": _names("Zuzanna Julia Maja Oliwia Lena Zofia Hanna Wiktoria Natalia Amelia Aleksandra"),
    "african": _names(
        "Precious Blessing Favour Adaeze Chioma Esther Ama Hodan Amina Fardowsa Grace Deborah "
        "Oluwadamilola Ifeoma"
    ),
}
_MEN = {
    "british": _names(
        "David Paul Mark Andrew Daniel Christopher James Michael Matthew Stephen Lee Craig Darren "
        "Wayne Jason Gary Robert Thomas Adam Ashley Carl Dean Jamie Ryan Liam Kevin Simon Scott "
        "Ben Luke Jonathan Anthony Martin Shaun Ian Richard Nathan Sean Joseph Gareth Karl Aaron"
    ),
    "south_asian": _names("Imran Tariq Asif Shahid Mohammed Kamran Naveed Arif Rakesh Sanjay Zahid Faisal"),
    "polish": _names("Tomasz Piotr Krzysztof Marcin Pawel Lukasz Michal Grzegorz Adam Marek"),
    "african": _names("Chinedu Oluwafemi Babatunde Kwabena Yaw Abdullahi Ahmed Emeka Kofi Samuel"),
}
_WOMEN = {
    "british": _names(
        "Sarah Emma Laura Rebecca Claire Gemma Kelly Lisa Nicola Hayley Samantha Amy Rachel "
        "Charlotte Jennifer Stacey Natalie Danielle Kerry Jodie Michelle Louise Victoria Katherine "
        "Zoe Leanne Kirsty Joanne Donna Stephanie Jade Sophie Lauren Chloe Holly Hannah Jessica "
        "Kayleigh Naomi Elizabeth Siobhan Alexandra"
    ),
    "south_asian": _names("Nasreen Shazia Samina Rubina Farzana Sunita Parveen Sadia Ayesha Saima Bushra"),
    "polish": _names("Agnieszka Katarzyna Magdalena Anna Joanna Monika Ewa Marta Karolina Aleksandra"),
    "african": _names("Ngozi Funmilayo Abena Adwoa Folake Halima Sahra Comfort Grace Chiamaka"),
}
_SURNAMES = {
    "british": _names(
        "Smith Jones Taylor Brown Williams Wilson Johnson Davies Robinson Wright Thompson Evans "
        "Walker White Roberts Green Hall Wood Jackson Clarke Harris Lewis Hughes Turner Cooper Hill "
        "Ward Morris Moore King Watson Baker Harrison Morgan Patterson Young Allen Mitchell Kelly "
        "Bell Marshall Bailey Chapman Howard Cox Murphy O'Brien O'Connor Gray Pearce Barker Fisher "
        "Lambert Ashworth Pilgrim Drury Fenwick Gotobed Thurlow Blyth Catchpole Rudd Goldsmith "
        "Cattermole Brundle Howlett Nunn Pegg Spalding MacLeod McKenzie Lowther Ellison Tebbit"
    ),
    "south_asian": _names(
        "Khan Ahmed Hussain Ali Patel Shah Iqbal Akhtar Mahmood Rahman Chowdhury Uddin Singh "
        "Sharma Islam Miah Bibi Malik"
    ),
    "polish": _names(
        "Nowak Kowalski Wisniewski Wojcik Kaminski Lewandowski Zielinski Szymanski Dabrowski "
        "Mazur Krawczyk Kaczmarek"
    ),
    "african": _names(
        "Okafor Adeyemi Okoro Mensah Asante Owusu Boateng Adebayo Olawale Abdi Mohamed Osman "
        "Farah Warsame Nwosu"
    ),
}
#: Most English surnames are rare; a list of common ones alone would make every third family a
#: Smith. The long tail is built from place-name parts (as many real surnames were).
_SURNAME_ROOTS = _names(
    "Ash Brad Brook Clay Craw Dun Fair Gold Hal Hart Hol Kings Lang Lin Mar Mid New Old Pen Rad "
    "Ring Rom Sel Shel Stan Stock Thorn Wad Wake Wal War Wes Whit Win Yar Barn Birk Black Brom "
    "Cal Cran Elm Fen Gis Hen Ick Kel Ley Mos Nor Ock Pid Quen Rush Sax Tad Ux"
)
_SURNAME_ENDINGS = _names(
    "ley ford ton field worth wood shaw by ham well more cott wick land bury stone combe hurst "
    "thorpe dale"
)
_LISTED_SURNAME_SHARE = 0.35  # British families with a surname from the common list
_HERITAGE = (("british", 0.82), ("south_asian", 0.08), ("polish", 0.04), ("african", 0.04),
             ("mixed", 0.02))

#: Formal name → what people, schools and the police often write instead.
_DIMINUTIVES: dict[str, tuple[str, ...]] = {
    "William": ("Will", "Billy", "Liam"), "Elizabeth": ("Beth", "Lizzie", "Libby", "Eliza"),
    "Alexander": ("Alex", "Xander", "Sandy"), "Thomas": ("Tom", "Tommy"),
    "James": ("Jim", "Jimmy", "Jamie"), "Joseph": ("Joe", "Joey"), "Samuel": ("Sam", "Sammy"),
    "Benjamin": ("Ben", "Benji"), "Daniel": ("Dan", "Danny"), "Matthew": ("Matt", "Matty"),
    "Christopher": ("Chris", "Kit"), "Michael": ("Mike", "Mikey", "Mick"),
    "Robert": ("Rob", "Bobby", "Robbie", "Bob"), "Edward": ("Ed", "Eddie", "Ted", "Teddy"),
    "Frederick": ("Freddie", "Fred", "Freddy"), "Nathan": ("Nate",), "Zachary": ("Zach", "Zac"),
    "Jacob": ("Jake",), "Joshua": ("Josh",), "Harrison": ("Harry",), "Henry": ("Harry", "Hal"),
    "Theodore": ("Theo", "Teddy"), "Sebastian": ("Seb",), "Dominic": ("Dom",),
    "Anthony": ("Tony", "Ant"), "Jonathan": ("Jon", "Jonny"), "Stephen": ("Steve", "Stevie"),
    "Andrew": ("Andy", "Drew"), "Richard": ("Rich", "Richie"), "David": ("Dave", "Davey"),
    "Katherine": ("Kate", "Katie", "Kat"), "Rebecca": ("Becky", "Becca"),
    "Samantha": ("Sam", "Sammie"), "Victoria": ("Vicky", "Tori"), "Jennifer": ("Jenny", "Jen"),
    "Charlotte": ("Lottie", "Charlie"), "Isabella": ("Bella", "Izzy", "Issy"),
    "Isabelle": ("Izzy", "Belle"), "Abigail": ("Abbie", "Abby"), "Eleanor": ("Ellie", "Nell"),
    "Florence": ("Flo", "Florrie"), "Matilda": ("Tilly", "Tilda"), "Olivia": ("Liv", "Livvy"),
    "Amelia": ("Millie", "Mia"), "Sophia": ("Sophie",), "Evelyn": ("Evie",), "Imogen": ("Immy",),
    "Natalie": ("Nat",), "Nicola": ("Nicky", "Nikki"), "Stephanie": ("Steph",),
    "Danielle": ("Dani",), "Jessica": ("Jess", "Jessie"), "Alexandra": ("Alex", "Lexi"),
    "Gabriella": ("Gabby", "Ella"), "Mohammed": ("Mo",), "Oluwaseun": ("Seun",),
    "Oluwafemi": ("Femi",), "Babatunde": ("Tunde",), "Funmilayo": ("Funmi",),
    "Katarzyna": ("Kasia",), "Jakub": ("Kuba",), "Aleksandra": ("Ola",), "Zuzanna": ("Zuzia",),
    "Aleksander": ("Olek",), "Oluwadamilola": ("Dami", "Lola"), "Ayomide": ("Ayo",),
    "Gareth": ("Gaz",), "Darren": ("Daz",), "Kayleigh": ("Kay",), "Samina": ("Sam",),
    "Harriet": ("Hattie",), "Beatrice": ("Bea",), "Gracie": ("Grace",), "Libby": ("Elizabeth",),
}
#: Twins are often given names that differ by a letter or two.
_SIMILAR_TWIN_NAMES = (
    ("Ella", "Ellie", "F", "F"), ("Isla", "Isabella", "F", "F"), ("Lily", "Lila", "F", "F"),
    ("Mia", "Maya", "F", "F"), ("Evie", "Eva", "F", "F"), ("Ruby", "Rosie", "F", "F"),
    ("Jack", "Jake", "M", "M"), ("Leo", "Theo", "M", "M"), ("Harry", "Harvey", "M", "M"),
    ("Alfie", "Archie", "M", "M"), ("Hassan", "Hussain", "M", "M"), ("Jakub", "Jan", "M", "M"),
    ("Ellis", "Ella", "M", "F"), ("Louie", "Lucy", "M", "F"), ("Freddie", "Frankie", "M", "M"),
)
_MOHAMMED_SPELLINGS = ("Mohammed", "Muhammad", "Mohammad", "Mohamed", "Muhammed")

# --------------------------------------------------------------------------------------------
# Places: invented towns on real postcode areas, valid UK shapes (AA9 9AA, AA99 9AA)

_TOWNS = (  # town, share of families, postcode districts
    ("Kingsmere", 0.42, ("NR1", "NR2", "NR3", "NR4", "NR5", "NR6", "NR7")),
    ("Saltby", 0.16, ("NR30", "NR31")),
    ("Fenwick Market", 0.14, ("PE30", "PE31", "PE33")),
    ("Brackenford", 0.16, ("IP1", "IP2", "IP3", "IP4")),
    ("Wetherden St Mary", 0.06, ("IP14",)),
    ("Oulsby", 0.06, ("NR25", "NR26")),
)
#: Street names are a root and a kind; every town has its own mix, and a name like "Church Road"
#: recurs from town to town as it does in England.
_STREET_ROOTS = _names(
    "Mill Church Station Victoria Orchard Beech Kings Queens Park Meadow Saxon Abbey Marsh Willow "
    "Oak Nelson Brook Cromwell Windmill Granary Heron Pightle Staithe Common Bury Norwich Ferry "
    "Chapel Hollow Gilbert Tennyson Ropemakers Cherry Limekiln Priory Swan Rectory Elm Hawthorn "
    "Falcon Wherry Maltings Cobholm Tolhouse Gresham Blackfriars Castle Lavender Bluebell Coronation"
)
_STREET_KINDS = _names("Road Street Lane Close Avenue Crescent Drive Way Court Gardens")
_HOUSES_PER_POSTCODE = 20  # a unit postcode covers about this many house numbers
_STREET_ABBREVIATIONS = {"Road": "Rd", "Street": "St", "Lane": "Ln", "Avenue": "Ave",
                         "Close": "Cl", "Crescent": "Cres", "Drive": "Dr", "Court": "Ct"}
_UNIT_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"  # the inward code never uses C I K M O V

#: Where each agency's columns differ from the contract (police keeps its own).
_POLICE_COLUMNS = {
    "record_id": "person_ref", "given_name": "forename", "middle_names": "other_forenames",
    "family_name": "surname", "dob": "date_of_birth", "sex": "gender", "postcode": "post_code",
    "address": "home_address",
}
_CONTRACT = ("record_id", "nhs_number", "upn", "local_id", "given_name", "middle_names",
             "family_name", "dob", "sex", "postcode", "address")


@dataclass(frozen=True)
class SourceRates:
    """One agency's habits; see the module docstring for where each number comes from."""

    nhs_child: float
    nhs_adult: float
    nhs_typo: float
    nhs_placeholder: float
    nhs_sibling: float
    middle: float
    preferred: float
    given_typo: float
    surname_typo: float
    half_double_barrel: float
    old_surname: float
    upper: float
    stray_space: float
    dob_swap: float
    dob_off_one: float
    dob_year: float
    dob_missing: float
    dob_jan1_adult: float
    stale_address: float
    postcode_missing: float
    sex_missing: float
    duplicate: float


RATES: dict[str, SourceRates] = {
    "health": SourceRates(0.985, 0.97, 0.004, 0.002, 0.001, 0.70, 0.04, 0.008, 0.008, 0.20, 0.50,
                          0.05, 0.02, 0.003, 0.002, 0.001, 0.001, 0.002, 0.10, 0.01, 0.005, 0.005),
    "education": SourceRates(0.03, 0.0, 0.01, 0.0, 0.01, 0.45, 0.30, 0.012, 0.010, 0.15, 0.15,
                             0.03, 0.01, 0.004, 0.003, 0.001, 0.001, 0.0, 0.08, 0.01, 0.005,
                             0.004),
    "social_care": SourceRates(0.65, 0.20, 0.015, 0.01, 0.008, 0.25, 0.20, 0.025, 0.02, 0.30,
                               0.40, 0.10, 0.04, 0.012, 0.008, 0.005, 0.015, 0.03, 0.25, 0.06,
                               0.03, 0.05),
    "police": SourceRates(0.0, 0.0, 0.0, 0.0, 0.0, 0.15, 0.30, 0.04, 0.04, 0.35, 0.30, 0.70,
                          0.03, 0.02, 0.015, 0.015, 0.05, 0.06, 0.45, 0.15, 0.04, 0.07),
}


# --------------------------------------------------------------------------------------------
# The true population


@dataclass
class Address:
    line: str
    town: str
    postcode: str


@dataclass
class Person:
    person_id: str
    family_id: str
    role: str  # child, mother, father, carer
    heritage: str
    given: str
    middle: list[str]
    surname: str
    dob: date
    sex: str
    nhs: str
    old_surname: str | None = None
    twin_of: str | None = None
    namesake_of: str | None = None
    upn: str | None = None


@dataclass
class Family:
    family_id: str
    people: list[Person]
    address: Address
    previous_address: Address | None
    double_barrelled: bool = False

    @property
    def children(self) -> list[Person]:
        return [p for p in self.people if p.role == "child"]

    @property
    def adults(self) -> list[Person]:
        return [p for p in self.people if p.role != "child"]


def _zipf_pick(rng: random.Random, names: Sequence[str], exponent: float = 0.6) -> str:
    weights = [1.0 / (rank + 1) ** exponent for rank in range(len(names))]
    return rng.choices(list(names), weights=weights, k=1)[0]


def _weighted(rng: random.Random, options: Sequence[tuple[str, float]]) -> str:
    return rng.choices([o for o, _ in options], weights=[w for _, w in options], k=1)[0]


def nhs_check_digit(first_nine: str) -> int | None:
    """Mod-11 check digit, or None when the nine digits can never be issued (remainder 10)."""
    total = sum(int(d) * w for d, w in zip(first_nine, range(10, 1, -1), strict=True))
    check = 11 - total % 11
    if check == 11:
        return 0
    return None if check == 10 else check


def upn_check_letter(last_twelve: str) -> str:
    total = sum(int(c) * w for c, w in zip(last_twelve, range(2, 14), strict=True))
    return "ABCDEFGHJKLMNPQRTUVWXYZ"[total % 23]


class _Issuer:
    """Hands out unique identifiers so no two people ever share one by accident."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.nhs: set[str] = set()
        self.upns: set[str] = set()

    def nhs_number(self) -> str:
        while True:
            first = str(self.rng.randint(4, 7)) + "".join(self.rng.choices(string.digits, k=8))
            check = nhs_check_digit(first)
            if check is not None and first + str(check) not in self.nhs:
                self.nhs.add(first + str(check))
                return first + str(check)

    def upn(self, year_of_allocation: int, la_code: str) -> str:
        while True:
            school = f"{self.rng.randint(2000, 5999):04d}"
            body = f"{la_code}{school}{year_of_allocation % 100:02d}{self.rng.randint(0, 999):03d}"
            value = upn_check_letter(body) + body
            if value not in self.upns:
                self.upns.add(value)
                return value


class _Places:
    """Invented towns; a household's current address is its own, but a family that moved left an
    address that may now be another family's (someone always moves in)."""

    def __init__(self, rng: random.Random, families: int) -> None:
        self.rng = rng
        self.taken: set[tuple[str, str]] = set()
        # Enough streets that families with children fill about a fifth of the homes.
        homes_needed = families * 5
        self.streets: dict[str, list[tuple[str, list[str]]]] = {}
        all_names = [f"{r} {k}" for r in _STREET_ROOTS for k in _STREET_KINDS]
        for town, share, districts in _TOWNS:
            count = max(8, int(homes_needed * share / 120))
            names = rng.sample(all_names, k=min(len(all_names), count))
            self.streets[town] = [
                (s, [self._postcode(rng.choice(districts)) for _ in range(120 // _HOUSES_PER_POSTCODE)])
                for s in names
            ]

    def _postcode(self, district: str) -> str:
        unit = "".join(self.rng.choices(_UNIT_LETTERS, k=2))
        return f"{district} {self.rng.randint(1, 9)}{unit}"

    def address(self, town: str | None = None, current: bool = True) -> Address:
        if town is None:
            town = _weighted(self.rng, [(t, w) for t, w, _ in _TOWNS])
        while True:
            street, postcodes = self.rng.choice(self.streets[town])
            number = self.rng.randint(1, 120)
            line = f"{number} {street}"
            if self.rng.random() < 0.12:
                line = f"Flat {self.rng.randint(1, 12)}, {line}"
            if not current or (town, line) not in self.taken:
                break
        if current:
            self.taken.add((town, line))
        return Address(line, town, postcodes[(number - 1) // _HOUSES_PER_POSTCODE])


def _feminine(surname: str, heritage: str) -> str:
    if heritage == "polish" and surname.endswith("ski"):
        return surname[:-1] + "a"
    return surname


def _surname(rng: random.Random, heritage: str) -> str:
    if heritage == "mixed":
        heritage = rng.choice(list(_SURNAMES))
    if heritage == "british" and rng.random() > _LISTED_SURNAME_SHARE:
        return rng.choice(_SURNAME_ROOTS) + rng.choice(_SURNAME_ENDINGS)
    return _zipf_pick(rng, _SURNAMES[heritage])


def _draw_heritage(rng: random.Random) -> str:
    return _weighted(rng, _HERITAGE)


def _list_for(table: dict[str, list[str]], heritage: str, rng: random.Random) -> list[str]:
    return table[rng.choice(list(table))] if heritage == "mixed" else table[heritage]


def _first_name(rng: random.Random, table: dict[str, list[str]], heritage: str,
                avoid: set[str]) -> str:
    names = _list_for(table, heritage, rng)
    for _ in range(20):
        name = _zipf_pick(rng, names)
        if name not in avoid:
            return name
    return rng.choice([n for n in names if n not in avoid] or names)


def _middle_names(rng: random.Random, sex: str, heritage: str, given: str) -> list[str]:
    table = _BOYS if sex == "M" else _GIRLS
    count = rng.choices((0, 1, 2), weights=(0.2, 0.65, 0.15))[0]
    avoid = {given, *(_MOHAMMED_SPELLINGS if given in _MOHAMMED_SPELLINGS else ())}
    return [_first_name(rng, table, heritage, avoid) for _ in range(count)]


def _make_family(index: int, rng: random.Random, issuer: _Issuer, places: _Places) -> Family:
    family_id = f"F{index:06d}"
    heritage = _draw_heritage(rng)
    people: list[Person] = []
    serial = iter(range(1, 100))

    def pid() -> str:
        return f"{family_id}-{next(serial):02d}"

    carers = _weighted(rng, [("couple", 0.64), ("mother", 0.30), ("father", 0.03),
                             ("grandmother", 0.03)])
    n_children = rng.choices((1, 2, 3, 4, 5), weights=(40, 36, 15, 6, 3))[0]
    # Oldest child 0-17 on the extract date; the rest 1-6 years apart, never in the future.
    oldest = EXTRACT_DATE - timedelta(days=rng.randint(0, 17 * 365 + 300))
    births: list[date] = [oldest]
    while len(births) < n_children:
        nxt = births[-1] + timedelta(days=rng.randint(380, 6 * 365))
        if nxt > EXTRACT_DATE:
            break
        births.append(nxt)
    mother_age = max(17.0, min(44.0, rng.gauss(28.5, 5.5)))
    mother_dob = oldest - timedelta(days=int(mother_age * 365.25) + rng.randint(-150, 150))
    father_dob = mother_dob - timedelta(days=int(max(-3.0, rng.gauss(2.5, 3.5)) * 365.25))

    father_heritage = heritage if rng.random() < 0.9 or heritage == "mixed" else _draw_heritage(rng)
    father_surname = _surname(rng, father_heritage)
    mother_surname = _surname(rng, heritage)
    double = False
    if carers == "couple":
        if rng.random() < 0.5:
            mother_surname = father_surname
            child_surname = father_surname
        else:
            choice = _weighted(rng, [("father", 0.55), ("mother", 0.20), ("double", 0.25)])
            if choice == "father":
                child_surname = father_surname
            elif choice == "mother":
                child_surname = mother_surname
            else:
                child_surname = f"{mother_surname}-{father_surname}"
                double = mother_surname != father_surname
    elif carers in ("mother", "grandmother"):
        child_surname = father_surname if rng.random() < 0.4 else mother_surname
    else:
        child_surname = father_surname

    address = places.address()
    previous = None
    if rng.random() < 0.24:
        previous = places.address(address.town if rng.random() < 0.7 else None, current=False)

    if carers in ("couple", "mother", "grandmother"):
        given = _first_name(rng, _WOMEN, heritage, set())
        people.append(Person(pid(), family_id, "mother", heritage, given,
                             _middle_names(rng, "F", heritage, given),
                             _feminine(mother_surname, heritage), mother_dob, "F",
                             issuer.nhs_number()))
    if carers in ("couple", "father"):
        given = _first_name(rng, _MEN, father_heritage, set())
        people.append(Person(pid(), family_id, "father", father_heritage, given,
                             _middle_names(rng, "M", father_heritage, given), father_surname,
                             father_dob, "M", issuer.nhs_number()))
    if carers == "grandmother":
        gdob = mother_dob - timedelta(days=int(rng.uniform(18, 30) * 365.25))
        given = _first_name(rng, _WOMEN, heritage, set())
        people.append(Person(pid(), family_id, "carer", heritage, given, [],
                             _feminine(_surname(rng, heritage),
                                       heritage), gdob, "F", issuer.nhs_number()))
        # The mother does not live here: she is in the extracts only through the child's
        # history, so keep her out of the household.
        people = [p for p in people if p.role != "mother"]

    used: set[str] = set()
    for birth in births:
        twins = rng.random() < 0.016
        if twins:
            if rng.random() < 0.25:
                a, b, sa, sb = rng.choice(_SIMILAR_TWIN_NAMES)
            else:
                sa, sb = rng.choice("MF"), rng.choice("MF")
                a = _first_name(rng, _BOYS if sa == "M" else _GIRLS, heritage, used)
                b = _first_name(rng, _BOYS if sb == "M" else _GIRLS, heritage, used | {a})
            first = _child(pid(), family_id, heritage, a, sa, child_surname, birth, rng, issuer)
            second = _child(pid(), family_id, heritage, b, sb, child_surname, birth, rng, issuer)
            second.twin_of, first.twin_of = first.person_id, second.person_id
            people += [first, second]
            used |= {a, b}
        else:
            sex = rng.choice("MF")
            name = _first_name(rng, _BOYS if sex == "M" else _GIRLS, heritage, used)
            if heritage == "south_asian" and sex == "M" and rng.random() < 0.3:
                name = "Mohammed"  # with the name he goes by as a middle name
            people.append(_child(pid(), family_id, heritage, name, sex, child_surname, birth,
                                 rng, issuer))
            used.add(name)

    father = next((p for p in people if p.role == "father"), None)
    sons = [p for p in people if p.role == "child" and p.sex == "M" and p.twin_of is None]
    if father and sons and rng.random() < 0.04:
        son = sons[0]
        son.given, son.namesake_of = father.given, father.person_id
        son.middle = father.middle[:1] or son.middle
    if rng.random() < 0.05:
        # Separation or a step-parent: the children's surname changed, and not every agency
        # heard (siblings change together).
        new = (mother_surname if child_surname != mother_surname
               else _surname(rng, heritage))
        for child in [p for p in people if p.role == "child"]:
            child.old_surname = child.surname
            child.surname = _feminine(new, heritage) if child.sex == "F" else new
    return Family(family_id, people, address, previous, double)


def _child(person_id: str, family_id: str, heritage: str, given: str, sex: str, surname: str,
           birth: date, rng: random.Random, issuer: _Issuer) -> Person:
    middle = _middle_names(rng, sex, heritage, given)
    if given == "Mohammed" and not middle:
        middle = [_first_name(rng, _BOYS, heritage, {given, *_MOHAMMED_SPELLINGS})]
    return Person(person_id, family_id, "child", heritage, given, middle,
                  _feminine(surname, heritage) if sex == "F" else surname, birth, sex,
                  issuer.nhs_number())


# --------------------------------------------------------------------------------------------
# Seeing the population through an agency


def _age(person: Person) -> float:
    return (EXTRACT_DATE - person.dob).days / 365.25


_KEYBOARD_NEIGHBOURS = {
    "a": "qs", "b": "vn", "c": "xv", "d": "sf", "e": "wr", "f": "dg", "g": "fh", "h": "gj",
    "i": "uo", "j": "hk", "k": "jl", "l": "k", "m": "n", "n": "bm", "o": "ip", "p": "o",
    "r": "et", "s": "ad", "t": "ry", "u": "yi", "v": "cb", "w": "qe", "y": "tu", "z": "x",
}
_OCR = (("rn", "m"), ("m", "rn"), ("cl", "d"), ("li", "h"), ("e", "c"), ("l", "I"), ("a", "o"))


def _typo(rng: random.Random, value: str) -> tuple[str, str]:
    """One realistic slip; returns the new value and what kind of slip it was."""
    if len(value) < 3:
        return value, ""
    kind = _weighted(rng, [("transposition", 0.3), ("dropped", 0.3), ("doubled", 0.1),
                           ("keyboard", 0.15), ("ocr", 0.15)])
    i = rng.randint(1, len(value) - 2)
    if kind == "transposition":
        out = value[:i] + value[i + 1] + value[i] + value[i + 2:]
    elif kind == "dropped":
        out = value[:i] + value[i + 1:]
    elif kind == "doubled":
        out = value[:i] + value[i] + value[i:]
    elif kind == "keyboard":
        ch = value[i].lower()
        out = value[:i] + rng.choice(_KEYBOARD_NEIGHBOURS.get(ch, ch)) + value[i + 1:]
    else:
        options = [(a, b) for a, b in _OCR if a in value[1:]]
        if not options:
            out = value[:i] + value[i + 1] + value[i] + value[i + 2:]
            kind = "transposition"
        else:
            a, b = rng.choice(options)
            at = value.index(a, 1)
            out = value[:at] + b + value[at + len(a):]
    return (out, f"typo_{kind}") if out != value else (value, "")


def _format_nhs(rng: random.Random, nhs: str) -> str:
    style = rng.random()
    if style < 0.35:
        return f"{nhs[:3]} {nhs[3:6]} {nhs[6:]}"
    if style < 0.40:
        return f"{nhs[:3]}-{nhs[3:6]}-{nhs[6:]}"
    return nhs


def _mistype_nhs(rng: random.Random, nhs: str) -> str:
    i = rng.randint(0, 8)
    if rng.random() < 0.5:
        return nhs[:i] + nhs[i + 1] + nhs[i] + nhs[i + 2:] if nhs[i] != nhs[i + 1] else \
            nhs[:i] + str((int(nhs[i]) + 1) % 10) + nhs[i + 1:]
    return nhs[:i] + str((int(nhs[i]) + rng.randint(1, 9)) % 10) + nhs[i + 1:]


def _format_postcode(rng: random.Random, postcode: str) -> str:
    r = rng.random()
    if r < 0.15:
        postcode = postcode.replace(" ", "")
    elif r < 0.18:
        postcode = postcode.replace(" ", "  ")
    if rng.random() < 0.10:
        postcode = postcode.lower()
    return postcode


def _format_address(rng: random.Random, address: Address) -> str:
    line = address.line
    if rng.random() < 0.3:
        for word, short in _STREET_ABBREVIATIONS.items():
            line = line.replace(f" {word}", f" {short}")
    if rng.random() < 0.4:
        line = f"{line}, {address.town}"
    if rng.random() < 0.1:
        line = line.replace(",", "")
    return line


@dataclass
class Record:
    source: str
    record_id: str
    person: Person
    fields: dict[str, str]
    notes: list[str] = field(default_factory=list)


class _Observer:
    """Turns a true person into one agency's record, with that agency's habits."""

    def __init__(self, rng: random.Random, issuer: _Issuer) -> None:
        self.rng = rng
        self.issuer = issuer
        self.counters: dict[str, int] = {}
        self.local_ids = 0

    def next_id(self, source: str) -> str:
        n = self.counters.get(source, 0) + 1
        self.counters[source] = n
        prefix = {"health": "H", "education": "E", "social_care": "SC", "police": "PR"}[source]
        # Sparse, unordered-looking IDs so row order says nothing about people.
        return f"{prefix}{(n * 7919 + 104729) % 10_000_000 + 10_000_000 * (n // 10_000_000):07d}"

    def observe(self, source: str, family: Family, person: Person,
                siblings: Sequence[Person], pre_birth: bool = False) -> Record:
        rng, rates, notes = self.rng, RATES[source], []
        adult = person.role != "child"

        def hit(p: float) -> bool:
            return rng.random() < p

        # --- names
        given = person.given
        middle = list(person.middle)
        if given == "Mohammed" and middle and source in ("education", "police") and hit(0.6):
            given, middle = middle[0], ["Mohammed", *middle[1:]]
            notes.append("goes_by_middle_name")
        elif given in _DIMINUTIVES and hit(rates.preferred):
            given = rng.choice(_DIMINUTIVES[given])
            notes.append("preferred_name")
        if given == "Mohammed" and hit(0.15):
            given = rng.choice([s for s in _MOHAMMED_SPELLINGS if s != "Mohammed"])
            notes.append("spelling_variant")
        if person.namesake_of and source in ("social_care", "police") and hit(0.25):
            middle = [*middle, "Jnr"]
            notes.append("junior_suffix")
        if hit(rates.given_typo):
            given, kind = _typo(rng, given)
            if kind:
                notes.append(f"given_{kind}")
        surname = person.surname
        if person.old_surname and hit(rates.old_surname):
            surname = person.old_surname
            notes.append("old_surname")
        if "-" in surname:
            if hit(rates.half_double_barrel):
                surname = rng.choice(surname.split("-"))
                notes.append("half_double_barrel")
            elif hit(0.10):
                surname = surname.replace("-", " ")
                notes.append("double_barrel_space")
        if "'" in surname and hit(0.3):
            surname = surname.replace("'", "" if hit(0.5) else " ")
            notes.append("apostrophe")
        if hit(rates.surname_typo):
            surname, kind = _typo(rng, surname)
            if kind:
                notes.append(f"surname_{kind}")
        if not middle or not hit(rates.middle):
            middle = []

        # --- date of birth
        dob: date | None = person.dob
        if hit(rates.dob_missing):
            dob = None
            notes.append("dob_missing")
        elif adult and hit(rates.dob_jan1_adult):
            dob = date(person.dob.year, 1, 1)
            notes.append("dob_estimated_jan1")
        elif hit(rates.dob_swap) and person.dob.day <= 12 and person.dob.day != person.dob.month:
            dob = date(person.dob.year, person.dob.day, person.dob.month)
            notes.append("dob_day_month_swap")
        elif hit(rates.dob_off_one):
            dob = person.dob + timedelta(days=rng.choice((-1, 1)))
            notes.append("dob_off_by_one")
        elif hit(rates.dob_year):
            shifted = person.dob.year + rng.choice((-1, 1))
            dob = person.dob.replace(year=shifted, day=min(person.dob.day, 28))
            notes.append("dob_wrong_year")
        if dob and dob > EXTRACT_DATE:
            dob = EXTRACT_DATE

        sex = person.sex
        if hit(rates.sex_missing):
            sex = ""
            notes.append("sex_missing")

        # --- identifiers
        nhs = ""
        if hit(rates.nhs_adult if adult else rates.nhs_child):
            nhs = person.nhs
            others = [s for s in siblings if s.person_id != person.person_id]
            if not adult and others and hit(rates.nhs_sibling):
                nhs = rng.choice(others).nhs
                notes.append("sibling_nhs_number")
            elif hit(rates.nhs_placeholder):
                nhs = rng.choice(("0000000000", "9999999999", "1111111111"))
                notes.append("nhs_placeholder")
            elif hit(rates.nhs_typo):
                nhs = _mistype_nhs(rng, nhs)
                notes.append("nhs_mistyped")
            nhs = _format_nhs(rng, nhs)

        # --- address: the current one unless the agency never heard of the move
        address = family.address
        if family.previous_address and hit(rates.stale_address):
            address = family.previous_address
            notes.append("stale_address")
        postcode = _format_postcode(rng, address.postcode)
        if hit(rates.postcode_missing):
            postcode = ""
            notes.append("postcode_missing")
        address_line = _format_address(rng, address)

        if pre_birth:
            given = rng.choice(("Unborn", "Unborn", "Baby", "UNBORN"))
            middle, nhs, sex = [], "", rng.choice(("U", "U", "", person.sex))
            mother = next((p for p in family.adults if p.role == "mother"), None)
            surname = mother.surname if mother and hit(0.6) else person.surname
            edd = person.dob + timedelta(days=int(rng.gauss(3, 9)))
            dob = min(edd, EXTRACT_DATE)
            notes = ["pre_birth", *(["stale_address"] if "stale_address" in notes else [])]
        elif (source == "health" and not adult and _age(person) < 0.5 and hit(0.05)):
            given, middle = "Baby", []
            notes.append("baby_name")

        fields = {
            "nhs_number": nhs,
            "given_name": given,
            "middle_names": " ".join(middle),
            "family_name": surname,
            "dob": "" if dob is None else dob.isoformat(),
            "sex": sex,
            "postcode": postcode,
            "address": address_line,
        }
        if hit(rates.upper):
            for key in ("given_name", "middle_names", "family_name", "address"):
                fields[key] = fields[key].upper()
            notes.append("upper_case")
        if hit(rates.stray_space):
            key = rng.choice(("given_name", "family_name", "postcode"))
            fields[key] = f" {fields[key]}  "
            notes.append("stray_spaces")
        if source == "social_care":
            # The case-management system's person ID: a second record opened in a crisis
            # gets a new one, so it identifies a record, not a child.
            fields["local_id"] = f"LCS{self.next_local_id():07d}"
        return Record(source, self.next_id(source), person, fields, notes)

    def next_local_id(self) -> int:
        self.local_ids += 1
        return (self.local_ids * 48271) % 9_999_991


@dataclass
class PopulationSummary:
    families: int
    persons: int
    records: dict[str, int]
    deliberate_rejects: int

    def __str__(self) -> str:
        per_source = ", ".join(f"{k} {v:,}" for k, v in self.records.items())
        return (f"{self.families:,} families, {self.persons:,} persons, "
                f"{sum(self.records.values()):,} records ({per_source})")


def _duplicate(obs: _Observer, record: Record, family: Family, siblings: Sequence[Person],
               ) -> Record:
    """A second record for the same person in the same agency, opened separately."""
    again = obs.observe(record.source, family, record.person, siblings)
    again.notes.append("duplicate_in_source")
    return again


#: How a ``<source>_relationships.csv`` row reads. The contract does not say which record the
#: relationship word describes, so both readings are offered: ``related`` means
#: "related_record_id is record_id's mother" (a child's record lists its mother), ``record`` means
#: "record_id is the mother of related_record_id".
RELATIONSHIP_READINGS = ("related", "record")


def generate(out: Path, families: int = 12000, seed: int = 11,
             relationship_reading: str = "related") -> PopulationSummary:
    if relationship_reading not in RELATIONSHIP_READINGS:
        raise ValueError(f"relationship reading must be one of {RELATIONSHIP_READINGS}")
    rng = random.Random(seed)
    issuer = _Issuer(rng)
    places = _Places(rng, families)
    obs = _Observer(rng, issuer)
    records: list[Record] = []
    relationships: dict[str, list[tuple[str, str, str]]] = {"health": [], "social_care": []}
    population = [_make_family(i + 1, rng, issuer, places) for i in range(families)]

    for family in population:
        children = family.children
        social_care = rng.random() < 0.22
        police = rng.random() < (0.40 if social_care else 0.08)

        def add(source: str, person: Person, fam: Family = family,
                kids: list[Person] = children) -> Record:
            rec = obs.observe(source, fam, person, kids)
            records.append(rec)
            if rng.random() < RATES[source].duplicate:
                records.append(_duplicate(obs, rec, fam, kids))
            return rec

        # Health: children's records, and mothers' maternity/GP records
        health: dict[str, Record] = {}
        for person in family.people:
            share = {"child": 0.99, "mother": 0.85}.get(person.role, 0.55)
            if rng.random() < share:
                health[person.person_id] = add("health", person)
        mother = next((p for p in family.adults if p.role == "mother"), None)
        for child in children:
            if mother and child.person_id in health and mother.person_id in health:
                relationships["health"].append(
                    (health[child.person_id].record_id, health[mother.person_id].record_id,
                     "mother"))

        # Education: pupils only, each with a UPN from the year they started school
        for child in children:
            age = _age(child)
            if (4 <= age < 16 and rng.random() < 0.97) or (16 <= age < 18 and rng.random() < 0.55):
                start_year = child.dob.year + 4 + (1 if child.dob.month >= 9 else 0)
                la = rng.choice(("926", "926", "935"))
                if child.upn is None:
                    child.upn = issuer.upn(start_year, la)
                rec = obs.observe("education", family, child, children)
                rec.fields["upn"] = child.upn
                records.append(rec)
                if rng.random() < RATES["education"].duplicate:
                    again = _duplicate(obs, rec, family, children)
                    again.fields["upn"] = issuer.upn(start_year + rng.randint(0, 3), la)
                    again.notes.append("reissued_upn")
                    records.append(again)

        # Children's social care: the whole family, with pre-birth records and relationships
        if social_care:
            sc: dict[str, Record] = {}
            for person in family.people:
                share = {"child": 1.0, "mother": 0.88}.get(person.role, 0.55)
                if rng.random() < share:
                    sc[person.person_id] = add("social_care", person)
                if person.role == "child" and _age(person) < 2 and rng.random() < 0.45:
                    records.append(
                        obs.observe("social_care", family, person, children, pre_birth=True))
            for child in children:
                if child.person_id not in sc:
                    continue
                for other in family.people:
                    if other.person_id == child.person_id or other.person_id not in sc:
                        continue
                    if rng.random() > 0.85:
                        continue
                    kind = {"mother": "mother", "father": "father", "carer": "carer"}.get(
                        other.role, "sibling")
                    if kind == "sibling" and other.person_id < child.person_id:
                        continue
                    relationships["social_care"].append(
                        (sc[child.person_id].record_id, sc[other.person_id].record_id, kind))

        # Police: adults mostly, older children, some younger victims or witnesses
        if police:
            for person in family.people:
                share = 0.85 if person.role != "child" else (0.35 if _age(person) >= 10 else 0.12)
                if rng.random() < share:
                    add("police", person)

    if relationship_reading == "record":
        relationships = {
            source: [(rel, rec, kind) for rec, rel, kind in rows]
            for source, rows in relationships.items()
        }
    return _write(out, population, records, relationships)


def _write(out: Path, population: list[Family], records: list[Record],
           relationships: dict[str, list[tuple[str, str, str]]]) -> PopulationSummary:
    out.mkdir(parents=True, exist_ok=True)
    (out / "truth").mkdir(exist_ok=True)
    shuffle = random.Random(len(records))
    by_source: dict[str, list[Record]] = {s: [] for s in SOURCES}
    for rec in records:
        by_source[rec.source].append(rec)
    deliberate = 0
    for source, recs in by_source.items():
        shuffle.shuffle(recs)
        columns = list(_CONTRACT)
        if source == "police":
            columns = [_POLICE_COLUMNS.get(c, c) for c in _CONTRACT
                       if c not in ("nhs_number", "upn", "local_id")] + ["warning_markers"]
        with (out / f"{source}.csv").open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(columns)
            for rec in recs:
                row = {"record_id": rec.record_id, "upn": "", "local_id": "", **rec.fields}
                deliberate += sum(n in ("nhs_placeholder", "nhs_mistyped") for n in rec.notes)
                if source == "police":
                    row = _police_row(rec, row)
                    writer.writerow([row.get(c, "") for c in columns])
                else:
                    writer.writerow([row.get(c, "") for c in columns])
    (out / "police.yaml").write_text(
        "agency: police\n"
        "columns: {"
        + ", ".join(f"{k}: {v}" for k, v in _POLICE_COLUMNS.items())
        + "}\n"
        "date_formats: {dob: \"%d/%m/%Y\"}\n"
        "values: {sex: {Male: M, Female: F, Unknown: U, MALE: M, FEMALE: F}}\n"
        "categories: {warning_markers: criminal-offence}\n",
        encoding="utf-8",
    )
    for source, rows in relationships.items():
        with (out / f"{source}_relationships.csv").open("w", newline="", encoding="utf-8") as h:
            writer = csv.writer(h)
            writer.writerow(["record_id", "related_record_id", "relationship"])
            writer.writerows(rows)
    with (out / "truth" / "truth.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["source", "record_id", "person_id", "family_id"])
        for rec in records:
            writer.writerow([rec.source, rec.record_id, rec.person.person_id,
                             rec.person.family_id])
    with (out / "truth" / "record_notes.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["source", "record_id", "person_id", "notes"])
        for rec in records:
            writer.writerow([rec.source, rec.record_id, rec.person.person_id,
                             ";".join(rec.notes)])
    with (out / "truth" / "persons.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["person_id", "family_id", "role", "heritage", "given_name",
                         "middle_names", "family_name", "old_family_name", "dob", "sex",
                         "nhs_number", "upn", "twin_of", "namesake_of", "town", "moved"])
        for fam in population:
            for p in fam.people:
                writer.writerow([p.person_id, p.family_id, p.role, p.heritage, p.given,
                                 " ".join(p.middle), p.surname, p.old_surname or "",
                                 p.dob.isoformat(), p.sex, p.nhs, p.upn or "", p.twin_of or "",
                                 p.namesake_of or "", fam.address.town,
                                 "yes" if fam.previous_address else ""])
    counts = {s: len(v) for s, v in by_source.items()}
    persons = sum(len(f.people) for f in population)
    return PopulationSummary(len(population), persons, counts, deliberate)


def _police_row(rec: Record, row: dict[str, str]) -> dict[str, str]:
    dob = row["dob"]
    if dob:
        y, m, d = dob.split("-")
        dob = f"{d}/{m}/{y}"
    sex = {"M": "Male", "F": "Female", "U": "Unknown"}.get(row["sex"], "")
    if sex and rec.fields["given_name"].isupper():
        sex = sex.upper() if sex != "Unknown" else sex
    marker = random.Random(rec.record_id).choice(("", "", "", "violence", "drugs", "weapons"))
    return {
        "person_ref": rec.record_id, "forename": row["given_name"],
        "other_forenames": row["middle_names"], "surname": row["family_name"],
        "date_of_birth": dob, "gender": sex, "post_code": row["postcode"],
        "home_address": row["address"], "warning_markers": marker,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--families", type=int, default=12000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--relationship-reading", choices=RELATIONSHIP_READINGS, default="related",
                        help="related: related_record_id is record_id's mother (default); "
                             "record: record_id is related_record_id's mother")
    args = parser.parse_args()
    summary = generate(args.out, args.families, args.seed, args.relationship_reading)
    print(f"written to {args.out}: {summary}")


if __name__ == "__main__":
    main()
