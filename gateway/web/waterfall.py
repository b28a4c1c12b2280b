"""A match explained as a waterfall of match weights, drawn server-side as SVG (no script), with a
table twin for screen readers and for anyone who prefers numbers."""

from __future__ import annotations

from gateway.web.svg import COLOURS, svg_open, text
from linkage.realtime import FieldWeight

__all__ = ["label", "waterfall_svg"]

_NAMES = {"nhs_number": "NHS number", "upn": "Pupil number", "local_id_key": "Local ID",
          "given_name": "Given name", "family_name": "Family name", "dob": "Date of birth",
          "sex": "Sex", "address": "Address"}


def label(comparison: str) -> str:
    return _NAMES.get(comparison, comparison)


def waterfall_svg(parts: tuple[FieldWeight, ...], prior: float, total: float,
                  title_id: str = "wf-title") -> str:
    """One bar per comparison, from the prior to the total; ``title_id`` must be unique on a page
    that shows several candidates, so each chart keeps its own accessible name."""
    rows = [("Starting point (any two records)", prior)] + [
        (f"{label(p.comparison)}: {p.level}", p.match_weight) for p in parts if p.gamma != -1]
    width, bar_h, gap, left = 640, 22, 6, 300
    span = max(10.0, max(abs(v) for _, v in rows), abs(total))
    scale = (width - left - 90) / (2 * span)
    zero = left + (width - left - 90) / 2 + 45
    height = (len(rows) + 1) * (bar_h + gap) + 10
    out = [svg_open(width, height, f"How each detail moved the score (total {total:+.1f})",
                    title_id),
           f'<line x1="{zero:.0f}" y1="0" x2="{zero:.0f}" y2="{height}" stroke="{COLOURS["text"]}"/>']
    for i, (name, value) in enumerate([*rows, ("Total", total)]):
        y = i * (bar_h + gap) + 5
        x = zero if value >= 0 else zero + value * scale
        colour = "blue" if name == "Total" else "green" if value >= 0 else "red"
        out.append(text(4, y + 16, name))
        out.append(f'<rect x="{x:.1f}" y="{y}" width="{max(1.0, abs(value) * scale):.1f}" '
                   f'height="{bar_h}" fill="{COLOURS[colour]}"/>')
        tx = zero + value * scale + (4 if value >= 0 else -44)
        out.append(text(tx, y + 16, f"{value:+.1f}", size=12))
    out.append("</svg>")
    return "".join(out)
