"""Charts for information governance, drawn on the server as SVG, each with a table twin.

Two shapes cover what an IG officer asks of the trail: accesses over time split by agency or
purpose (stacked columns, one per period), and counts by who or what (horizontal bars: break-glass
and consent overrides by user, anomaly findings by rule). Every chart is handed plain counts and
returns markup; the page renders the same counts as a table for screen readers and for print, so
the picture and the numbers cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.web.svg import COLOURS, SERIES, svg_open, text

__all__ = ["Bars", "Columns", "bars_svg", "columns_svg"]


@dataclass(frozen=True)
class Columns:
    """Counts per period (oldest first) for each series (an agency, a purpose)."""

    title: str
    periods: tuple[str, ...]
    series: dict[str, tuple[int, ...]]

    def __post_init__(self) -> None:
        for name, counts in self.series.items():
            if len(counts) != len(self.periods):
                raise ValueError(f"series {name!r} has {len(counts)} counts for "
                                 f"{len(self.periods)} periods")

    def totals(self) -> tuple[int, ...]:
        return tuple(sum(c[i] for c in self.series.values()) for i in range(len(self.periods)))


@dataclass(frozen=True)
class Bars:
    """One count per label, drawn largest first."""

    title: str
    rows: tuple[tuple[str, int], ...]


def _nice_max(value: int) -> int:
    """A round top for the axis (1, 2, 5 × 10ⁿ) so gridlines fall on readable numbers."""
    if value <= 5:
        return 5
    step = 1
    while True:
        for m in (1, 2, 5):
            if m * step * 5 >= value:
                return m * step * 5
        step *= 10


def columns_svg(chart: Columns, title_id: str) -> str:
    """Stacked columns with a legend; colour is never the only cue (the legend names each
    series in order, and the table twin gives every number)."""
    left, top, plot_h, col_w, gap = 52, 34, 220, 26, 10
    names = list(chart.series)
    legend_rows = (len(names) + 2) // 3
    width = max(left + len(chart.periods) * (col_w + gap) + 20, 640)
    height = top + plot_h + 56 + legend_rows * 20
    top_value = _nice_max(max(chart.totals() or (0,)))
    scale = plot_h / top_value
    out = [svg_open(width, height, chart.title, title_id,
                    f"Stacked columns per period by {', '.join(names) or 'nothing'}; "
                    "the table below gives each number.")]
    for tick in range(0, top_value + 1, max(top_value // 5, 1)):
        y = top + plot_h - tick * scale
        out.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - 10}" y2="{y:.1f}" '
                   f'stroke="{COLOURS["border"]}"/>')
        out.append(text(left - 6, y + 4, str(tick), size=11, anchor="end", colour="secondary"))
    for i, period in enumerate(chart.periods):
        x = left + 8 + i * (col_w + gap)
        base: float = top + plot_h
        for n, name in enumerate(names):
            count = chart.series[name][i]
            if count:
                h = count * scale
                base -= h
                out.append(f'<rect x="{x}" y="{base:.1f}" width="{col_w}" height="{h:.1f}" '
                           f'fill="{COLOURS[SERIES[n % len(SERIES)]]}" stroke="#ffffff"/>')
        if len(chart.periods) <= 16 or i % max(len(chart.periods) // 8, 1) == 0:
            out.append(text(x + col_w / 2, top + plot_h + 16, period[5:] if len(period) == 10
                            else period, size=10, anchor="middle", colour="secondary"))
    out.append(f'<line x1="{left}" y1="{top + plot_h}" x2="{width - 10}" y2="{top + plot_h}" '
               f'stroke="{COLOURS["text"]}"/>')
    for n, name in enumerate(names):
        x = left + (n % 3) * 200
        y = top + plot_h + 36 + (n // 3) * 20
        out.append(f'<rect x="{x}" y="{y - 10}" width="12" height="12" '
                   f'fill="{COLOURS[SERIES[n % len(SERIES)]]}"/>')
        out.append(text(x + 18, y, f"{n + 1}. {name}"[:30], size=12))
    out.append("</svg>")
    return "".join(out)


def bars_svg(chart: Bars, title_id: str, colour: str = "blue") -> str:
    """Horizontal bars, each labelled with its count, so no reading off an axis is needed."""
    rows = sorted(chart.rows, key=lambda r: (-r[1], r[0]))
    label_w, bar_max, bar_h, gap = 220, 300, 20, 8
    width = label_w + bar_max + 60
    height = max(len(rows), 1) * (bar_h + gap) + 12
    top_value = max([c for _, c in rows] or [1]) or 1
    out = [svg_open(width, height, chart.title, title_id)]
    if not rows:
        out.append(text(4, 20, "None in this period", size=13, colour="secondary"))
    for i, (label, count) in enumerate(rows):
        y = 6 + i * (bar_h + gap)
        w = max(2.0, bar_max * count / top_value)
        out.append(text(4, y + 15, label[:30], size=12))
        out.append(f'<rect x="{label_w}" y="{y}" width="{w:.1f}" height="{bar_h}" '
                   f'fill="{COLOURS[colour]}"/>')
        out.append(text(label_w + w + 6, y + 15, str(count), size=12))
    out.append("</svg>")
    return "".join(out)
