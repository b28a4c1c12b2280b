"""``kinlink history ID --at DATE``: what a person or family ID contained at a moment.

Mounted by ``linkage.cli.register``. The answer comes from the index's time-bounded history
tables and lineage (``linkage.identity.history``), so it holds for retired IDs too.
"""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from linkage.index.option import DEFAULT_DB, DbOption

__all__ = ["history"]

_err = Console(stderr=True)
_out = Console()


def history(
    entity_id: Annotated[str, typer.Argument(metavar="ID", help="A person or family ID.")],
    at: Annotated[
        str | None,
        typer.Option(
            "--at",
            help="A date (YYYY-MM-DD: the end of that day, UTC) or ISO date-time; default now.",
        ),
    ] = None,
    db: DbOption = DEFAULT_DB,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """What ID contained at a moment: its records (or members), standing and lineage until then."""
    from linkage.identity.history import contents_at, parse_moment
    from linkage.identity.ids import is_valid_id
    from linkage.index import IndexNotFound, IndexUnavailable, connect_index

    if not is_valid_id(entity_id):
        _err.print(f"[red]error:[/red] {entity_id!r} is not a well-formed person or family ID")
        raise typer.Exit(code=2)
    try:
        moment = parse_moment(at) if at else datetime.now(UTC)
        con = connect_index(db)
    except (ValueError, IndexNotFound, IndexUnavailable) as exc:
        _err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(code=2) from exc
    with contextlib.closing(con):
        try:
            contents = contents_at(con, entity_id, moment)
        except LookupError as exc:
            _err.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(code=1) from exc
    if as_json:
        _out.print_json(json.dumps(contents.as_dict()))
        return
    standing = contents.status + (f" → {contents.survivor_id}" if contents.survivor_id else "")
    _out.print(f"{contents.kind} {contents.entity_id} at {moment.isoformat()}: {standing}")
    table = Table(title="held then")
    if contents.kind == "person":
        columns = ("source", "record_id", "family_id", "valid_from", "valid_to")
    else:
        columns = ("person_id", "role", "basis", "valid_from", "valid_to")
    for column in columns:
        table.add_column(column)
    for row in contents.held:
        table.add_row(*(_cell(row[c]) for c in columns))
    _out.print(table)
    events = Table(title="lineage until then")
    for column in ("occurred_at", "event", "entity_id", "other_id", "reason"):
        events.add_column(column)
    for event in contents.events:
        events.add_row(
            *(_cell(event[c]) for c in ("occurred_at", "event", "entity_id", "other_id", "reason"))
        )
    _out.print(events)


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="seconds")
    return str(value)
