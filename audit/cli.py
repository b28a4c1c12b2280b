"""``kinlink audit verify|checkpoint|search|sar|anomalies|export|witness``."""

from __future__ import annotations

import csv
import datetime as dt
import json
import sys
from pathlib import Path
from typing import Annotated

import duckdb
import typer
from rich.console import Console
from rich.table import Table

__all__ = ["register"]

audit_app = typer.Typer(
    help="Verify and checkpoint the tamper-evident audit trail.", no_args_is_help=True
)
out = Console(soft_wrap=True)
DbOption = Annotated[
    Path,
    typer.Option("--db", help="Identity index; the trail sits beside it.", envvar="KINLINK_DB"),
]
AuditOption = Annotated[
    Path | None, typer.Option("--audit", help="Audit trail file, if elsewhere.")
]


def _paths(db: Path, audit: Path | None) -> Path:
    from audit.trail import audit_path_for

    return audit or audit_path_for(db)


@audit_app.command("verify")
def verify(
    db: DbOption = Path("kinlink.duckdb"),
    audit: AuditOption = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Exit 0 when the trail is intact; otherwise name the first event that fails."""
    from audit.checkpoint import SigningKey
    from audit.trail import key_path_for
    from audit.verify import verify_trail

    path = _paths(db, audit)
    key_path = key_path_for(path)
    if not key_path.exists():
        out.print(f"[red]error:[/red] no log signing key at {key_path}")
        raise typer.Exit(2)
    key = SigningKey.load_or_create(key_path, "kinlink.local/audit")
    result = verify_trail(path, key.name, key.public_bytes)
    if as_json:
        print(json.dumps(result.__dict__))
    elif result.ok:
        out.print(f"audit trail intact: {result.events:,} events, {result.checkpoints} checkpoints")
    else:
        where = (
            f" (event seq {result.first_failure_seq})"
            if result.first_failure_seq is not None
            else ""
        )
        out.print(f"[red]audit trail FAILED verification{where}:[/red] {result.problem}")
    if not result.ok:
        raise typer.Exit(1)


@audit_app.command("checkpoint")
def checkpoint(db: DbOption = Path("kinlink.duckdb"), audit: AuditOption = None) -> None:
    """Sign the current tree head and print the checkpoint note."""
    from audit.trail import AuditTrail

    trail = AuditTrail.open(_paths(db, audit))
    try:
        note = trail.checkpoint()
    finally:
        trail.close()
    print(note.text(), end="")


def _read_only(db: Path, audit: Path | None) -> duckdb.DuckDBPyConnection:
    """The trail opened read-only. DuckDB lets one process write a file; while the gateway runs,
    search a copy (or stop it), and this says so rather than failing obscurely."""
    path = _paths(db, audit)
    if not path.exists():
        out.print(f"[red]error:[/red] no audit trail at {path}")
        raise typer.Exit(2)
    try:
        return duckdb.connect(str(path), read_only=True)
    except duckdb.IOException as exc:
        out.print(f"[red]error:[/red] {path} is held by a running gateway; stop it or copy the "
                  "file and pass --audit COPY")
        raise typer.Exit(2) from exc


def _when(value: str | None, option: str) -> dt.datetime | None:
    if value is None:
        return None
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError as exc:
        out.print(f"[red]error:[/red] {option} must be an ISO date or date-time, not {value!r}")
        raise typer.Exit(2) from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


@audit_app.command("search")
def search(
    db: DbOption = Path("kinlink.duckdb"),
    audit: AuditOption = None,
    subject: Annotated[str | None, typer.Option(help="Person ID the events are about.")] = None,
    user: Annotated[str | None, typer.Option()] = None,
    client: Annotated[str | None, typer.Option()] = None,
    agency: Annotated[str | None, typer.Option()] = None,
    purpose: Annotated[str | None, typer.Option()] = None,
    outcome: Annotated[str | None, typer.Option(help="permit or deny")] = None,
    since: Annotated[str | None, typer.Option(help="ISO date or date-time (UTC)")] = None,
    until: Annotated[str | None, typer.Option(help="ISO date or date-time (UTC)")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 100,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Audit events matching every filter given, newest first."""
    from audit.search import AuditQuery, search_events

    query = AuditQuery(subject, user, client, agency, purpose, outcome,
                       _when(since, "--since"), _when(until, "--until"), limit)
    with _read_only(db, audit) as con:
        events = search_events(con, query)
    if as_json:
        print(json.dumps(events, default=str))
        return
    table = Table(title=f"{len(events)} audit events")
    for column in ("seq", "recorded", "type", "outcome", "subject", "agency", "role", "purpose",
                   "status"):
        table.add_column(column)
    for e in events:
        table.add_row(str(e["seq"]), str(e.get("recorded_at", ""))[:19], e.get("event_type", ""),
                      e.get("outcome", ""), e.get("subject_person_id") or "",
                      e.get("agency") or "", e.get("role") or "", e.get("purpose") or "",
                      str(e.get("http_status") or ""))
    out.print(table)


@audit_app.command("sar")
def sar(
    person: Annotated[str, typer.Option("--person", help="The child's person ID.")],
    db: DbOption = Path("kinlink.duckdb"),
    audit: AuditOption = None,
    fmt: Annotated[str, typer.Option("--format", help="table, csv or json")] = "table",
) -> None:
    """Subject-access report: when, why and by which organisation the records were accessed."""
    from audit.subject_access import subject_access_report

    if fmt not in ("table", "csv", "json"):
        out.print("[red]error:[/red] --format must be table, csv or json")
        raise typer.Exit(2)
    with _read_only(db, audit) as con:
        report = subject_access_report(con, person)
    if fmt == "json":
        print(json.dumps(report.__dict__, default=str))
        return
    if fmt == "csv":
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(["date", "organisation", "purpose", "lawful_basis", "categories"])
        for e in report.entries:
            writer.writerow([e["date"], e["organisation"], e["purpose"],
                             " ".join(e["lawful_basis"]), " ".join(e["categories"])])
        return
    table = Table(title=f"Access to the records of {person}")
    for column in ("date", "organisation", "purpose", "lawful basis", "categories"):
        table.add_column(column)
    for e in report.entries:
        table.add_row(e["date"], e["organisation"] or "", e["purpose"] or "",
                      ", ".join(e["lawful_basis"]), ", ".join(e["categories"]))
    out.print(table)
    if report.deferred or report.exempt:
        out.print(f"{report.deferred} access(es) deferred while an enquiry is open; "
                  f"{report.exempt} exempt.")


def _context(db: Path, con: duckdb.DuckDBPyConnection) -> object:
    """Facts for the anomaly rules from the identity index and the staff register, when there."""
    from audit.anomalies import AnomalyContext
    from audit.staff import read_staff_register
    from linkage.index.reader import IdentityIndex

    staff = read_staff_register(con)
    if not db.exists():
        return AnomalyContext(staff=staff or None)
    index = IdentityIndex(db)
    return AnomalyContext(open_cases=index.open_case_persons(), staff=staff or None,
                          families=index.families())


@audit_app.command("anomalies")
def anomalies(
    db: DbOption = Path("kinlink.duckdb"),
    audit: AuditOption = None,
    since: Annotated[str | None, typer.Option(help="ISO date (default: 30 days ago)")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Run the IG anomaly rules over the trail and list what to look at."""
    from audit.anomalies import not_checked, run_anomaly_rules

    with _read_only(db, audit) as con:
        context = _context(db, con)
        findings = run_anomaly_rules(con, _when(since, "--since"), context)  # type: ignore[arg-type]
    if as_json:
        print(json.dumps([f.__dict__ for f in findings], default=str))
        return
    table = Table(title=f"{len(findings)} findings")
    for column in ("rule", "who", "count", "detail", "first event"):
        table.add_column(column)
    for f in findings:
        table.add_row(f.rule, f.who or "", str(f.count), f.detail, str(f.first_seq or ""))
    out.print(table)
    for rule, why in not_checked(context).items():  # type: ignore[arg-type]
        out.print(f"not checked: {rule} ({why})")


@audit_app.command("review-break-glass")
def review_break_glass(
    seq: Annotated[int, typer.Argument(help="Sequence number of the break-glass event.")],
    by: Annotated[str, typer.Option("--by", help="The reviewing IG officer.")],
    reason: Annotated[str, typer.Option("--reason", help="The review's finding.")],
    db: DbOption = Path("kinlink.duckdb"),
    audit: AuditOption = None,
) -> None:
    """Record IG's retrospective review of a break-glass access (it then leaves the queue)."""
    from audit.staff import record_break_glass_review
    from audit.trail import AuditTrail

    trail = AuditTrail.open(_paths(db, audit))
    try:
        record_break_glass_review(trail, seq, by, reason)
    except ValueError as exc:
        out.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    finally:
        trail.close()
    out.print(f"break-glass event {seq} reviewed by {by}")


staff_app = typer.Typer(help="The staff register: which staff are people in the index.",
                        no_args_is_help=True)
audit_app.add_typer(staff_app, name="staff")


@staff_app.command("add")
def staff_add(
    user: Annotated[str, typer.Argument(help="The staff member's user ID in tokens.")],
    person: Annotated[str, typer.Argument(help="Their own person ID in the identity index.")],
    db: DbOption = Path("kinlink.duckdb"),
    audit: AuditOption = None,
) -> None:
    """Register a member of staff as a person, so look-ups of themselves, their family and
    colleagues are reported."""
    from audit.staff import add_staff

    with duckdb.connect(str(_paths(db, audit))) as con:
        add_staff(con, user, person)
    out.print(f"{user} registered")


@audit_app.command("export")
def export(
    out_path: Annotated[Path, typer.Option("--out", help="NDJSON file to write.")],
    db: DbOption = Path("kinlink.duckdb"),
    audit: AuditOption = None,
    fmt: Annotated[str, typer.Option("--format", help="fhir")] = "fhir",
) -> None:
    """Export the trail as FHIR R4 AuditEvent resources, one JSON object per line."""
    from audit.fhir_export import fhir_audit_events

    if fmt != "fhir":
        out.print("[red]error:[/red] the only export format is fhir")
        raise typer.Exit(2)
    count = 0
    with _read_only(db, audit) as con, open(out_path, "w", encoding="utf-8") as handle:
        for resource in fhir_audit_events(con):
            handle.write(json.dumps(resource, separators=(",", ":")) + "\n")
            count += 1
    out.print(f"{count:,} AuditEvent resources written to {out_path}")


@audit_app.command("witness")
def witness(
    state: Annotated[Path, typer.Option("--state", help="The witness's own state file.")],
    key: Annotated[Path, typer.Option("--key", help="The witness's Ed25519 key file.")],
    name: Annotated[str, typer.Option("--name", help="Witness name, e.g. police.example/witness")],
    db: DbOption = Path("kinlink.duckdb"),
    audit: AuditOption = None,
) -> None:
    """Check the log grew consistently since this witness last looked, then countersign."""
    from audit.checkpoint import SigningKey
    from audit.trail import key_path_for
    from audit.witness import WitnessRefusal, witness_checkpoint

    path = _paths(db, audit)
    log_key = SigningKey.load_or_create(key_path_for(path), "kinlink.local/audit")
    try:
        cosigned = witness_checkpoint(path, log_key.name, log_key.public_bytes,
                                      SigningKey.load_or_create(key, name), state)
    except WitnessRefusal as exc:
        out.print(f"[red]refused:[/red] {exc}")
        raise typer.Exit(1) from exc
    except duckdb.IOException as exc:
        out.print(f"[red]error:[/red] {path} is held by a running gateway")
        raise typer.Exit(2) from exc
    print(cosigned.text(), end="")


def register(app: typer.Typer) -> None:
    app.add_typer(audit_app, name="audit")
