"""The household picture and the IG charts as pure renderers: what they draw is exactly what
they are handed, withheld members are counted not drawn, and each picture has its table twin."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from gateway.web.charts import Bars, Columns, bars_svg, columns_svg
from gateway.web.household_svg import Household, HouseholdMember, household_rows, household_svg
from gateway.web.svg import FONT_STACK

SVG = "{http://www.w3.org/2000/svg}"


def texts(svg: str) -> list[str]:
    root = ET.fromstring(svg)
    assert root.get("font-family") == FONT_STACK
    return [t.text or "" for t in root.iter(f"{SVG}text")]


HOME = Household("F1", (
    HouseholdMember("PADULT00001", "adult", "co-residence", "2024-05-01", name="Dana Reid"),
    HouseholdMember("PCHILD00001", "child", "co-residence", "2024-05-01", is_subject=True,
                    name="Ava Reid", age=7),
    HouseholdMember("PCHILD00002", "child", "relationship", "2025-01-10", "2026-02-01", age=3),
), withheld=2)


def test_the_household_draws_each_member_shown_and_counts_the_withheld() -> None:
    drawn = texts(household_svg([HOME]))
    assert "Dana Reid" in drawn and "Ava Reid" in drawn
    assert "Child PCHILD00002" in drawn                     # no name released: the ID only
    assert "child, 7 – this child" in drawn
    assert "relationship stated on a record" in drawn
    assert "since 2025-01-10 – left 2026-02-01" in drawn
    assert "2 other members are not shown for your purpose" in drawn
    root = ET.fromstring(household_svg([HOME]))
    assert len([r for r in root.iter(f"{SVG}rect") if r.get("rx") in ("3", "18")]) == 3
    assert "2 not shown for your purpose" in root.find(f"{SVG}title").text


def test_a_member_never_handed_to_the_renderer_leaves_no_trace() -> None:
    alone = Household("F2", (HouseholdMember("PCHILD00001", "child", "alone", is_subject=True),),
                      withheld=1)
    svg = household_svg([alone])
    assert "PADULT00001" not in svg and "Dana" not in svg
    assert "1 other member is not shown for your purpose" in texts(svg)


def test_the_table_twin_says_what_the_picture_says() -> None:
    rows = household_rows([HOME])
    assert [r["role"] for r in rows] == ["adult", "child", "child"]
    assert rows[1]["person"] == "Ava Reid (this child)" and rows[1]["age"] == "7"
    assert rows[2]["until"] == "2026-02-01" and rows[2]["basis"] == "relationship stated on a record"
    drawn = texts(household_svg([HOME]))
    assert all(r["basis"] in drawn for r in rows)


def test_columns_stack_each_series_and_refuse_counts_that_do_not_fit() -> None:
    chart = Columns("Accesses per day by agency", ("2026-11-30", "2026-12-01"),
                    {"Health": (3, 0), "Police": (1, 4)})
    assert chart.totals() == (4, 4)
    svg = columns_svg(chart, "by-agency")
    root = ET.fromstring(svg)
    bars = [r for r in root.iter(f"{SVG}rect") if r.get("stroke") == "#ffffff"]
    assert len(bars) == 3                                   # a zero count draws nothing
    assert "1. Health" in texts(svg) and "2. Police" in texts(svg)
    with pytest.raises(ValueError, match="series 'Health' has 1 counts for 2 periods"):
        Columns("x", ("a", "b"), {"Health": (1,)})


def test_bars_are_largest_first_and_labelled_with_their_count() -> None:
    svg = bars_svg(Bars("Break-glass uses by user", (("a.user", 1), ("b.user", 5))), "bg")
    drawn = texts(svg)
    assert drawn.index("b.user") < drawn.index("a.user")
    assert "5" in drawn and "1" in drawn
    assert "None in this period" in texts(bars_svg(Bars("Empty", ()), "empty"))
