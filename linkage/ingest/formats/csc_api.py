"""DfE children's social care API payload (JSON): ``Children``, each with its ``child_details``.

Field names as the DfE specification (v0.7, as Data to Insight's flows publish it) gives them:
``la_child_id``, ``mis_child_id`` and in ``child_details`` ``unique_pupil_number``,
``former_unique_pupil_number``, ``first_name``, ``surname``, ``date_of_birth``,
``expected_date_of_birth``, ``sex``, ``postcode``; episodes carry section 47 enquiries, child
protection plans and looked-after placements. The file is streamed with ijson, child by child.
The payload comes from the SSD, so it shares the SSD's 15th-of-the-month estimated day.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

import ijson

from linkage.ingest.errors import ExtractError
from linkage.ingest.formats.base import FormatExtract, JsonLines, RecordTable
from linkage.ingest.rejects import Reject

__all__ = ["FORMAT", "read_csc_api"]

FORMAT: Final = "csc-api"
ESTIMATED_DAY: Final = 15
CATEGORIES: Final = {
    "mis_child_id": "case-status", "ethnicity": "ethnicity", "uasc_flag": "immigration",
    "referral_dates": "case-status", "s47_start_dates": "cp-plan",
    "cp_plan_start_dates": "cp-plan", "looked_after_start_dates": "looked-after",
    "restriction": "restricted-marker",
}


def read_csc_api(path: Path) -> FormatExtract:
    rows = RecordTable()
    rejects: list[Reject] = []
    lines: JsonLines | None = None
    try:
        with path.open("rb") as handle:
            lines = JsonLines(handle)
            for index, (line, child) in enumerate(lines.items("Children.item")):
                where = f"Children[{index}]"
                if not isinstance(child, dict) or not isinstance(
                        child.get("child_details", {}), dict):
                    rejects.append(Reject(str(path), line, f"{where}.child_details",
                                          "not an object; child skipped"))
                    continue
                if not child.get("la_child_id"):
                    rejects.append(Reject(str(path), line, f"{where}.la_child_id",
                                          "required field is missing; child skipped"))
                    continue
                rows.add(line, _child(child))
    except ijson.JSONError as exc:
        raise ExtractError(f"{path}: {JsonLines.where(lines)}not well-formed JSON ({exc})") \
            from exc
    except OSError as exc:
        raise ExtractError(f"{path}: cannot be read ({exc})") from exc
    return FormatExtract(FORMAT, "0.7", (path,), rows, [], dict(CATEGORIES), ("%Y-%m-%d",),
                         ESTIMATED_DAY, rejects)


def _dates(episodes: list[Any], group: str) -> str | None:
    values = [str(item.get("start_date")) for ep in episodes if isinstance(ep, dict)
              for item in (ep.get(group) or []) if isinstance(item, dict) and item.get("start_date")]
    return ";".join(values) or None


def _text(value: Any) -> str | None:
    if value is None or value == "":
        return None
    return str(value).strip() or None


def _child(child: dict[str, Any]) -> dict[str, str | None]:
    details = child.get("child_details") or {}
    episodes = child.get("social_care_episodes") or []
    return {
        "record_id": _text(child.get("la_child_id")),
        "upn": _text(details.get("unique_pupil_number")),
        "former_upn": _text(details.get("former_unique_pupil_number")),
        "given_name": _text(details.get("first_name")),
        "family_name": _text(details.get("surname")),
        "dob": _text(details.get("date_of_birth")),
        "expected_dob": _text(details.get("expected_date_of_birth")),
        "sex": _text(details.get("sex")),
        "postcode": _text(details.get("postcode")),
        "mis_child_id": _text(child.get("mis_child_id")),
        "ethnicity": _text(details.get("ethnicity")),
        "uasc_flag": _text(details.get("uasc_flag")),
        "referral_dates": ";".join(str(e["referral_date"]) for e in episodes
                                   if isinstance(e, dict) and e.get("referral_date")) or None,
        "s47_start_dates": _dates(episodes, "section_47_assessments"),
        "cp_plan_start_dates": _dates(episodes, "child_protection_plans"),
        "looked_after_start_dates": _dates(episodes, "child_looked_after_placements"),
        "restriction": _text(details.get("restriction")),
    }
