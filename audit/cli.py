"""``kinlink audit verify|checkpoint``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

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


def register(app: typer.Typer) -> None:
    app.add_typer(audit_app, name="audit")
