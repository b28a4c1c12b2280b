"""What every server-drawn SVG on the pages shares: the font, the colours, and escaped text.

The charts are drawn on the server so they need no JavaScript and can be audited like any other
page content. Each names the platform's sans-serif itself, because SVG text does not take the font
of the GOV.UK classes around it and would otherwise fall back to a serif face.
"""

from __future__ import annotations

from html import escape

__all__ = ["COLOURS", "FONT_STACK", "SERIES", "svg_open", "text"]

#: The same system font stack as the stylesheet (frontend/styles/kinlink.scss); no GDS Transport.
FONT_STACK = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"

#: GOV.UK Frontend 6 palette colours with at least 3:1 contrast on white (WCAG 1.4.11).
COLOURS = {"text": "#0b0c0c", "secondary": "#484949", "border": "#cecece", "blue": "#1d70b8",
           "green": "#0f7a52", "red": "#ca3535", "purple": "#54319f",
           "teal": "#158187", "brown": "#99704a", "magenta": "#ca357c"}

#: One colour per series, in order, for charts with several (agencies, purposes).
SERIES = ("blue", "green", "purple", "red", "teal", "brown", "magenta")


def svg_open(width: int, height: int, title: str, title_id: str, description: str = "") -> str:
    """The root element: a labelled image (its table twin carries the numbers for screen readers)."""
    desc = f'<desc id="{title_id}-desc">{escape(description)}</desc>' if description else ""
    described = f' aria-describedby="{title_id}-desc"' if description else ""
    return (f'<svg xmlns="http://www.w3.org/2000/svg" role="img" class="kinlink-chart" '
            f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
            f'font-family="{FONT_STACK}" aria-labelledby="{title_id}"{described}>'
            f'<title id="{title_id}">{escape(title)}</title>{desc}')


def text(x: float, y: float, content: str, size: int = 13, anchor: str = "start",
         colour: str = "text", weight: str = "normal") -> str:
    """One line of escaped text in the service's font."""
    bold = ' font-weight="bold"' if weight == "bold" else ""
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" '
            f'fill="{COLOURS[colour]}"{bold}>{escape(content)}</text>')
