"""What the child page (and its print view) shows, built from one ``ChildView``: summary first,
who knows the child, the household as a picture with its table, then each agency's records.

A pure function of the view the use-case layer decided, disclosed and audited; it adds no data,
only arranges and words what was released.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

from gateway.views import ChildView, group_by_agency
from gateway.web.household_svg import Household, HouseholdMember, household_rows, household_svg
from gateway.web.summary import (
    ChildSummary,
    age_on,
    child_summary,
    data_dictionary,
    labelled_record,
)

__all__ = ["child_page_context", "households"]


def _member_name(identities: list[dict[str, Any]]) -> tuple[str | None, str | None]:
    names = [" ".join(p for p in (i.get("given_name"), i.get("family_name")) if p)
             for i in identities]
    dobs = [str(i["dob"]) for i in identities if i.get("dob")]
    name = Counter(n for n in names if n).most_common(1)
    dob = Counter(dobs).most_common(1)
    return (name[0][0] if name else None), (dob[0][0] if dob else None)


def households(view: ChildView, summary: ChildSummary, today: dt.date) -> list[Household]:
    """The child's households from the members the view released; the withheld are a count."""
    subject = view.person.access.person_id
    ids = list(dict.fromkeys(m["family_id"] for m in view.family))
    out = []
    for number, family_id in enumerate(ids):
        members = []
        for m in (m for m in view.family if m["family_id"] == family_id):
            mine = m["person_id"] == subject
            name, dob = (summary.name, summary.dob) if mine else _member_name(m.get("identity", []))
            members.append(HouseholdMember(
                m["person_id"], m["role"], m["basis"], m["member_since"], m["member_until"],
                is_subject=mine, name=name, age=age_on(dob, today)))
        # The view counts withheld members over all the child's households; shown on the first.
        out.append(Household(family_id, tuple(members),
                             view.members_withheld if number == 0 else 0))
    return out


def child_page_context(view: ChildView, today: dt.date) -> dict[str, Any]:
    dictionary = data_dictionary()
    withheld = view.person.withheld
    summary = child_summary(view.person.records, withheld, today, dictionary)
    drawn = households(view, summary, today)
    return {
        "summary": summary,
        "involved": [{**i, "contacts": [(dictionary.label(c), v) for c, v in i["contacts"]]}
                     for i in view.involved],
        "household_svg": household_svg(drawn) if drawn else "",
        "household_rows": household_rows(drawn),
        "members_withheld": view.members_withheld,
        "by_agency": [(agency, [{**r, "rows": labelled_record(r, dictionary)} for r in records])
                      for agency, records in group_by_agency(view.person.records)],
        "withheld": withheld,
    }
