"""``kinlink db init``: set up a PostgreSQL database and the gateway's least-privilege role."""

from __future__ import annotations

from typing import Annotated

import typer

from stores.database import PostgresLocation, parse_location

__all__ = ["register"]

group = typer.Typer(help="PostgreSQL set-up.", no_args_is_help=True)


@group.command("init")
def init(
    db: Annotated[str, typer.Option("--db", help="postgresql:// URL, as the database owner.")],
    gateway_role: Annotated[str, typer.Option(
        help="The gateway's role: reads the index, appends to the audit trail, keeps the "
             "registers; creates, changes and deletes nothing else.")],
    audit_origin: Annotated[str | None, typer.Option(
        "--audit-origin", envvar="KINLINK_AUDIT_ORIGIN",
        help="The install's audit log name, e.g. somerset.gov.uk/kinlink/audit (kept with the "
             "trail; refused once checkpoints exist under another).")] = None,
) -> None:
    """Create every kinlink store in the database and grant the gateway's role what it needs."""
    from kinlink.db_init import init_database

    where = parse_location(db)
    if not isinstance(where, PostgresLocation):
        typer.echo("error: --db must be a postgresql:// URL (a DuckDB install needs no set-up)",
                   err=True)
        raise typer.Exit(2)
    from audit.store import OriginLocked

    try:
        init_database(where, gateway_role, audit_origin)
    except OriginLocked as exc:
        typer.echo(f"error: --audit-origin: {exc}", err=True)
        raise typer.Exit(2) from exc
    typer.echo(f"{where.redacted} ready; role {gateway_role} granted the gateway's access")


def register(app: typer.Typer) -> None:
    app.add_typer(group, name="db")
