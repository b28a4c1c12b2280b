"""A child's household as a picture: server-drawn SVG (no script) with its table twin.

The renderer is given only what has already been disclosed: members the purpose may see, each
with the name and age their own decision released (or neither), and a count of members it
withheld. It cannot draw what it was never handed, so a withheld member is counted in words
("2 other members are not shown for your purpose") and never becomes a box, an ID or a line.

Each household is a frame; adults sit on the top row, children below, the child the page is
about drawn with a heavy border. Every member carries how their membership was inferred and since
when, because a social worker acting on "lives with" must know whether it is an address match
or a stated relationship.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gateway.web.svg import COLOURS, svg_open, text

__all__ = ["BASIS_WORDS", "Household", "HouseholdMember", "household_rows", "household_svg"]

#: How a membership was inferred, in words a practitioner would use.
BASIS_WORDS = {"co-residence": "same address on agency records",
               "relationship": "relationship stated on a record",
               "alone": "no one else found at the address"}

_CARD_W, _CARD_H, _GAP, _PAD, _HEAD = 236, 74, 14, 16, 30


@dataclass(frozen=True)
class HouseholdMember:
    person_id: str
    role: str | None
    basis: str
    since: str | None = None
    until: str | None = None
    is_subject: bool = False
    #: The name the member's own decision released, or None when identity was not released.
    name: str | None = None
    age: int | None = None


@dataclass(frozen=True)
class Household:
    family_id: str
    members: tuple[HouseholdMember, ...]
    #: Members of this household the purpose withholds: counted, never drawn.
    withheld: int = 0
    label: str = field(default="")


def _who(member: HouseholdMember) -> str:
    if member.name:
        return member.name
    return "This child" if member.is_subject else f"{_role_word(member.role)} {member.person_id}"


def _role_word(role: str | None) -> str:
    return {"adult": "Adult", "child": "Child"}.get(role or "", "Person")


def _basis(basis: str) -> str:
    return BASIS_WORDS.get(basis, basis.replace("-", " "))


def _card(x: float, y: float, member: HouseholdMember) -> list[str]:
    stroke = COLOURS["text"] if member.is_subject else COLOURS["secondary"]
    width = 4 if member.is_subject else 1.5
    dash = ' stroke-dasharray="6 4"' if member.until else ""
    rx = 18 if member.role == "child" else 3
    age = f", {member.age}" if member.age is not None else ""
    role = _role_word(member.role).lower()
    lines = [f'<rect x="{x:.0f}" y="{y:.0f}" width="{_CARD_W}" height="{_CARD_H}" rx="{rx}" '
             f'fill="#ffffff" stroke="{stroke}" stroke-width="{width}"{dash}/>',
             text(x + 10, y + 20, _who(member)[:26], size=14, weight="bold"),
             text(x + 10, y + 38, f"{role}{age}" + (" – this child" if member.is_subject and
                                                   member.name else ""), size=12),
             text(x + 10, y + 54, _basis(member.basis)[:32], size=11, colour="secondary")]
    when = f"since {member.since}" if member.since else ""
    if member.until:
        when = f"{when} – left {member.until}".strip(" –")
    if when:
        lines.append(text(x + 10, y + 68, when, size=11, colour="secondary"))
    return lines


def _frame_size(household: Household) -> tuple[int, int]:
    adults = [m for m in household.members if m.role == "adult"]
    others = [m for m in household.members if m.role != "adult"]
    per_row = max(len(adults), len(others), 1)
    rows = (1 if adults else 0) + (1 if others else 0)
    width = _PAD * 2 + per_row * _CARD_W + (per_row - 1) * _GAP
    height = _HEAD + rows * (_CARD_H + _GAP) + _PAD + (18 if household.withheld else 0)
    return max(width, 420), height


def household_svg(households: list[Household], title_id: str = "household-title") -> str:
    """The households stacked top to bottom, each as a labelled frame of member cards."""
    sizes = [_frame_size(h) for h in households]
    width = max([w for w, _ in sizes] or [420]) + 8
    height = sum(h for _, h in sizes) + _GAP * len(sizes) + 8
    shown = sum(len(h.members) for h in households)
    withheld = sum(h.withheld for h in households)
    summary = f"{shown} people shown" + (f", {withheld} not shown for your purpose" if withheld
                                         else "")
    out = [svg_open(width, height, f"Household picture: {summary}", title_id,
                    "Adults on the top row, children below; the table that follows holds the "
                    "same facts.")]
    y = 4.0
    for number, (household, (frame_w, frame_h)) in enumerate(zip(households, sizes, strict=True), 1):
        out.append(f'<rect x="4" y="{y:.0f}" width="{frame_w}" height="{frame_h}" rx="6" '
                   f'fill="#f4f8fb" stroke="{COLOURS["blue"]}" stroke-width="2"/>')
        out.append(text(4 + _PAD, y + 21, household.label or f"Household {number}", size=15,
                        weight="bold", colour="blue"))
        row_y = y + _HEAD
        for row in ([m for m in household.members if m.role == "adult"],
                    [m for m in household.members if m.role != "adult"]):
            if not row:
                continue
            for i, member in enumerate(row):
                out.extend(_card(4 + _PAD + i * (_CARD_W + _GAP), row_y, member))
            row_y += _CARD_H + _GAP
        if household.withheld:
            noun = "member is" if household.withheld == 1 else "members are"
            out.append(text(4 + _PAD, row_y + 10, f"{household.withheld} other {noun} not "
                            "shown for your purpose", size=12, colour="secondary"))
        y += frame_h + _GAP
    out.append("</svg>")
    return "".join(out)


def household_rows(households: list[Household]) -> list[dict[str, str]]:
    """The table twin: one row per member drawn, in the picture's order, the same words."""
    rows = []
    for number, household in enumerate(households, 1):
        for member in sorted(household.members, key=lambda m: m.role != "adult"):
            rows.append({
                "household": household.label or f"Household {number}",
                "person": _who(member) + (" (this child)" if member.is_subject and member.name
                                          else ""),
                "person_id": member.person_id, "is_subject": "yes" if member.is_subject else "",
                "role": _role_word(member.role).lower(),
                "age": "" if member.age is None else str(member.age),
                "basis": _basis(member.basis), "since": member.since or "",
                "until": member.until or ""})
    return rows
