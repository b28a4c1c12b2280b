"""Households and the people in them: the truth every agency's records are drawn from.

A household is the people living at one address on the extract date; its ``family_id`` is the truth
family. A parent who has left (separation) or a birth parent whose child lives with grandparents is
a person of their *own* household (their own ``family_id``, a single-person household at a new
address whose previous address is the family home) and is tied to the children only by a bond
(``mother``/``father``). Kinds of household and their shares:

==============  =====  ====================================================================
kind            share  who lives there
==============  =====  ====================================================================
couple           40 %  mother and father, 1–5 children (married couples share a surname)
single-mother    21 %  mother and children; the father lives elsewhere (55 % known)
single-father   2.5 %  father and children; the mother lives elsewhere (50 % known)
step             12 %  mother, step-father, her older children (their father's surname) and
                       their younger half-siblings (step-father's surname)
kinship         2.5 %  grandmother (and grandfather) caring for 1–3 grandchildren
no-children      22 %  one adult or a couple
==============  =====  ====================================================================

Births: twins 2 % of births (triplets 1 in 2,000), sharing date of birth, surname, address and, in
65 % of sets, sex; their given names always differ and in a quarter of sets are a similar pair
(Jayden/Jaydon). Some sons carry their father's given name (4 %). One household in ten moved within
the last three years and so has a previous address that agencies may still hold.
"""

from __future__ import annotations

import random
from bisect import bisect
from dataclasses import dataclass, field
from datetime import date
from itertools import accumulate
from typing import Final

from linkage.synth.identifiers import OTHER_LA_CODES, NhsNumberIssuer, UpnIssuer
from linkage.synth.ids import IdSequence
from linkage.synth.names import (
    ADULT_FEMALE,
    ADULT_MALE,
    CHILD_FEMALE,
    CHILD_MALE,
    DIMINUTIVES,
    ELDER_FEMALE,
    ELDER_MALE,
    RARE_SURNAME_HEADS,
    RARE_SURNAME_TAILS,
    SURNAMES,
    TWIN_NAMES_FEMALE,
    TWIN_NAMES_MALE,
)
from linkage.synth.places import Address, Place, School

__all__ = [
    "EXTRACT_DATE",
    "INVOLVEMENT",
    "Bond",
    "FamilyGroup",
    "Household",
    "Person",
    "PopulationBuilder",
]

#: The day every agency's extract was taken; ages and school years are counted at this date.
EXTRACT_DATE: Final = date(2025, 6, 30)
_TODAY: Final = EXTRACT_DATE.toordinal()
_CURRENT_SCHOOL_YEAR: Final = 2024  # the academic year that started in September 2024

_KINDS: Final = (
    ("couple", 0.40),
    ("single-mother", 0.21),
    ("single-father", 0.025),
    ("step", 0.12),
    ("kinship", 0.025),
    ("no-children", 0.22),
)
_CHILD_COUNTS: Final = ((1, 0.38), (2, 0.36), (3, 0.16), (4, 0.07), (5, 0.03))

TWIN_RATE: Final = 0.02
TRIPLET_RATE: Final = 0.0005
MOVED_RATE: Final = 0.10
JUNIOR_RATE: Final = 0.04
PREFERRED_NAME_RATE: Final = 0.18
PREGNANCY_RATE: Final = 0.035
#: Restricted markers (person-level, except refuge, which is household-level).
ADOPTION_RATE: Final = 0.003
GENDER_RECOGNITION_RATE: Final = 0.0008
NHS_RESTRICTED_RATE: Final = 0.002
REFUGE_RATE: Final = 0.003
#: Share of each kind of household known to children's social care (ever, open or closed).
INVOLVEMENT: Final = {
    "couple": 0.22,
    "single-mother": 0.55,
    "single-father": 0.5,
    "step": 0.55,
    "kinship": 0.95,
    "no-children": 0.0,
}


