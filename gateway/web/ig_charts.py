"""IG's charts from the trail's counts: which chart each page draws, with what title.

Kept apart from the renderers (``gateway.web.charts``), which know nothing of audit, and from
the routes, which only fetch the counts and render the page.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from audit.activity import Activity
from audit.anomalies import Finding
from gateway.web.charts import Bars, Columns, bars_svg, columns_svg
from gateway.web.pages import AGENCY_NAMES

__all__ = ["activity_charts", "findings_chart"]



def activity_charts(activity: Activity, purpose_names: dict[str, str]) -> dict[str, Any]:
    """The four activity charts, each beside the data its table twin renders; purposes by the
    agreement's names for them, as the IG officer reads them in the sharing agreement."""
    by_agency = Columns("Accesses to children's records per day, by agency", activity.days,
                        {AGENCY_NAMES.get(a, a): c for a, c in activity.by_agency.items()})
    by_purpose = Columns("Accesses per day, by purpose", activity.days,
                         {purpose_names.get(p, p): c for p, c in activity.by_purpose.items()})
    glass = Bars("Break-glass accesses, by user", activity.break_glass_by_user)
    consent = Bars("Accesses with consent overridden, by user and reason",
                   activity.consent_overrides)
    return {"charts": [
        {"id": "by-agency", "kind": "columns", "data": by_agency,
         "svg": columns_svg(by_agency, "chart-by-agency")},
        {"id": "by-purpose", "kind": "columns", "data": by_purpose,
         "svg": columns_svg(by_purpose, "chart-by-purpose")},
        {"id": "break-glass", "kind": "bars", "data": glass,
         "svg": bars_svg(glass, "chart-break-glass", colour="red")},
        {"id": "consent", "kind": "bars", "data": consent,
         "svg": bars_svg(consent, "chart-consent", colour="purple")}]}


def findings_chart(findings: list[Finding]) -> dict[str, Any]:
    """Anomaly findings counted by rule (the table below the chart lists each finding)."""
    counts: Counter[str] = Counter()
    for finding in findings:
        counts[finding.rule] += finding.count
    chart = Bars("Anomaly findings, by rule (events flagged)", tuple(counts.items()))
    return {"id": "findings", "kind": "bars", "data": chart,
            "svg": bars_svg(chart, "chart-findings", colour="red")}
