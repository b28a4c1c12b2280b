"""``kinlink audit``: verify, checkpoint, search, sar, anomalies, export and the witness exchange.

Reports open the trail read-only. DuckDB gives one process a file for writing and then refuses
every other process, read-only included, so while the gateway runs these commands say so and
exit 2; the gateway offers the same reports itself (``/v1/audit/...``) through its own connection.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import duckdb
import typer
from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from audit.anomalies import AnomalyContext
    from audit.store import AuditStore

from stores.database import PostgresLocation, parse_location

__all__ = ["register"]

audit_app = typer.Typer(
    help="Verify and checkpoint the tamper-evident audit trail.", no_args_is_help=True
)
out = Console(soft_wrap=True)
DbOption = Annotated[
    str,
    typer.Option("--db", help="Identity index (a DuckDB file, the trail beside it) or a "
                              "postgresql:// URL (the trail in the same database).",
                 envvar="KINLINK_DB"),
]
AuditOption = Annotated[
    str | None, typer.Option("--audit", help="Audit trail file or URL, if elsewhere.",
                             envvar="KINLINK_AUDIT_DB")
]
KeyOption = Annotated[
    Path | None, typer.Option("--key", help="Checkpoint signing key file (PostgreSQL trails; "
                                            "or KINLINK_AUDIT_KEY).", envvar="KINLINK_AUDIT_KEY")
]
DEFAULT_DB = "kinlink.duckdb"


def _paths(db: str, audit: str | None) -> Path | PostgresLocation:
    """The trail's location: a file (beside a DuckDB index) or a PostgreSQL database."""
    from audit.trail import audit_path_for

    where = parse_location(audit or db)
    if isinstance(where, PostgresLocation):
        return where
    return where.path if audit else audit_path_for(where.path)


VkeyOption = Annotated[
    str | None, typer.Option("--vkey", help="The log's verifier key (C2SP vkey, as `kinlink audit "
                                            "log-key` prints it), inline or a file holding it; "
                                            "default: the .vkey beside a DuckDB trail.",
                             envvar="KINLINK_AUDIT_VKEY")
]


def _vkey_text(value: str | None, where: Path | PostgresLocation, key: Path | None) -> str:
    """The verifier key given, or the public ``.vkey`` kept beside the signing key (``--key``)
    or beside a DuckDB trail. The signing key itself is never read."""
    from audit.trail import key_path_for, vkey_path_for

    if value is None:
        if key is None and isinstance(where, PostgresLocation):
            out.print("[red]error:[/red] a PostgreSQL trail is verified with its public key: pass "
                      "--vkey (from `kinlink audit log-key`)")
            raise typer.Exit(2)
        kept = vkey_path_for(key or key_path_for(where))  # type: ignore[arg-type]  # where is a DuckDB path here (PostgreSQL returned above)
        if not kept.exists():
            out.print(f"[red]error:[/red] no verifier key at {kept}: pass --vkey")
            raise typer.Exit(2)
        return kept.read_text(encoding="utf-8").strip()
    return (Path(value).read_text(encoding="utf-8").strip() if Path(value).is_file()
            else value.strip())


