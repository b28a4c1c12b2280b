"""A match explained as a waterfall of match weights, drawn server-side as SVG (no script), with a
table twin for screen readers and for anyone who prefers numbers."""

from __future__ import annotations

from html import escape

from linkage.realtime import FieldWeight

__all__ = ["waterfall_svg"]

_NAMES = {"nhs_number": "NHS number", "upn": "Pupil number", "local_id_key": "Local ID",
          "given_name": "Given name", "family_name": "Family name", "dob": "Date of birth",
          "sex": "Sex", "address": "Address"}


def label(comparison: str) -> str:
    return _NAMES.get(comparison, comparison)


def waterfall_svg(parts: tuple[FieldWeight, ...], prior: float, total: float) -> str:
    rows = [("Starting point (any two records)", prior)] + [
        (f"{label(p.comparison)}: {p.level}", p.match_weight) for p in parts if p.gamma != -1]
    width, bar_h, gap, left = 640, 22, 6, 300
    span = max(10.0, max(abs(v) for _, v in rows), abs(total))
    scale = (width - left - 90) / (2 * span)
    zero = left + (width - left - 90) / 2 + 45
    height = (len(rows) + 1) * (bar_h + gap) + 10
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 {width} {height}" '
           f'width="100%" aria-labelledby="wf-title"><title id="wf-title">How each detail moved '
           f'the score (total {total:+.1f})</title>',
           f'<line x1="{zero:.0f}" y1="0" x2="{zero:.0f}" y2="{height}" stroke="#0b0c0c"/>']
    for i, (name, value) in enumerate([*rows, ("Total", total)]):
        y = i * (bar_h + gap) + 5
        x = zero if value >= 0 else zero + value * scale
        colour = "#00703c" if value >= 0 else "#d4351c"
        if name == "Total":
            colour = "#1d70b8"
        out.append(f'<text x="4" y="{y + 16}" font-size="13" fill="#0b0c0c">{escape(name)}</text>')
        out.append(f'<rect x="{x:.1f}" y="{y}" width="{max(1.0, abs(value) * scale):.1f}" '
                   f'height="{bar_h}" fill="{colour}"/>')
        tx = zero + value * scale + (4 if value >= 0 else -44)
        out.append(f'<text x="{tx:.1f}" y="{y + 16}" font-size="12">{value:+.1f}</text>')
    out.append("</svg>")
    return "".join(out)