@dataclass(slots=True, eq=False)
class Person:
    person_id: str
    family_id: str
    role: str  # mother, father, step-father, grandmother, grandfather, child, adult, unborn
    given: str
    middle: tuple[str, ...]
    surname: str
    other_surnames: tuple[str, ...]  # other surnames this person is or was known by
    preferred: str  # the short form they go by, or ""
    dob: date
    sex: str
    nhs: str
    address: Address
    previous_address: Address | None
    upn: str = ""
    school: School | None = None
    school_year: int = -1  # 0 = Reception … 13 = Year 13; -1 not at school
    twin_group: str = ""
    mother_id: str = ""
    father_id: str = ""
    restriction: str = ""

    @property
    def age(self) -> int:
        d = self.dob
        before_birthday = (EXTRACT_DATE.month, EXTRACT_DATE.day) < (d.month, d.day)
        return EXTRACT_DATE.year - d.year - before_birthday

    @property
    def unborn(self) -> bool:
        return self.role == "unborn"

    @property
    def adult(self) -> bool:
        return self.role not in ("child", "unborn")


@dataclass(slots=True)
class Household:
    family_id: str
    kind: str
    members: list[Person]
    town: str
    gp_practice: str
    involved: bool = False  # known to children's social care


@dataclass(slots=True)
class Bond:
    """``a`` IS the ``kind`` OF ``b`` (mother, father, step-parent, carer, sibling)."""

    a: Person
    b: Person
    kind: str


@dataclass(slots=True)
class FamilyGroup:
    home: Household
    elsewhere: list[Person] = field(default_factory=list)  # parents living apart
    bonds: list[Bond] = field(default_factory=list)

    @property
    def everyone(self) -> list[Person]:
        return self.home.members + self.elsewhere


def _rank_weights(names: tuple[str, ...], power: float, offset: float) -> list[float]:
    return list(accumulate(1.0 / (rank + offset) ** power for rank in range(len(names))))


class _NamePool:
    def __init__(self, names: tuple[str, ...], power: float = 0.9, offset: float = 3.0) -> None:
        self.names = names
        self.cum = _rank_weights(names, power, offset)
        self.total = self.cum[-1]

    def draw(self, rng: random.Random, avoid: set[str] | None = None) -> str:
        while True:
            name = self.names[bisect(self.cum, rng.random() * self.total)]
            if not avoid or name not in avoid:
                return name


