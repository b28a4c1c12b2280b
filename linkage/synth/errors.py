"""Recording errors, at configurable rates, applied as an agency writes a person down.

Every rate is a per-record (or per-field) probability; the defaults are set to what is realistic
for English public-sector extracts — a few per cent each — and an agency scales some of them
(police take a date of birth as told; schools use the name a child goes by). Each applied error is
tagged, and the tags are written to ``truth/errors.csv`` so a missed link can be traced to its
cause.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Final

from linkage.synth.identifiers import (
    NHS_PLACEHOLDERS,
    format_nhs_number,
    mistype_nhs_number,
    mistype_upn,
    temporary_upn,
)
from linkage.synth.names import DIMINUTIVES
from linkage.synth.places import Address

__all__ = ["Corruptor", "ErrorRates"]


@dataclass(frozen=True)
class ErrorRates:
    """Probabilities of each recording error (defaults documented in ``truth/README.md``)."""

    name_typo: float = 0.02  # per name field: transposition, omission, substitution, adjacent key
    nickname: float = 0.015  # a diminutive the person does not usually go by
    preferred_name: float = 0.35  # base share of records using a person's preferred name
    double_barrel_part: float = 0.3  # double-barrelled surname recorded as one part
    other_surname: float = 0.25  # recorded under a former or "known as" surname
    dob_day_month_swap: float = 0.006
    dob_off_by_one: float = 0.008
    dob_wrong_year: float = 0.004
    dob_estimated: float = 0.004  # recorded as 1 January of the birth year
    dob_missing: float = 0.008
    stale_address: float = 0.3  # a household that moved is still at its previous address
    address_missing: float = 0.015
    postcode_missing: float = 0.015
    address_abbreviated: float = 0.1  # Road → Rd, Street → St
    sibling_nhs: float = 0.002  # a sibling's valid NHS number
    nhs_mistyped: float = 0.008  # fails mod 11
    nhs_placeholder: float = 0.004
    nhs_formatted: float = 0.15  # written with spaces or dashes
    upn_typo: float = 0.005  # bad check letter
    upn_temporary: float = 0.01
    stray_case: float = 0.015  # per field: upper or lower case
    stray_spaces: float = 0.01  # per field: leading or trailing spaces
    field_missing: float = 0.02  # sex or middle names left blank
    duplicate_health: float = 0.01
    duplicate_education: float = 0.005
    duplicate_social_care: float = 0.05
    duplicate_police: float = 0.08

    def __post_init__(self) -> None:
        for name, value in vars(self).items():
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"error rate {name} must be between 0 and 1, not {value}")


_KEYBOARD: Final = {
    c: n
    for row in ("qwertyuiop", "asdfghjkl", "zxcvbnm")
    for i, c in enumerate(row)
    for n in [row[max(0, i - 1) : i] + row[i + 1 : i + 2]]
}
_ABBREVIATIONS: Final = {
    " Road": " Rd",
    " Street": " St",
    " Avenue": " Ave",
    " Lane": " Ln",
    " Close": " Cl",
    " Drive": " Dr",
    " Crescent": " Cres",
    " Gardens": " Gdns",
}


class Corruptor:
    """Applies errors with one random stream; every method appends the tags of what it did."""

    def __init__(self, rng: random.Random, rates: ErrorRates) -> None:
        self.rng = rng
        self.rates = rates

    # ---- names -----------------------------------------------------------------------------

    def typo(self, name: str) -> str:
        rng = self.rng
        if len(name) < 3:
            return name
        i = rng.randrange(1, len(name))  # first letters are rarely mistyped
        kind = rng.randrange(4)
        if kind == 0 and i < len(name) - 1 and name[i] != name[i + 1]:
            return name[:i] + name[i + 1] + name[i] + name[i + 2 :]
        if kind == 1:
            return name[:i] + name[i + 1 :]
        c = name[i].lower()
        if kind == 2 and c in _KEYBOARD:
            return name[:i] + rng.choice(_KEYBOARD[c]) + name[i + 1 :]
        return name[:i] + rng.choice("aeiourstnlmcdh".replace(c, "")) + name[i + 1 :]

    def given_name(
        self, given: str, preferred: str, preferred_share: float, errs: list[str]
    ) -> str:
        rng = self.rng
        rates = self.rates
        name = given
        if preferred and rng.random() < preferred_share:
            name = preferred
            errs.append("preferred_name")
        elif given in DIMINUTIVES and rng.random() < rates.nickname:
            name = rng.choice(DIMINUTIVES[given])
            errs.append("nickname")
        if rng.random() < rates.name_typo:
            typed = self.typo(name)
            if typed != name:
                name = typed
                errs.append("given_typo")
        return name

    def family_name(
        self, surname: str, others: tuple[str, ...], other_factor: float, errs: list[str]
    ) -> str:
        rng = self.rng
        rates = self.rates
        name = surname
        if others and rng.random() < rates.other_surname * other_factor:
            name = rng.choice(others)
            errs.append("other_surname")
        if "-" in name and rng.random() < rates.double_barrel_part:
            parts = name.split("-")
            name = rng.choice(parts) if rng.random() < 0.85 else " ".join(parts)
            errs.append("double_barrel_part")
        if rng.random() < rates.name_typo:
            typed = self.typo(name)
            if typed != name:
                name = typed
                errs.append("family_typo")
        return name

    def middle_names(self, middle: tuple[str, ...], recorded: float, errs: list[str]) -> str:
        if not middle or self.rng.random() >= recorded:
            return ""
        if self.rng.random() < self.rates.field_missing:
            errs.append("middle_missing")
            return ""
        return " ".join(middle)

    def sex(self, sex: str, missing_factor: float, errs: list[str]) -> str:
        if self.rng.random() < self.rates.field_missing * missing_factor:
            errs.append("sex_missing")
            return "" if self.rng.random() < 0.6 else "U"
        return sex

    # ---- dates -----------------------------------------------------------------------------

    def dob(self, dob: date, factor: float, missing_factor: float, errs: list[str]) -> str:
        rng = self.rng
        r = self.rates
        u = rng.random()
        t = r.dob_missing * missing_factor
        if u < t:
            errs.append("dob_missing")
            return ""
        t += r.dob_estimated * factor * missing_factor
        if u < t:
            errs.append("dob_estimated")
            return f"{dob.year:04d}-01-01"
        t += r.dob_day_month_swap * factor
        if u < t:
            if dob.day <= 12 and dob.day != dob.month:
                errs.append("dob_day_month_swap")
                return f"{dob.year:04d}-{dob.day:02d}-{dob.month:02d}"
            return dob.isoformat()
        t += r.dob_off_by_one * factor
        if u < t:
            errs.append("dob_off_by_one")
            return (dob + timedelta(days=rng.choice((-1, 1)))).isoformat()
        t += r.dob_wrong_year * factor
        if u < t:
            errs.append("dob_wrong_year")
            year = dob.year + rng.choice((-1, 1, -10, 10) if rng.random() < 0.2 else (-1, 1))
            day = 28 if (dob.month, dob.day) == (2, 29) else dob.day
            return f"{year:04d}-{dob.month:02d}-{day:02d}"
        return dob.isoformat()

    # ---- identifiers -----------------------------------------------------------------------

    def nhs_number(self, nhs: str, sibling_nhs: str, errs: list[str]) -> str:
        rng = self.rng
        rates = self.rates
        u = rng.random()
        value = nhs
        if u < rates.nhs_placeholder:
            errs.append("nhs_placeholder")
            return rng.choice(NHS_PLACEHOLDERS)
        u -= rates.nhs_placeholder
        if u < rates.nhs_mistyped:
            errs.append("nhs_mistyped")
            value = mistype_nhs_number(nhs, rng)
        elif u - rates.nhs_mistyped < rates.sibling_nhs and sibling_nhs:
            errs.append("nhs_sibling")
            value = sibling_nhs
        if rng.random() < rates.nhs_formatted:
            value = format_nhs_number(value, rng)
        return value

    def upn(self, upn: str, errs: list[str]) -> str:
        rng = self.rng
        u = rng.random()
        if u < self.rates.upn_temporary:
            errs.append("upn_temporary")
            return temporary_upn(upn, rng)
        if u < self.rates.upn_temporary + self.rates.upn_typo:
            errs.append("upn_typo")
            return mistype_upn(upn, rng)
        return upn

    # ---- addresses -------------------------------------------------------------------------

    def address(
        self,
        current: Address,
        previous: Address | None,
        stale_factor: float,
        missing_factor: float,
        errs: list[str],
    ) -> tuple[str, str]:
        rng = self.rng
        rates = self.rates
        place = current
        if previous is not None and rng.random() < rates.stale_address * stale_factor:
            place = previous
            errs.append("stale_address")
        postcode = place.postcode
        line = place.text()
        if rng.random() < rates.address_abbreviated:
            for long, short in _ABBREVIATIONS.items():
                if long in line:
                    line = line.replace(long, short)
                    break
        u = rng.random()
        if u < rates.postcode_missing * missing_factor:
            errs.append("postcode_missing")
            postcode = ""
        elif u < (rates.postcode_missing + rates.address_missing) * missing_factor:
            errs.append("address_missing")
            line = ""
        return postcode, line

    # ---- presentation ----------------------------------------------------------------------

    def noise(self, value: str, errs: list[str]) -> str:
        """Stray case and surrounding spaces, as typed into systems that do not normalise."""
        if not value:
            return value
        rng = self.rng
        u = rng.random()
        rates = self.rates
        if u < rates.stray_case:
            value = value.upper() if u < rates.stray_case * 0.7 else value.lower()
            errs.append("stray_case")
        elif u < rates.stray_case + rates.stray_spaces:
            value = rng.choice((" ", "  ", "")) + value + rng.choice((" ", "  "))
            errs.append("stray_spaces")
        return value
