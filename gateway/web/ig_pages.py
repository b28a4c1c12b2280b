"""Pages for information-governance officers: audit search, a child's subject-access report
(printable, with a CSV download), the anomaly report, the trail's integrity, the sharing
matrix with the difference a new agreement version would make, and — as their agency's
designated officer — the owner notifications: who in another agency was shown their records.

Only IG roles under the ``ig-oversight`` purpose; every page view is itself audited
(``gateway.views.ig_gate``), before the page is sent.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, HTTPException, Query, Request, UploadFile
from fastapi import Path as PathParam
from fastapi.responses import Response

from audit import AuditQuery, run_anomaly_rules, search_events
from audit.activity import access_activity
from audit.anomalies import not_checked
from audit.notifications import notifications_for
from gateway.views import anomaly_context, ig_gate, subject_access_for
from gateway.web.ig_charts import activity_charts, findings_chart
from gateway.web.session import check_csrf

__all__ = ["NOTIFICATIONS_SHOWN", "ig_router"]

#: The most notifications one page lists (newest first); a narrower filter finds older ones.
NOTIFICATIONS_SHOWN = 200


def _day(value: str, field: str) -> dt.datetime | None:
    """A date typed into a filter, as the start of that day in UTC (None when left empty)."""
    if not value.strip():
        return None
    try:
        return dt.datetime.combine(dt.date.fromisoformat(value.strip()), dt.time(), dt.UTC)
    except ValueError as exc:
        raise ValueError(f"Enter the {field} date like 2026-11-01") from exc


def own_notifications(request: Request, agency: str, person: str | None,
                      since: dt.datetime | None, until: dt.datetime | None
                      ) -> list[dict[str, Any]]:
    """The caller's own agency's notifications, newest first: another agency's are never read,
    whatever the filter says (the agency comes from the signed-in token, not the form). A child
    is found under every ID that now resolves to them, so a merge hides no earlier access."""
    ids = None
    if person:
        index = request.app.state.index
        current = index.resolve(person) or person
        ids = list(dict.fromkeys([person, current, *index.former_ids(current)]))
    with request.app.state.audit.session() as session:
        return notifications_for(session, agency, since=since, until=until, newest_first=True,
                                 limit=NOTIFICATIONS_SHOWN, person_ids=ids)


def ig_router(page: Any, needs_purpose: Any) -> APIRouter:
    router = APIRouter(prefix="/ig", include_in_schema=False)

    def _ig(request: Request, subject: str | None, what: str) -> Any:
        caller, ctx = needs_purpose(request)
        ig_gate(request, caller, ctx, subject, what)   # audits once; refuses other roles/purposes
        return caller, ctx

    @router.get("")
    def home(request: Request) -> Response:
        _ig(request, None, "IG home page")
        return page(request, "ig_home.html", {})

    @router.post("/audit")
    def audit_search(request: Request, csrf: Annotated[str, Form()] = "",
                     subject: Annotated[str, Form(max_length=32)] = "",
                     user: Annotated[str, Form(max_length=128)] = "",
                     agency: Annotated[str, Form(max_length=64)] = "",
                     purpose: Annotated[str, Form(max_length=64)] = "",
                     since: Annotated[str, Form(max_length=25)] = "",
                     until: Annotated[str, Form(max_length=25)] = "") -> Response:
        check_csrf(request, csrf)
        _ig(request, subject or None, "audit search page")
        try:
            start = dt.datetime.fromisoformat(since).replace(tzinfo=dt.UTC) if since else None
            end = dt.datetime.fromisoformat(until).replace(tzinfo=dt.UTC) if until else None
        except ValueError:
            return page(request, "ig_audit.html", {"events": [], "searched": False,
                                                   "error": "Enter dates like 2026-11-01"}, 400)
        events = search_events(request.app.state.audit.cursor(), AuditQuery(
            subject=subject or None, user=user or None, agency=agency or None,
            purpose=purpose or None, since=start, until=end, limit=200))
        return page(request, "ig_audit.html", {"events": events, "searched": True})

    @router.get("/audit")
    def audit_form(request: Request) -> Response:
        _ig(request, None, "audit search form")
        return page(request, "ig_audit.html", {"events": [], "searched": False})

    @router.post("/subject-access")
    def sar_form(request: Request, csrf: Annotated[str, Form()] = "",
                 person: Annotated[str, Form(pattern=r"^[A-Za-z0-9]{6,32}$")] = "PX") -> Response:
        check_csrf(request, csrf)
        return sar(request, person)

    @router.get("/subject-access/{person}.csv")
    def sar_csv(request: Request,
                person: Annotated[str, PathParam(pattern=r"^[A-Za-z0-9]{6,32}$")]) -> Response:
        _ig(request, person, "subject-access report CSV")
        report = subject_access_for(request, person)
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(["date", "organisation", "purpose", "lawful_basis", "categories"])
        for e in report.entries:
            writer.writerow([e["date"], e["organisation"], e["purpose"],
                             " ".join(e["lawful_basis"]), " ".join(e["categories"])])
        return Response(buffer.getvalue(), media_type="text/csv", headers={
            "Content-Disposition": f'attachment; filename="subject-access-{person}.csv"',
            "Cache-Control": "no-store"})

    @router.get("/subject-access/{person}")
    def sar(request: Request,
            person: Annotated[str, PathParam(pattern=r"^[A-Za-z0-9]{6,32}$")]) -> Response:
        _ig(request, person, "subject-access report page")
        report = subject_access_for(request, person)
        return page(request, "ig_sar.html", {"report": report})

    def _notifications(request: Request, person: str, since: str, until: str,
                       searched: bool) -> Response:
        caller, _ = _ig(request, person or None, "owner notifications page")
        bundle = request.app.state.policies
        names = {code: p.name for a in bundle.agreements for code, p in a.purposes.items()}
        context: dict[str, Any] = {
            "notifications": [], "searched": searched, "person": person, "since": since,
            "until": until, "purpose_names": names, "shown_at_most": NOTIFICATIONS_SHOWN,
            "category_names": {code: c.name for a in bundle.agreements
                               for code, c in a.categories.items()},
            # A notification lists what the clause released from every agency; of those, only
            # the categories this agency's records can hold were seen in its records.
            "own_categories": {code for a in bundle.agreements
                               for code, c in a.categories.items() if caller.agency in c.parties}}
        try:
            start, end = _day(since, "from"), _day(until, "up to")
        except ValueError as exc:
            return page(request, "ig_notifications.html", {**context, "error": str(exc)}, 400)
        if end is not None:
            end += dt.timedelta(days=1)              # "up to" a date includes that day
        context["notifications"] = own_notifications(request, caller.agency, person or None,
                                                     start, end)
        return page(request, "ig_notifications.html", context)

    @router.get("/notifications")
    def notifications_page(request: Request) -> Response:
        """Who in another agency was shown this agency's records, newest first."""
        return _notifications(request, "", "", "", searched=False)

    @router.post("/notifications")
    def notifications_filter(
            request: Request, csrf: Annotated[str, Form()] = "",
            person: Annotated[str, Form(pattern=r"^([A-Za-z0-9]{6,32})?$")] = "",
            since: Annotated[str, Form(max_length=25)] = "",
            until: Annotated[str, Form(max_length=25)] = "") -> Response:
        """The same list filtered by child and dates: POSTed, so a person ID a search names
        never sits in a URL, a history or a proxy log."""
        check_csrf(request, csrf)
        return _notifications(request, person, since, until, searched=True)

    @router.get("/activity")
    def activity(request: Request, days: Annotated[int, Query(ge=7, le=366)] = 28) -> Response:
        """Access patterns as charts with their tables: the last ``days`` days to today (UTC)."""
        _ig(request, None, "access activity page")
        until = dt.datetime.now(dt.UTC).date()
        found = access_activity(request.app.state.audit.cursor(),
                                until - dt.timedelta(days=days - 1), until)
        names = {code: p.name for a in request.app.state.policies.agreements
                 for code, p in a.purposes.items()}
        return page(request, "ig_activity.html", {"activity": found, "days": days,
                                                  **activity_charts(found, names)})

    @router.get("/anomalies")
    def anomalies(request: Request) -> Response:
        _ig(request, None, "anomaly report page")
        cursor = request.app.state.audit.cursor()
        context = anomaly_context(request, cursor)
        findings = run_anomaly_rules(cursor, None, context)
        return page(request, "ig_anomalies.html", {
            "findings": findings, "not_checked": not_checked(context),
            "chart": findings_chart(findings)})

    @router.get("/integrity")
    def integrity(request: Request) -> Response:
        _ig(request, None, "audit integrity page")
        trail = request.app.state.audit
        cursor = trail.cursor()
        result = trail.verify()
        checkpoint = cursor.execute(
            "SELECT note, created_at FROM checkpoints ORDER BY tree_size DESC LIMIT 1").fetchall()
        exists = cursor.execute("SELECT count(*) FROM information_schema.tables "
                                "WHERE table_name = 'witness_cosignatures'").fetchall()[0][0]
        cosignatures = cursor.execute(
            "SELECT witness, tree_size, created_at FROM witness_cosignatures "
            "ORDER BY created_at DESC LIMIT 20").fetchall() if exists else []
        return page(request, "ig_integrity.html", {
            "result": result, "checkpoint": checkpoint[0] if checkpoint else None,
            "cosignatures": cosignatures})

    @router.get("/policies")
    def policies(request: Request) -> Response:
        from policies.matrix import sharing_matrix

        _ig(request, None, "sharing matrix page")
        cells = [c for c in sharing_matrix(request.app.state.policies) if c.outcome == "permit"]
        return page(request, "ig_policies.html", {"cells": cells, "changes": None})

    @router.post("/policies/diff")
    async def policy_diff(request: Request, csrf: Annotated[str, Form()] = "",
                          proposed: Annotated[UploadFile | None, File()] = None) -> Response:
        from policies import PolicyError, load_policies
        from policies.matrix import diff_matrices, sharing_matrix

        check_csrf(request, csrf)
        _ig(request, None, "policy diff page")
        if proposed is None:
            raise HTTPException(400, "Choose a proposed agreement file")
        content = await proposed.read(256 * 1024)
        with tempfile.TemporaryDirectory() as directory:
            path = Path(directory) / "proposed.yaml"
            path.write_bytes(content)
            try:
                new = load_policies(Path(directory))
            except PolicyError as exc:
                return page(request, "ig_policies.html", {"cells": [], "changes": None,
                                                          "error": str(exc)}, 400)
        changes = diff_matrices(sharing_matrix(request.app.state.policies), sharing_matrix(new))
        return page(request, "ig_policies.html", {"cells": [], "changes": changes})

    return router