class PopulationBuilder:
    """Builds one family group at a time so memory stays flat for any population size."""

    def __init__(self, families: int, seed: int, surname_skew: float = 0.0) -> None:
        self.rng = random.Random(seed)
        #: Share of surname draws that give the most common surname outright (see ``surname``).
        self.surname_skew = surname_skew
        self.place = Place(families, random.Random(f"place-{seed}"))
        self._nhs = NhsNumberIssuer(seed)
        self._upns = UpnIssuer()
        self._person_ids = IdSequence("tp", 9, f"person-{seed}")
        self._family_ids = IdSequence("tf", 8, f"family-{seed}")
        self._pools = {
            ("child", "M"): _NamePool(CHILD_MALE),
            ("child", "F"): _NamePool(CHILD_FEMALE),
            ("adult", "M"): _NamePool(ADULT_MALE),
            ("adult", "F"): _NamePool(ADULT_FEMALE),
            ("elder", "M"): _NamePool(ELDER_MALE),
            ("elder", "F"): _NamePool(ELDER_FEMALE),
        }
        self._surnames = _NamePool(SURNAMES, power=0.55, offset=1.0)
        self._kind_cum = list(accumulate(w for _, w in _KINDS))
        self._count_cum = list(accumulate(w for _, w in _CHILD_COUNTS))

    # ---- small draws -------------------------------------------------------------------------

    def surname(self) -> str:
        """A household's surname. With ``surname_skew``, that share of draws is the most common
        surname, as in towns where a few surnames dominate: the blocks on surname that grow
        with the square of their size are what a linkage run must survive."""
        rng = self.rng
        if self.surname_skew and rng.random() < self.surname_skew:
            return SURNAMES[0]
        if rng.random() < 0.45:
            return rng.choice(RARE_SURNAME_HEADS) + rng.choice(RARE_SURNAME_TAILS)
        return self._surnames.draw(rng)

    def _given(self, dob: date, sex: str, avoid: set[str]) -> str:
        era = "child" if dob.year >= 2005 else "adult" if dob.year >= 1965 else "elder"
        return self._pools[(era, sex)].draw(self.rng, avoid)

    def _dob_years_before(self, anchor: date, years: float) -> date:
        return date.fromordinal(anchor.toordinal() - int(years * 365.25))

    def person(
        self,
        family: Household,
        role: str,
        sex: str,
        dob: date,
        surname: str,
        address: Address,
        previous: Address | None,
        avoid: set[str] | None = None,
        given: str = "",
        other_surnames: tuple[str, ...] = (),
    ) -> Person:
        rng = self.rng
        avoid = avoid if avoid is not None else set()
        if not given:
            given = self._given(dob, sex, avoid)
        middle: tuple[str, ...] = ()
        r = rng.random()
        if r < 0.72:
            first = self._given(dob, sex, avoid | {given})
            middle = (first,)
            if r < 0.09:
                middle = (first, self._given(dob, sex, avoid | {given, first}))
        preferred = ""
        if given in DIMINUTIVES and rng.random() < PREFERRED_NAME_RATE:
            preferred = rng.choice(DIMINUTIVES[given])
        person = Person(
            person_id=self._person_ids.next(),
            family_id=family.family_id,
            role=role,
            given=given,
            middle=middle,
            surname=surname,
            other_surnames=tuple(s for s in other_surnames if s and s != surname),
            preferred=preferred,
            dob=dob,
            sex=sex,
            nhs=self._nhs.issue(),
            address=address,
            previous_address=previous,
        )
        if role == "child" and rng.random() < ADOPTION_RATE:
            person.restriction = "adoption"
        elif person.age >= 16 and rng.random() < GENDER_RECOGNITION_RATE:
            person.restriction = "gender-recognition"
        elif rng.random() < NHS_RESTRICTED_RATE:
            person.restriction = "nhs-restricted"
        avoid.add(given)
        return person

    def _household(self, kind: str) -> Household:
        town = self.place.town_of_new_household()
        practices = self.place.practices[town]
        return Household(self._family_ids.next(), kind, [], town, self.rng.choice(practices))

    def _living_apart(
        self,
        group: FamilyGroup,
        role: str,
        sex: str,
        dob: date,
        surname: str,
        other_surnames: tuple[str, ...] = (),
    ) -> Person:
        """A parent in their own household at a new address; the family home is their last."""
        home = group.home
        own = Household(self._family_ids.next(), "living-apart", [], home.town, home.gp_practice)
        former = home.members[0].previous_address or home.members[0].address
        address = self.place.new_address(home.town if self.rng.random() < 0.8 else None)
        person = self.person(
            own, role, sex, dob, surname, address, former, other_surnames=other_surnames
        )
        group.elsewhere.append(person)
        return person

    # ---- one family group ------------------------------------------------------------------------

    def family(self) -> FamilyGroup:
        rng = self.rng
        kind = _KINDS[bisect(self._kind_cum, rng.random() * self._kind_cum[-1])][0]
        home = self._household(kind)
        home.involved = rng.random() < INVOLVEMENT[kind]
        group = FamilyGroup(home)
        address = self.place.new_address(home.town)
        previous = None
        if rng.random() < MOVED_RATE:
            previous = self.place.new_address(home.town if rng.random() < 0.85 else None)
        if kind == "no-children":
            self._adults_only(group, address, previous)
        else:
            self._with_children(group, address, previous)
        self._schools(group)
        if kind != "no-children" and rng.random() < REFUGE_RATE:
            for p in home.members:
                if p.role in ("mother", "child", "unborn"):
                    p.restriction = "refuge-address"
        return group

    def _adults_only(self, group: FamilyGroup, address: Address, previous: Address | None) -> None:
        rng = self.rng
        home = group.home
        first_dob = date.fromordinal(_TODAY - rng.randrange(int(18 * 365.25), int(85 * 365.25)))
        surname = self.surname()
        first_sex = "F" if rng.random() < 0.5 else "M"
        first = self.person(home, "adult", first_sex, first_dob, surname, address, previous)
        home.members.append(first)
        if rng.random() < 0.55:
            sex = "M" if first_sex == "F" else "F"
            dob = self._dob_years_before(first_dob, rng.gauss(0, 4))
            married = rng.random() < 0.6
            own = self.surname()
            partner = self.person(
                home,
                "adult",
                sex,
                dob,
                surname if married else own,
                address,
                previous,
                other_surnames=(own,) if married else (),
            )
            home.members.append(partner)

    def _births(self, first: date, count: int, until: int = _TODAY) -> list[list[date]]:
        """Birth events from ``first``: each a list of one date (or two/three for twins)."""
        rng = self.rng
        births: list[list[date]] = []
        born = 0
        day = first.toordinal()
        while born < count and day <= until:
            r = rng.random()
            size = 3 if r < TRIPLET_RATE else 2 if r < TWIN_RATE else 1
            if born + size > 5:
                size = 1
            births.append([date.fromordinal(day)] * size)
            born += size
            day += int((1.2 + rng.expovariate(1 / 1.8)) * 365.25)
        return births

    def _children_of(
        self,
        group: FamilyGroup,
        births: list[list[date]],
        surname: str,
        address: Address,
        previous: Address | None,
        mother: Person | None,
        father: Person | None,
        names: set[str],
        other_surnames: tuple[str, ...] = (),
    ) -> list[Person]:
        rng = self.rng
        home = group.home
        children: list[Person] = []
        for event in births:
            sexes = ["M" if rng.random() < 0.512 else "F"]
            for _ in event[1:]:
                same = rng.random() < 0.65
                sexes.append(sexes[0] if same else ("F" if sexes[0] == "M" else "M"))
            givens = [""] * len(event)
            if len(event) == 2 and sexes[0] == sexes[1] and rng.random() < 0.25:
                pairs = TWIN_NAMES_MALE if sexes[0] == "M" else TWIN_NAMES_FEMALE
                candidates = [p for p in pairs if p[0] not in names and p[1] not in names]
                if candidates:
                    givens = list(rng.choice(candidates))
            elif len(event) == 1:
                if (
                    sexes[0] == "M"
                    and father
                    and father.given not in names
                    and rng.random() < JUNIOR_RATE
                ):
                    givens = [father.given]
                elif (
                    sexes[0] == "F"
                    and mother
                    and mother.given not in names
                    and rng.random() < JUNIOR_RATE / 4
                ):
                    givens = [mother.given]
            twin_group = f"{home.family_id}-m{len(children)}" if len(event) > 1 else ""
            for dob, sex, given in zip(event, sexes, givens, strict=True):
                child = self.person(
                    home,
                    "child",
                    sex,
                    dob,
                    surname,
                    address,
                    previous,
                    avoid=names,
                    given=given,
                    other_surnames=other_surnames,
                )
                child.twin_group = twin_group
                child.mother_id = mother.person_id if mother else ""
                child.father_id = father.person_id if father else ""
                children.append(child)
        return children

    def _child_surname(
        self, father_name: str, mother_name: str, p_father: float, p_mother: float
    ) -> str:
        r = self.rng.random()
        if r < p_father:
            return father_name
        if r < p_father + p_mother:
            return mother_name
        return f"{mother_name}-{father_name}" if mother_name != father_name else father_name

    def _with_children(
        self, group: FamilyGroup, address: Address, previous: Address | None
    ) -> None:
        rng = self.rng
        home = group.home
        kind = home.kind
        count = _CHILD_COUNTS[bisect(self._count_cum, rng.random() * self._count_cum[-1])][0]
        eldest = date.fromordinal(_TODAY - rng.randrange(0, int(19.9 * 365.25)))
        mother_age_at_first = min(42.0, max(16.0, rng.gauss(27.5, 5.5)))
        mother_dob = self._dob_years_before(eldest, mother_age_at_first)
        father_dob = self._dob_years_before(mother_dob, min(12.0, max(-6.0, rng.gauss(2.5, 4))))
        maiden, dads = self.surname(), self.surname()
        names: set[str] = set()
        bonds = group.bonds
        mother: Person | None = None
        father: Person | None = None
        carers: list[Person] = []
        step_parent: Person | None = None
        children: list[Person] = []

        if kind == "couple":
            married = rng.random() < 0.7
            father = self.person(home, "father", "M", father_dob, dads, address, previous)
            mother = self.person(
                home,
                "mother",
                "F",
                mother_dob,
                dads if married else maiden,
                address,
                previous,
                other_surnames=(maiden,),
            )
            home.members += [mother, father]
            surname = (
                self._child_surname(dads, maiden, 0.95, 0.0)
                if married
                else self._child_surname(dads, maiden, 0.7, 0.15)
            )
            children = self._children_of(
                group,
                self._births(eldest, count),
                surname,
                address,
                previous,
                mother,
                father,
                names,
            )
        elif kind in ("single-mother", "single-father"):
            was_married = rng.random() < 0.35
            kept = was_married and rng.random() < 0.5
            mother_surname = dads if kept else maiden
            mother_others = (maiden, dads) if was_married else ()
            surname = self._child_surname(dads, maiden, 0.55, 0.35)
            if kind == "single-mother":
                mother = self.person(
                    home,
                    "mother",
                    "F",
                    mother_dob,
                    mother_surname,
                    address,
                    previous,
                    other_surnames=mother_others,
                )
                home.members.append(mother)
                if rng.random() < 0.55:
                    father = self._living_apart(group, "father", "M", father_dob, dads)
            else:
                father = self.person(home, "father", "M", father_dob, dads, address, previous)
                home.members.append(father)
                if rng.random() < 0.5:
                    mother = self._living_apart(
                        group, "mother", "F", mother_dob, mother_surname, mother_others
                    )
            children = self._children_of(
                group,
                self._births(eldest, count),
                surname,
                address,
                previous,
                mother,
                father,
                names,
            )
        elif kind == "step":
            step_name = self.surname()
            married_step = rng.random() < 0.55
            was_married = rng.random() < 0.4
            mother_surname = step_name if married_step else (dads if was_married else maiden)
            mother = self.person(
                home,
                "mother",
                "F",
                mother_dob,
                mother_surname,
                address,
                previous,
                other_surnames=(maiden, dads if was_married else ""),
            )
            step_dob = self._dob_years_before(mother_dob, rng.gauss(1.5, 5))
            step_parent = self.person(
                home, "step-father", "M", step_dob, step_name, address, previous
            )
            home.members += [mother, step_parent]
            if rng.random() < 0.6:
                father = self._living_apart(group, "father", "M", father_dob, dads)
            older_count = max(1, count - rng.randrange(0, 3))
            older = self._births(eldest, older_count)
            last_older = older[-1][0].toordinal()
            older_name = dads if rng.random() < 0.75 else maiden
            known_as = (step_name,) if rng.random() < 0.5 else ()
            children = self._children_of(
                group,
                older,
                older_name,
                address,
                previous,
                mother,
                father,
                names,
                other_surnames=known_as,
            )
            younger_first = date.fromordinal(last_older + int((2 + rng.expovariate(0.5)) * 365.25))
            if count > older_count and younger_first.toordinal() <= _TODAY:
                younger = self._children_of(
                    group,
                    self._births(younger_first, count - older_count),
                    step_name,
                    address,
                    previous,
                    mother,
                    step_parent,
                    names,
                )
                for child in younger:
                    bonds.append(Bond(step_parent, child, "father"))
                for child in children:
                    bonds.append(Bond(step_parent, child, "step-parent"))
                children += younger
            else:
                for child in children:
                    bonds.append(Bond(step_parent, child, "step-parent"))
        else:  # kinship: grandparents bring up their daughter's children
            count = min(count, 3)
            grandma_dob = self._dob_years_before(mother_dob, min(40.0, max(17.0, rng.gauss(25, 5))))
            grand_name = self.surname()
            grandma = self.person(
                home, "grandmother", "F", grandma_dob, grand_name, address, previous
            )
            home.members.append(grandma)
            carers.append(grandma)
            if rng.random() < 0.6:
                grandpa_dob = self._dob_years_before(grandma_dob, rng.gauss(2, 3))
                grandpa = self.person(
                    home, "grandfather", "M", grandpa_dob, grand_name, address, previous
                )
                home.members.append(grandpa)
                carers.append(grandpa)
            if rng.random() < 0.6:
                mother = self._living_apart(group, "mother", "F", mother_dob, grand_name)
            surname = self._child_surname(dads, grand_name, 0.5, 0.5)
            children = self._children_of(
                group, self._births(eldest, count), surname, address, previous, mother, None, names
            )
            for carer in carers:
                for child in children:
                    bonds.append(Bond(carer, child, "carer"))

        for child in children:
            if mother and child.mother_id == mother.person_id:
                bonds.append(Bond(mother, child, "mother"))
            if father and child.father_id == father.person_id:
                bonds.append(Bond(father, child, "father"))
        for i, a in enumerate(children):
            for b in children[i + 1 :]:
                bonds.append(Bond(a, b, "sibling"))
        home.members += children
        if mother and mother in home.members and mother.age < 43 and rng.random() < PREGNANCY_RATE:
            due = date.fromordinal(_TODAY + rng.randrange(7, 182))
            last = children[-1] if children else None
            unborn = Person(
                person_id=self._person_ids.next(),
                family_id=home.family_id,
                role="unborn",
                given="",
                middle=(),
                surname=last.surname if last else mother.surname,
                other_surnames=(),
                preferred="",
                dob=due,
                sex="U",
                nhs="",
                address=address,
                previous_address=None,
                mother_id=mother.person_id,
                father_id=other.person_id if (other := step_parent or father) else "",
            )
            home.members.append(unborn)
            bonds.append(Bond(mother, unborn, "mother"))

    # ---- schools -------------------------------------------------------------------------------

    def _schools(self, group: FamilyGroup) -> None:
        rng = self.rng
        schools = self.place.schools[group.home.town]
        primary = rng.choice(schools["primary"])
        secondary = rng.choice(schools["secondary"])
        arrived_from = rng.choice(OTHER_LA_CODES) if rng.random() < 0.12 else ""
        for child in group.home.members:
            if child.role != "child":
                continue
            d = child.dob
            entry = d.year + (4 if (d.month, d.day) < (9, 1) else 5)
            year_group = _CURRENT_SCHOOL_YEAR - entry
            if year_group < 0:
                continue
            first_school = primary if rng.random() < 0.85 else rng.choice(schools["primary"])
            if arrived_from and year_group > 1:
                la, number = arrived_from, f"{rng.randrange(2000, 2999):04d}"
            else:
                la, number = first_school.la_code, first_school.number
            child.upn = self._upns.issue(la, number, entry)
            if year_group > 13:
                continue
            child.school_year = year_group
            if year_group <= 6:
                child.school = first_school
            else:
                child.school = (
                    secondary if rng.random() < 0.85 else rng.choice(schools["secondary"])
                )