@audit_app.command("verify")
def verify(
    db: DbOption = DEFAULT_DB,
    audit: AuditOption = None,
    vkey: VkeyOption = None,
    key: Annotated[Path | None, typer.Option(
        "--key", help="Where the log's signing key is kept: its public .vkey beside it is used "
                      "(the key itself is never read).", envvar="KINLINK_AUDIT_KEY")] = None,
    anchor: Annotated[list[Path] | None, typer.Option(
        "--anchor", help="A checkpoint note kept outside the trail (published or countersigned); "
                         "repeatable. Default: the .checkpoint note beside a DuckDB trail.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Exit 0 when the trail is intact; otherwise name the first event that fails.

    Needs only read access and the log's public key: run it on a copy, on another machine."""
    from audit.store import open_store
    from audit.trail import checkpoint_path_for
    from audit.verify import verify_store

    where = _paths(db, audit)
    key_text = _vkey_text(vkey, where, key)
    if anchor is None and isinstance(where, Path):
        anchor = [p for p in [checkpoint_path_for(where)] if p.exists()]
    anchors = []
    for note in anchor or []:
        if not note.is_file():
            out.print(f"[red]error:[/red] --anchor: no checkpoint note at {note}")
            raise typer.Exit(2)
        anchors.append(note.read_text(encoding="utf-8"))
    try:
        store = open_store(where, read_only=True)
    except FileNotFoundError as exc:
        out.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    except duckdb.IOException as exc:
        out.print(f"[red]error:[/red] {where} is held by a running gateway; copy the file and "
                  "pass --audit COPY")
        raise typer.Exit(2) from exc
    try:
        result = verify_store(store, key_text, anchors)
    finally:
        store.close()
    if as_json:
        print(json.dumps(result.__dict__))
    elif result.ok:
        anchored = (f", anchored at {result.anchored_size:,}" if result.anchored_size is not None
                    else ", no published checkpoint to anchor to")
        out.print(f"audit trail intact: {result.events:,} events, {result.checkpoints} "
                  f"checkpoints{anchored}")
    else:
        where_failed = (
            f" (event seq {result.first_failure_seq})"
            if result.first_failure_seq is not None
            else ""
        )
        out.print(f"[red]audit trail FAILED verification{where_failed}:[/red] {result.problem}")
    if not result.ok:
        raise typer.Exit(1)


@audit_app.command("checkpoint")
def checkpoint(db: DbOption = DEFAULT_DB, audit: AuditOption = None) -> None:
    """Sign the current tree head and print the checkpoint note."""
    from audit.trail import AuditTrail

    trail = AuditTrail.open(_paths(db, audit))
    try:
        note = trail.checkpoint()
    finally:
        trail.close()
    print(note.text(), end="")


@contextlib.contextmanager
def _read_only(db: str, audit: str | None) -> Iterator[duckdb.DuckDBPyConnection]:
    """The trail opened read-only, as a DuckDB cursor whatever the engine (a PostgreSQL trail is
    read into a DuckDB copy, so every report runs the same queries). DuckDB lets one process
    write a file; while the gateway runs, search a copy (or stop it), and this says so rather
    than failing obscurely."""
    store = _open_read_only(db, audit)
    try:
        yield store.reader()
    finally:
        store.close()


def _open_read_only(db: str, audit: str | None) -> AuditStore:
    """The trail's store opened read-only, or a clear exit: missing, or held by a gateway."""
    from audit.store import open_store

    where = _paths(db, audit)
    try:
        return open_store(where, read_only=True)
    except FileNotFoundError as exc:
        out.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    except duckdb.IOException as exc:
        out.print(f"[red]error:[/red] {where} is held by a running gateway; stop it or copy the "
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
    db: DbOption = DEFAULT_DB,
    audit: AuditOption = None,
    subject: Annotated[str | None, typer.Option(help="Person ID the events are about.")] = None,
    user: Annotated[str | None, typer.Option()] = None,
    client: Annotated[str | None, typer.Option()] = None,
    agency: Annotated[str | None, typer.Option()] = None,
    purpose: Annotated[str | None, typer.Option()] = None,
    outcome: Annotated[str | None, typer.Option(help="permit or deny")] = None,
    since: Annotated[str | None, typer.Option(help="ISO date or date-time (UTC)")] = None,
    until: Annotated[str | None, typer.Option(help="ISO date or date-time (UTC)")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="Events per page.")] = 100,
    offset: Annotated[int, typer.Option(min=0, help="Skip this many (the next page).")] = 0,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Audit events matching every filter given, newest first.

    Reads the trail read-only: run it while the gateway is stopped, or on a copy (--audit COPY).
    """
    from audit.search import AuditQuery, search_events

    query = AuditQuery(subject, user, client, agency, purpose, outcome,
                       _when(since, "--since"), _when(until, "--until"), limit, offset)
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
    db: DbOption = DEFAULT_DB,
    audit: AuditOption = None,
    fmt: Annotated[str, typer.Option("--format", help="table, csv or json")] = "table",
) -> None:
    """Subject-access report: when, why and by which organisation the records were accessed.

    Accesses deferred while the child's case is open (s47) or exempt are withheld and counted.
    Reads the trail read-only: run it while the gateway is stopped, or on a copy (--audit COPY).
    """
    from audit.subject_access import subject_access_report

    if fmt not in ("table", "csv", "json"):
        out.print("[red]error:[/red] --format must be table, csv or json")
        raise typer.Exit(2)
    with _read_only(db, audit) as con:
        report = subject_access_report(con, person, case_open=_case_open(db, person),
                                       former_ids=_former_ids(db, person))
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


def _index_there(db: str) -> bool:
    where = parse_location(db)
    return isinstance(where, PostgresLocation) or where.path.exists()


def _case_open(db: str, person: str) -> bool | None:
    """Whether the identity index shows an open case for ``person`` (None: not known)."""
    if not _index_there(db):
        return None
    from linkage.index.reader import IdentityIndex

    try:
        return IdentityIndex(db).case_open(person)
    except Exception:  # index unreadable: deferral then falls back to the flags' own dates
        return None


def _former_ids(db: str, person: str) -> list[str]:
    """The IDs merged into ``person`` (its lineage), from the identity index when there."""
    if not _index_there(db):
        return []
    from linkage.index.reader import IdentityIndex

    return IdentityIndex(db).former_ids(person)


def _context(db: str, con: duckdb.DuckDBPyConnection,
             hours: Path | None = None) -> AnomalyContext:
    """Facts for the anomaly rules from the identity index, the staff register and the teams'
    working hours, when there."""
    from audit.anomalies import AnomalyContext, load_working_hours
    from audit.staff import read_staff_register
    from linkage.index.reader import IdentityIndex

    staff = read_staff_register(con)
    try:
        working_hours = load_working_hours(hours) if hours is not None else None
    except ValueError as exc:
        out.print(f"[red]error:[/red] --hours: {exc}")
        raise typer.Exit(2) from exc
    if not _index_there(db):
        return AnomalyContext(staff=staff or None, working_hours=working_hours)
    index = IdentityIndex(db)
    return AnomalyContext(open_cases=index.open_case_persons(), staff=staff or None,
                          families=index.families(), working_hours=working_hours)


@audit_app.command("anomalies")
def anomalies(
    db: DbOption = DEFAULT_DB,
    audit: AuditOption = None,
    since: Annotated[str | None, typer.Option(help="ISO date (default: 30 days before --at)")] = None,
    at: Annotated[str | None, typer.Option(
        "--at", help="ISO date-time the report is about (default: now); break-glass reviews "
                     "are overdue relative to it")] = None,
    hours: Annotated[Path | None, typer.Option(
        "--hours", help="YAML of team (role or agency) → {start, end, weekends}; others 7–19, "
                        "weekdays, UK time.")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Run the IG anomaly rules over the trail and list what to look at.

    Reads the trail read-only: run it while the gateway is stopped, or on a copy (--audit COPY).
    """
    from audit.anomalies import not_checked, run_anomaly_rules

    with _read_only(db, audit) as con:
        context = _context(db, con, hours)
        findings = run_anomaly_rules(con, _when(since, "--since"), context,
                                     _when(at, "--at"))
    if as_json:
        print(json.dumps([f.__dict__ for f in findings], default=str))
        return
    table = Table(title=f"{len(findings)} findings")
    for column in ("rule", "who", "count", "detail", "first event"):
        table.add_column(column)
    for f in findings:
        table.add_row(f.rule, f.who or "", str(f.count), f.detail, str(f.first_seq or ""))
    out.print(table)
    for rule, why in not_checked(context).items():
        out.print(f"not checked: {rule} ({why})")


@audit_app.command("review-break-glass")
def review_break_glass(
    seq: Annotated[int, typer.Argument(help="Sequence number of the break-glass event.")],
    by: Annotated[str, typer.Option("--by", help="The reviewing IG officer.")],
    reason: Annotated[str, typer.Option("--reason", help="The review's finding.")],
    db: DbOption = DEFAULT_DB,
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
    db: DbOption = DEFAULT_DB,
    audit: AuditOption = None,
) -> None:
    """Register a member of staff as a person, so look-ups of themselves, their family and
    colleagues are reported."""
    from audit.staff import add_staff
    from audit.store import open_store
    from stores.database import connect

    where = _paths(db, audit)
    open_store(where).close()  # created and migrated, as the trail's first write would
    with connect(parse_location(where)) as session:
        add_staff(session, user, person)
    out.print(f"{user} registered")


@audit_app.command("export")
def export(
    out_path: Annotated[Path, typer.Option("--out", help="NDJSON file to write.")],
    db: DbOption = DEFAULT_DB,
    audit: AuditOption = None,
    fmt: Annotated[str, typer.Option("--format", help="fhir")] = "fhir",
    server: Annotated[str | None, typer.Option(
        "--server", envvar="KINLINK_ISSUER",
        help="The gateway's public URL, its network address in each event (BALP agent.network); "
             "default: the host of the trail's origin.")] = None,
) -> None:
    """Export the trail as FHIR R4 AuditEvent resources following IHE BALP, one per line.

    Reads the trail read-only: run it while the gateway is stopped, or on a copy (--audit COPY).
    """
    from audit.fhir_export import fhir_audit_events

    if fmt != "fhir":
        out.print("[red]error:[/red] the only export format is fhir")
        raise typer.Exit(2)
    count = 0
    with _read_only(db, audit) as con, open(out_path, "w", encoding="utf-8") as handle:
        if server is None:
            origin = con.execute("SELECT value FROM audit_settings WHERE name = 'origin'"
                                 ).fetchall() if _has_settings(con) else []
            server = (origin[0][0] if origin else "kinlink.local/audit").split("/")[0]
        for resource in fhir_audit_events(con, server=server):
            handle.write(json.dumps(resource, separators=(",", ":")) + "\n")
            count += 1
    out.print(f"{count:,} AuditEvent resources written to {out_path}")


def _has_settings(con: duckdb.DuckDBPyConnection) -> bool:
    return bool(con.execute("SELECT count(*) FROM information_schema.tables "
                            "WHERE table_name = 'audit_settings'").fetchall()[0][0])


def _verifier_key(value: str, option: str) -> object:
    """A verifier key given inline or as a file holding one."""
    from audit.witness import VerifierKey

    text = Path(value).read_text(encoding="utf-8") if Path(value).is_file() else value
    try:
        return VerifierKey.parse(text)
    except ValueError as exc:
        out.print(f"[red]error:[/red] {option}: {exc}")
        raise typer.Exit(2) from exc


@audit_app.command("log-key")
def log_key(db: DbOption = DEFAULT_DB, audit: AuditOption = None,
            key: KeyOption = None) -> None:
    """Print the log's verifier key (vkey): for verifiers (--vkey) and each witness's first run.

    Read from the .vkey kept beside the trail's signing key; nothing is created."""
    from audit.trail import key_path_for, vkey_path_for

    path = _paths(db, audit)
    if isinstance(path, PostgresLocation):
        if key is None:
            out.print("[red]error:[/red] a PostgreSQL trail's key is a file: pass --key "
                      "or set KINLINK_AUDIT_KEY (its .vkey beside it is read)")
            raise typer.Exit(2)
        kept = vkey_path_for(key)
    else:
        kept = vkey_path_for(key or key_path_for(path))
    if kept.exists():
        print(kept.read_text(encoding="utf-8").strip())
        return
    # A trail from before the .vkey was kept: the operator who holds the signing key derives it
    # (read, never created), under the origin the trail records.
    signing_path = key if isinstance(path, PostgresLocation) else (key or key_path_for(path))
    if signing_path is None or not signing_path.exists():
        out.print(f"[red]error:[/red] no verifier key at {kept} and no signing key to derive it "
                  "from")
        raise typer.Exit(2)
    from audit.checkpoint import SigningKey
    from audit.cosignature import verifier_key
    from audit.store import DEFAULT_ORIGIN, open_store

    store = open_store(path, read_only=True)
    try:
        origin = store.origin() or DEFAULT_ORIGIN
    finally:
        store.close()
    signing = SigningKey.load_or_create(signing_path, origin)
    print(verifier_key(signing.name, signing.public_bytes))


@audit_app.command("witness")
def witness(
    state: Annotated[Path, typer.Option("--state", help="The witness's own state file.")],
    key: Annotated[Path, typer.Option("--key", help="The witness's Ed25519 key file "
                                                    "(created on first use).")],
    name: Annotated[str, typer.Option("--name", help="Witness name, e.g. police.example/witness")],
    log_vkey: Annotated[str | None, typer.Option(
        "--vkey", "--log-key", help="The log's verifier key (from `kinlink audit log-key`), inline or a file "
                          "holding it; needed on the first run, then pinned in the state file.")
    ] = None,
    db: DbOption = DEFAULT_DB,
    audit: AuditOption = None,
) -> None:
    """Check the log grew consistently since this witness last looked, then countersign.

    Exit 1 naming why on rollback, fork or a changed log key. The cosignature is stored in the
    trail itself (for the IG pages), so run it while the gateway is stopped; on a copy it is
    checked and printed but stored only in the copy.
    """
    from audit.checkpoint import SigningKey
    from audit.cosignature import COSIGNATURE_V1, verifier_key
    from audit.witness import WitnessRefusal, witness_checkpoint

    path = _paths(db, audit)
    try:
        witness_key = SigningKey.load_or_create(key, name)
    except ValueError as exc:
        out.print(f"[red]error:[/red] --name: {exc}")
        raise typer.Exit(2) from exc
    if log_vkey is None and isinstance(path, Path) and not state.exists():
        from audit.trail import key_path_for, vkey_path_for

        kept = vkey_path_for(key_path_for(path))  # first run beside the trail: its public key
        log_vkey = str(kept) if kept.exists() else None
    pinned = str(_verifier_key(log_vkey, "--vkey")) if log_vkey else None
    try:
        cosigned = witness_checkpoint(path, witness_key, state, pinned)
    except WitnessRefusal as exc:
        out.print(f"[red]refused:[/red] {exc}")
        raise typer.Exit(1) from exc
    except duckdb.IOException as exc:
        out.print(f"[red]error:[/red] {path} is held by a running gateway; stop it or copy the "
                  "file and pass --audit COPY")
        raise typer.Exit(2) from exc
    print(cosigned.text(), end="")
    vkey = verifier_key(witness_key.name, witness_key.public_bytes, COSIGNATURE_V1)
    print(f"# witness verifier key: {vkey}", file=sys.stderr)


@audit_app.command("init-db")
def init_db(
    db: Annotated[str, typer.Option("--db", help="postgresql:// URL, as the database owner.")],
    writer_role: Annotated[str, typer.Option(
        help="The gateway's database role: may append and read the trail, never change it.")],
    origin: Annotated[str | None, typer.Option(
        "--audit-origin", envvar="KINLINK_AUDIT_ORIGIN",
        help="The install's log name, e.g. somerset.gov.uk/kinlink/audit (kept with the trail; "
             "refused once checkpoints exist under another).")] = None,
) -> None:
    """Create (or upgrade) the audit trail in PostgreSQL and grant the gateway's role append-only
    access. Run once as the owner; the database then refuses UPDATE, DELETE and TRUNCATE."""
    from audit.postgres import grant_writer

    where = parse_location(db)
    if not isinstance(where, PostgresLocation):
        out.print("[red]error:[/red] init-db is for a PostgreSQL trail (--db postgresql://…); a "
                  "DuckDB trail is created by its first write")
        raise typer.Exit(2)
    from audit.store import OriginLocked

    try:
        grant_writer(where, writer_role, origin)
    except OriginLocked as exc:
        out.print(f"[red]error:[/red] --audit-origin: {exc}")
        raise typer.Exit(2) from exc
    out.print(f"audit trail ready in {where.redacted}; role {writer_role} may append and read")


notifications_app = typer.Typer(
    help="Owner notifications: which agency was told of which disclosure of its records.",
    no_args_is_help=True)


@notifications_app.command("list")
def notifications_list(
    agency: Annotated[str | None, typer.Option(
        "--agency", help="The owning agency told (default: every agency).")] = None,
    since: Annotated[str | None, typer.Option(help="ISO date or date-time (UTC)")] = None,
    dead: Annotated[bool, typer.Option("--dead", help="Only the dead-letter list.")] = False,
    db: DbOption = DEFAULT_DB,
    audit: AuditOption = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 1000,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Notifications oldest first, each with its delivery state (pending, failed, delivered,
    dead, replay). Reads the trail read-only: while the gateway runs, on a copy, which lists the
    notifications the gateway has derived so far (it does so every second and when it stops)."""
    from audit.notifications import dead_letters, notifications_for

    store = _open_read_only(db, audit)
    try:
        with store.session() as session:
            if dead:
                found = [n for n in dead_letters(session)
                         if agency is None or n["owner_agency"] == agency]
            else:
                found = notifications_for(session, agency, None, _when(since, "--since"), limit)
    except duckdb.CatalogException:  # a trail from before notifications: none written
        found = []
    finally:
        store.close()
    if as_json:
        print(json.dumps(found))
        return
    table = Table(title=f"{len(found)} notifications")
    for column in ("seq", "recorded", "told", "person", "by agency", "role", "purpose",
                   "clauses", "categories", "flags", "delivery"):
        table.add_column(column)
    for n in found:
        flags = " ".join(f for f, on in (("break-glass", n["break_glass"]),
                                         ("consent-override", n["consent_override"])) if on)
        table.add_row(str(n["seq"]), n["recorded_at"][:19], n["owner_agency"],
                      n["person_id"] or "", n["requester"]["agency"] or "",
                      n["requester"]["role"] or "", n["purpose"] or "", ", ".join(n["clauses"]),
                      ", ".join(n["categories"]), flags, n["delivery"])
    out.print(table)


def register(app: typer.Typer) -> None:
    app.add_typer(audit_app, name="audit")
    app.add_typer(notifications_app, name="notifications")
