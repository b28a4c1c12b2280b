"""How each agency sees the people of a family: who it holds, which fields, and how well.

Relationship direction, in every ``<source>_relationships.csv``: ``record_id``'s person IS the
``relationship`` OF ``related_record_id``'s person. ``mother`` from a mother's record to her
child's record reads "this record is the mother of that one"; ``sibling`` is written once per pair.

* health — a community-health and GP extract: nearly every child, mothers of young children, some
  other adults; NHS numbers on nearly all records; birth registrations link mother → child.
* education — pupils (Reception to Year 13) with UPNs and school contacts (parents and carers, who
  have no UPN and usually no date of birth); contacts link to the pupils at that school as
  ``parent`` or ``carer``.
* social_care — families known to children's social care: children, their parents (including
  those living elsewhere) and kinship carers; ``local_id`` is the case system's person ID (a
  duplicate opened later gets a new one); pre-birth "Unborn"/"Baby" records dated at the expected
  delivery date, sometimes under the same ``local_id`` as the born child's record.
* police — people from incidents and offences, with no identifier at all, in the force's own layout.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta
from typing import Final

from linkage.contract import CANONICAL_COLUMNS
from linkage.synth.errors import Corruptor, ErrorRates
from linkage.synth.ids import IdSequence
from linkage.synth.people import FamilyGroup, Person
from linkage.synth.places import Place

__all__ = ["LAYOUTS", "SOURCES", "Agencies", "Record", "Relationship"]

SOURCES: Final = ("health", "education", "social_care", "police")


def _layout(held: tuple[str, ...], extras: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(c for c in CANONICAL_COLUMNS if c in held) + extras


#: Column order of each extract as written (police in its own, non-canonical layout).
LAYOUTS: Final[dict[str, tuple[str, ...]]] = {
    "health": _layout(
        (
            "record_id",
            "nhs_number",
            "given_name",
            "middle_names",
            "family_name",
            "dob",
            "sex",
            "postcode",
            "address",
        ),
        ("gp_practice", "health_visitor", "safeguarding_flag", "restriction"),
    ),
    "education": _layout(
        (
            "record_id",
            "nhs_number",
            "upn",
            "given_name",
            "middle_names",
            "family_name",
            "dob",
            "sex",
            "postcode",
            "address",
        ),
        ("school_urn", "attendance_pct", "send_status", "restriction"),
    ),
    "social_care": _layout(
        CANONICAL_COLUMNS,
        ("case_status", "allocated_worker", "cp_plan", "restriction"),
    ),
    "police": (
        "person_ref",
        "forename",
        "surname",
        "date_of_birth",
        "gender",
        "post_code",
        "address_line",
        "offence_flag",
        "incident_count",
        "restriction",
    ),
}

#: Which restricted markers each agency knows about.
_MARKERS: Final = {
    "health": {"adoption", "gender-recognition", "nhs-restricted", "refuge-address"},
    "education": {"adoption", "refuge-address"},
    "social_care": {"adoption", "gender-recognition", "refuge-address"},
    "police": {"refuge-address"},
}


@dataclass(frozen=True)
class _Profile:
    """How carefully an agency records people, as factors on the shared error rates."""

    preferred: float  # factor on ErrorRates.preferred_name
    other_surname: float
    middle_recorded: float  # share of records that hold middle names at all
    dob: float
    missing: float
    stale: float


_PROFILES: Final = {
    "health": _Profile(
        preferred=0.25, other_surname=0.6, middle_recorded=0.85, dob=0.6, missing=0.6, stale=1.2
    ),
    "education": _Profile(
        preferred=1.6, other_surname=1.6, middle_recorded=0.7, dob=0.5, missing=0.6, stale=0.5
    ),
    "social_care": _Profile(
        preferred=0.9, other_surname=1.0, middle_recorded=0.45, dob=1.3, missing=2.5, stale=1.0
    ),
    "police": _Profile(
        preferred=1.4, other_surname=1.4, middle_recorded=0.0, dob=2.0, missing=2.5, stale=1.3
    ),
}


#: Chance that a resident adult is a school contact (per school their children attend).
_CONTACT_RATES: Final = {
    "mother": 0.5,
    "father": 0.25,
    "step-father": 0.2,
    "grandmother": 0.6,
    "grandfather": 0.25,
}
#: Chance that a member of a family known to children's social care has a record there.
_SOCIAL_CARE_RATES: Final = {
    "mother": 0.92,
    "father": 0.75,
    "step-father": 0.65,
    "grandmother": 0.95,
    "grandfather": 0.9,
    "child": 0.97,
    "unborn": 0.9,
}


@dataclass(slots=True)
class Record:
    source: str
    record_id: str
    person: Person
    fields: dict[str, str]
    errors: list[str]


Relationship = tuple[str, str, str]  # record_id, related_record_id, relationship


class Agencies:
    """Turns each family group into the records and relationships of the four extracts."""

    def __init__(self, seed: int, rates: ErrorRates, place: Place) -> None:
        self.rng = random.Random(f"agencies-{seed}")
        self.rates = rates
        self.fix = Corruptor(self.rng, rates)
        self.place = place
        self._ids = {
            "health": IdSequence("H", 8, f"health-{seed}"),
            "education": IdSequence("E", 8, f"education-{seed}"),
            "social_care": IdSequence("SC", 8, f"social-care-{seed}"),
            "police": IdSequence("PR", 8, f"police-{seed}"),
        }
        self._local_ids = IdSequence("1", 7, f"lcs-{seed}")

    def records(self, group: FamilyGroup) -> dict[str, tuple[list[Record], list[Relationship]]]:
        return {
            "health": self._health(group),
            "education": self._education(group),
            "social_care": self._social_care(group),
            "police": self._police(group),
        }

    # ---- shared ------------------------------------------------------------------------------

    def _identity(
        self, source: str, p: Person, errs: list[str], *, middle: bool = True, dob: bool = True
    ) -> dict[str, str]:
        """Name, date of birth, sex and address as this agency holds them (canonical names)."""
        fix = self.fix
        prof = _PROFILES[source]
        share = min(1.0, self.rates.preferred_name * prof.preferred)
        postcode, address = fix.address(
            p.address, p.previous_address, prof.stale, prof.missing, errs
        )
        return {
            "given_name": fix.noise(fix.given_name(p.given, p.preferred, share, errs), errs),
            "middle_names": fix.middle_names(p.middle, prof.middle_recorded, errs)
            if middle
            else "",
            "family_name": fix.noise(
                fix.family_name(p.surname, p.other_surnames, prof.other_surname, errs), errs
            ),
            "dob": fix.dob(
                p.dob,
                prof.dob * (1.5 if p.adult else 1.0),
                prof.missing * (1.5 if p.adult else 1.0),
                errs,
            )
            if dob
            else "",
            "sex": fix.sex(p.sex, prof.missing, errs),
            "postcode": fix.noise(postcode, errs),
            "address": fix.noise(address, errs),
        }

    def _marker(self, source: str, p: Person) -> str:
        return p.restriction if p.restriction in _MARKERS[source] else ""

    def _copies(self, rate: float) -> int:
        return 2 if self.rng.random() < rate else 1

    @staticmethod
    def _sibling_nhs(p: Person, group: FamilyGroup) -> str:
        if p.role != "child":
            return ""
        best = ""
        for other in group.home.members:
            if other is not p and other.role == "child":
                if p.twin_group and other.twin_group == p.twin_group:
                    return other.nhs
                best = best or other.nhs
        return best

    # ---- health ------------------------------------------------------------------------------

    def _health_coverage(self, p: Person, group: FamilyGroup, young: bool) -> float:
        if p.role == "child":
            return 0.96
        if p in group.elsewhere:
            return 0.25
        if p.role == "mother":
            return 0.9 if young else 0.5
        if p.role in ("grandmother", "grandfather"):
            return 0.5
        if p.role == "adult":
            return 0.23
        return 0.33

    def _health(self, group: FamilyGroup) -> tuple[list[Record], list[Relationship]]:
        rng = self.rng
        home = group.home
        young = any(p.role == "child" and p.age < 5 for p in home.members)
        visitor = rng.choice(self.place.health_visitors[home.town])
        records: list[Record] = []
        first: dict[str, str] = {}
        for p in group.everyone:
            if p.unborn or rng.random() >= self._health_coverage(p, group, young):
                continue
            for copy in range(self._copies(self.rates.duplicate_health)):
                errs: list[str] = ["duplicate"] if copy else []
                rid = self._ids["health"].next()
                fields = self._identity("health", p, errs)
                nhs = ""
                if rng.random() < 0.99:
                    nhs = self.fix.nhs_number(p.nhs, self._sibling_nhs(p, group), errs)
                else:
                    errs.append("nhs_missing")
                fields.update(
                    record_id=rid,
                    nhs_number=nhs,
                    gp_practice=home.gp_practice
                    if rng.random() < 0.95
                    else rng.choice(self.place.practices[home.town]),
                    health_visitor=visitor if p.role == "child" and p.age < 5 else "",
                    safeguarding_flag="Y" if home.involved and rng.random() < 0.4 else "N",
                    restriction=self._marker("health", p),
                )
                records.append(Record("health", rid, p, fields, errs))
                first.setdefault(p.person_id, rid)
        relationships = [
            (first[b.a.person_id], first[b.b.person_id], "mother")
            for b in group.bonds
            if b.kind == "mother" and b.a.person_id in first and b.b.person_id in first
        ]
        return records, relationships

    # ---- education ---------------------------------------------------------------------------

    def _education(self, group: FamilyGroup) -> tuple[list[Record], list[Relationship]]:
        rng = self.rng
        fix = self.fix
        records: list[Record] = []
        pupils_at: dict[str, list[str]] = {}
        for p in group.home.members:
            if p.school is None or rng.random() >= (0.95 if p.school_year <= 11 else 0.5):
                continue
            for copy in range(self._copies(self.rates.duplicate_education)):
                errs: list[str] = ["duplicate"] if copy else []
                rid = self._ids["education"].next()
                fields = self._identity("education", p, errs)
                upn = fix.upn(p.upn, errs) if rng.random() < 0.997 else ""
                nhs = fix.nhs_number(p.nhs, "", errs) if rng.random() < 0.05 else ""
                send = rng.random()
                attendance = rng.gauss(88 if group.home.involved else 94, 6)
                fields.update(
                    record_id=rid,
                    upn=fix.noise(upn, errs),
                    nhs_number=nhs,
                    school_urn=p.school.urn,
                    attendance_pct=f"{min(100.0, max(20.0, attendance)):.1f}",
                    send_status="EHCP" if send < 0.04 else "SEN support" if send < 0.18 else "",
                    restriction=self._marker("education", p),
                )
                records.append(Record("education", rid, p, fields, errs))
                pupils_at.setdefault(p.school.urn, []).append(rid)
        relationships: list[Relationship] = []
        if not records:
            return records, relationships
        for urn, pupils in pupils_at.items():
            for adult in group.everyone:
                rate = _CONTACT_RATES.get(adult.role, 0.0)
                if adult in group.elsewhere:
                    rate = 0.08
                if rng.random() >= rate:
                    continue
                errs = []
                rid = self._ids["education"].next()
                fields = self._identity(
                    "education", adult, errs, middle=False, dob=rng.random() < 0.15
                )
                if rng.random() < 0.5:
                    fields["sex"] = ""
                fields.update(
                    record_id=rid, school_urn=urn, restriction=self._marker("education", adult)
                )
                records.append(Record("education", rid, adult, fields, errs))
                kind = "carer" if adult.role.startswith("grand") else "parent"
                relationships += [(rid, pupil, kind) for pupil in pupils]
        return records, relationships

    # ---- children's social care --------------------------------------------------------------

    def _social_care(self, group: FamilyGroup) -> tuple[list[Record], list[Relationship]]:
        home = group.home
        if not home.involved:
            return [], []
        rng = self.rng
        fix = self.fix
        open_case = rng.random() < 0.35
        worker = self.place.worker_name() if open_case or rng.random() < 0.4 else ""
        records: list[Record] = []
        first: dict[str, str] = {}
        prebirth: list[tuple[Person, str]] = []
        for p in group.everyone:
            rate = _SOCIAL_CARE_RATES.get(p.role, 0.0)
            if p in group.elsewhere:
                rate = 0.6 if p.role == "mother" else 0.5
            if rng.random() >= rate:
                continue
            local_id = ""
            if p.role == "child" and p.age < 1 and rng.random() < 0.5:
                local_id = self._local_ids.next()
                rid = self._sc_unborn(p, group, local_id, worker, open_case, records)
                prebirth.append((p, rid))
                if rng.random() >= 0.4:  # the born child usually gets a new person record
                    local_id = ""
            for copy in range(self._copies(self.rates.duplicate_social_care)):
                if p.unborn:
                    rid = self._sc_unborn(
                        p, group, self._local_ids.next(), worker, open_case, records
                    )
                    first.setdefault(p.person_id, rid)
                    break
                errs: list[str] = ["duplicate"] if copy else []
                rid = self._ids["social_care"].next()
                fields = self._identity("social_care", p, errs)
                child = p.role == "child"
                nhs = ""
                if rng.random() < (0.65 if child else 0.3):
                    nhs = fix.nhs_number(p.nhs, self._sibling_nhs(p, group), errs)
                upn = fix.upn(p.upn, errs) if p.upn and rng.random() < 0.15 else ""
                fields.update(
                    record_id=rid,
                    local_id=(local_id if copy == 0 and local_id else self._local_ids.next()),
                    nhs_number=nhs,
                    upn=upn,
                    case_status="open" if open_case else "closed",
                    allocated_worker=worker,
                    cp_plan=("Y" if open_case and rng.random() < 0.35 else "N") if child else "",
                    restriction=self._marker("social_care", p),
                )
                records.append(Record("social_care", rid, p, fields, errs))
                first.setdefault(p.person_id, rid)
        relationships: list[Relationship] = []
        for b in group.bonds:
            a, c = first.get(b.a.person_id), first.get(b.b.person_id)
            if not a or not c:
                continue
            kind = {"step-parent": "parent"}.get(b.kind, b.kind)
            if kind in ("mother", "father") and rng.random() < 0.1:
                kind = "parent"
            relationships.append((a, c, kind))
        mothers = {b.b.person_id: b.a.person_id for b in group.bonds if b.kind == "mother"}
        for unborn, rid in prebirth:
            mother_record = first.get(mothers.get(unborn.person_id, ""))
            if mother_record:
                relationships.append((mother_record, rid, "mother"))
        return records, relationships

    def _sc_unborn(
        self,
        p: Person,
        group: FamilyGroup,
        local_id: str,
        worker: str,
        open_case: bool,
        records: list[Record],
    ) -> str:
        """A pre-birth record: "Unborn"/"Baby", dated at the expected delivery date."""
        rng = self.rng
        errs = ["prebirth_record"]
        due = p.dob
        if not p.unborn:  # the baby has been born: the record kept the estimated date
            shift = 0
            while shift == 0:
                shift = max(-28, min(28, round(rng.gauss(0, 10))))
            due = p.dob + timedelta(days=shift)
        rid = self._ids["social_care"].next()
        mother = next((m for m in group.everyone if m.person_id == p.mother_id), None)
        surname = mother.surname if mother and rng.random() < 0.7 else p.surname
        fields = {
            "record_id": rid,
            "local_id": local_id,
            "given_name": self.fix.noise("Unborn" if rng.random() < 0.6 else "Baby", errs),
            "family_name": self.fix.noise(surname, errs),
            "dob": due.isoformat(),
            "sex": "U" if rng.random() < 0.5 else "",
            "postcode": p.address.postcode,
            "address": p.address.text(),
            "case_status": "open" if open_case else "closed",
            "allocated_worker": worker,
            "cp_plan": "N",
            "restriction": self._marker("social_care", p),
        }
        records.append(Record("social_care", rid, p, fields, errs))
        return rid

    # ---- police ------------------------------------------------------------------------------

    def _police_rate(self, p: Person, group: FamilyGroup) -> float:
        involved = group.home.involved
        if p.unborn:
            return 0.0
        if p in group.elsewhere:
            return 0.65 if involved else 0.33
        if p.role == "child":
            age = p.age
            if age >= 18:
                return 0.35 if involved else 0.14
            if age >= 10:
                return 0.4 if involved else 0.1
            return 0.2 if involved else 0.025
        if p.role.startswith("grand"):
            return 0.14
        return 0.62 if involved else 0.14

    def _police(self, group: FamilyGroup) -> tuple[list[Record], list[Relationship]]:
        rng = self.rng
        records: list[Record] = []
        for p in group.everyone:
            if rng.random() >= self._police_rate(p, group):
                continue
            for copy in range(self._copies(self.rates.duplicate_police)):
                errs: list[str] = ["duplicate"] if copy else []
                rid = self._ids["police"].next()
                ident = self._identity("police", p, errs, middle=False)
                surname = ident["family_name"]
                if rng.random() < 0.15 and surname and surname != surname.upper():
                    surname = surname.upper()
                    errs.append("stray_case")
                dob = ident["dob"]
                young = p.role == "child" and p.age < 10
                records.append(
                    Record(
                        "police",
                        rid,
                        p,
                        {
                            "person_ref": rid,
                            "forename": ident["given_name"],
                            "surname": surname,
                            "date_of_birth": f"{dob[8:10]}/{dob[5:7]}/{dob[:4]}" if dob else "",
                            "gender": {"M": "Male", "F": "Female", "U": "Unknown"}.get(
                                ident["sex"], ""
                            ),
                            "post_code": ident["postcode"],
                            "address_line": ident["address"],
                            "offence_flag": "N" if young or rng.random() >= 0.4 else "Y",
                            "incident_count": str(1 + min(20, int(rng.expovariate(0.45)))),
                            "restriction": self._marker("police", p),
                        },
                        errs,
                    )
                )
        return records, []
