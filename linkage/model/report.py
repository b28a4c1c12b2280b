"""A self-contained HTML report of a trained model for a data-quality lead to review.

It shows, for every comparison level, the m and u probabilities and the match weight they give, as
a table with bars drawn in inline SVG: no scripts, no assets from another host, printable.
"""

from __future__ import annotations

import html
import math
from pathlib import Path
from typing import Any

__all__ = ["model_levels", "write_model_report"]


def model_levels(model: dict[str, Any]) -> list[dict[str, Any]]:
    """Flatten the saved model into one row per non-null comparison level."""
    rows: list[dict[str, Any]] = []
    for comparison in model.get("comparisons", []):
        for level in comparison.get("comparison_levels", []):
            if level.get("is_null_level"):
                continue
            m, u = level.get("m_probability"), level.get("u_probability")
            weight = math.log2(m / u) if m and u else None
            rows.append(
                {
                    "comparison": comparison.get("comparison_description")
                    or comparison.get("output_column_name"),
                    "column": comparison.get("output_column_name"),
                    "level": level.get("label_for_charts") or level.get("sql_condition"),
                    "m": m,
                    "u": u,
                    "weight": weight,
                    "tf": bool(level.get("tf_adjustment_column")),
                }
            )
    return rows


def _bar(weight: float | None, scale: float) -> str:
    if weight is None:
        return ""
    width = 160
    mid = width / 2
    length = min(abs(weight) / scale, 1.0) * mid
    x = mid if weight >= 0 else mid - length
    colour = "#00703c" if weight >= 0 else "#d4351c"
    return (
        f'<svg width="{width}" height="14" role="img" aria-label="weight {weight:.2f}">'
        f'<line x1="{mid}" y1="0" x2="{mid}" y2="14" stroke="#505a5f"/>'
        f'<rect x="{x:.1f}" y="2" width="{length:.1f}" height="10" fill="{colour}"/></svg>'
    )


def write_model_report(
    model: dict[str, Any], path: Path, title: str = "kinlink person model",
    fit: dict[str, Any] | None = None,
) -> None:
    """Write the report; with ``fit`` (a ``ModelFit.as_dict()``), the shipped m beside the m this
    run learnt, and how each comparison's values were decided, so a reviewer sees what the data
    changed."""
    rows = model_levels(model)
    shipped: dict[str, dict[str, float]] = (fit or {}).get("shipped_m", {})
    scale = max((abs(r["weight"]) for r in rows if r["weight"] is not None), default=1.0)
    prior = model.get("probability_two_random_records_match")
    prior_weight = math.log2(prior / (1 - prior)) if prior else None
    body = []
    for r in rows:
        m = f"{r['m']:.4g}" if r["m"] is not None else "untrained"
        u = f"{r['u']:.4g}" if r["u"] is not None else "untrained"
        w = f"{r['weight']:+.2f}" if r["weight"] is not None else ""
        was = shipped.get(str(r["column"]), {}).get(str(r["level"]))
        shipped_cell = f"<td>{was:.4g}</td>" if was is not None else ("<td>fixed</td>" if fit
                                                                       else "")
        body.append(
            "<tr>"
            f"<td>{html.escape(str(r['comparison']))}</td><td>{html.escape(str(r['level']))}</td>"
            f"{shipped_cell}<td>{m}</td><td>{u}</td><td>{w}</td><td>{_bar(r['weight'], scale)}</td>"
            f"<td>{'yes' if r['tf'] else ''}</td></tr>"
        )
    prior_text = (
        f"{prior:.3g} (starting weight {prior_weight:+.2f})"
        if prior and prior_weight
        else "not set"
    )
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem; color: #0b0c0c; }}
table {{ border-collapse: collapse; }} th, td {{ padding: .3rem .6rem; border-bottom: 1px solid #b1b4b6;
text-align: left; }} th {{ background: #f3f2f1; }}
</style></head><body>
<h1>{html.escape(title)}</h1>
<p>Fellegi–Sunter model trained with Splink. <strong>m</strong> is the probability of the level among
records of one person, <strong>u</strong> among records of different people; the match weight is
log<sub>2</sub>(m/u): positive evidence for a match in green, against in red. Levels marked
"term frequency" are adjusted for how common the value is (a shared rare surname counts for more).</p>
<p>Prior probability that two random records match: {prior_text}.</p>
{_fit_section(fit)}
<table><thead><tr><th>Comparison</th><th>Level</th>{"<th>m shipped</th>" if fit else ""}
<th>m{" learnt" if fit else ""}</th><th>u</th><th>Weight</th>
<th>Evidence</th><th>Term frequency</th></tr></thead><tbody>
{"".join(body)}
</tbody></table></body></html>
"""
    path.write_text(page, encoding="utf-8")


def _fit_section(fit: dict[str, Any] | None) -> str:
    """How this run fitted the model: the prior's basis, each EM session, what kept the shipped m."""
    if not fit:
        return ""
    sessions = "".join(
        f"<li>blocked on <code>{html.escape(s['rule'])}</code>: {s['pairs']:,} pairs, "
        + (f"set aside ({html.escape(s['rejected'])})" if s["rejected"] else
           f"converged in {s['iterations']} iterations, trained {html.escape(', '.join(s['trained']))}")
        + "</li>" for s in fit.get("sessions", []))
    kept = "".join(f"<li>{html.escape(c)}: {html.escape(why)}</li>"
                   for c, why in fit.get("kept_shipped", {}).items())
    return (f"<h2>Fitted to this population</h2><p>Prior from {html.escape(fit['prior_basis'])}."
            f" m learnt by EM for: {html.escape(', '.join(fit.get('learnt', [])) or 'none')}.</p>"
            f"<ul>{sessions}</ul>"
            + (f"<p>Kept the shipped m values:</p><ul>{kept}</ul>" if kept else ""))
