"""The shared SVG pieces: every chart names the system font and escapes what it draws."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from gateway.web.svg import FONT_STACK, svg_open, text
from gateway.web.waterfall import waterfall_svg
from linkage.realtime import FieldWeight

SVG = "{http://www.w3.org/2000/svg}"


def test_the_waterfall_names_a_sans_serif_font_and_no_gds_transport() -> None:
    parts = (FieldWeight("given_name", "exact", 3, 6.2), FieldWeight("dob", "one digit off", 1, -1.5),
             FieldWeight("nhs_number", "missing", -1, 0.0))
    root = ET.fromstring(waterfall_svg(parts, -12.0, -7.3, title_id="wf-1"))
    assert root.get("font-family") == FONT_STACK
    assert "sans-serif" in FONT_STACK and "GDS Transport" not in FONT_STACK
    assert root.find(f"{SVG}title").get("id") == "wf-1" == root.get("aria-labelledby")
    labels = [t.text for t in root.iter(f"{SVG}text")]
    assert "Given name: exact" in labels and "-1.5" in labels
    assert not any("NHS number" in (label or "") for label in labels)   # a missing field is not drawn


def test_text_is_escaped_so_a_name_cannot_inject_markup() -> None:
    drawn = svg_open(100, 20, "O'Brien & <b>", "t") + text(1, 2, "<script>x</script>") + "</svg>"
    root = ET.fromstring(drawn)
    assert root.find(f"{SVG}text").text == "<script>x</script>"
    assert root.find(f"{SVG}script") is None
