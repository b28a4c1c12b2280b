"""``kinlink review list|show|decide|reverse|conflicts``: settle uncertain pairs from the terminal."""

from __future__ import annotations

import contextlib
import datetime as dt
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from linkage.index.option import DEFAULT_DB, DbOption

__all__ = ["review_app"]

review_app = typer.Typer(
    help="Review uncertain matches and record governed decisions.", no_args_is_help=True
)
out = Console()


def _store(db: str):
    from linkage.review.decisions import DecisionStore, decisions_path_for

    return DecisionStore(decisions_path_for(db))


@review_app.command("list")
def list_queue(
    db: DbOption = DEFAULT_DB,
    limit: Annotated[int, typer.Option(min=1)] = 20,
) -> None:
    """The queue, children first, then by the number of records a decision would affect."""
    from linkage.index import connect_index
    from linkage.review.queue import review_queue

    with contextlib.closing(connect_index(db)) as con:
        decided = _store(db).active()
        waiting = len(review_queue(con, 1_000_000_000, decided, today=dt.date.today()))
        queue = review_queue(con, limit, decided, today=dt.date.today())
        counted = con.execute("SELECT count(*) FROM record_links").fetchone()
    records = int(counted[0]) if counted else 0
    # The size against the population says whether a team can work it (a few per cent at most).
    per_1000 = 1000 * waiting / max(records, 1)
    table = Table(title=f"review queue: top {min(limit, waiting)} of {waiting} pairs waiting "
                        f"({per_1000:.1f} per 1,000 of {records:,} records)")
    for column in (
        "item",
        "left record",
        "right record",
        "probability",
        "reason",
        "child",
        "records",
    ):
        table.add_column(column)
    for row in queue.itertuples(index=False):
        table.add_row(
            str(row.item),
            row.unique_id_l,
            row.unique_id_r,
            f"{row.match_probability:.3f}",
            row.reason,
            "yes" if row.involves_child else "",
            str(row.records_affected),
        )
    out.print(table)


@review_app.command("show")
def show(
    left: Annotated[str, typer.Argument(help="source:record_id")],
    right: Annotated[str, typer.Argument(help="source:record_id")],
    db: DbOption = DEFAULT_DB,
) -> None:
    """Two records side by side, agreeing and disagreeing fields marked."""
    from linkage.index import connect_index
    from linkage.review.queue import pair_side_by_side

    with contextlib.closing(connect_index(db)) as con:
        try:
            frame = pair_side_by_side(con, left, right)
        except KeyError as exc:
            out.print(f"[red]error:[/red] {exc.args[0]}")
            raise typer.Exit(2) from exc
    table = Table(title=f"{left}  vs  {right}")
    for column in ("field", "left", "right", "comparison"):
        table.add_column(column)
    colour = {"agree": "green", "differ": "red", "missing": "yellow", "": "white"}
    for row in frame.itertuples(index=False):
        table.add_row(
            row.field,
            str(row.left or ""),
            str(row.right or ""),
            f"[{colour[row.comparison]}]{row.comparison}[/]",
        )
    out.print(table)


@review_app.command("decide")
def decide(
    left: Annotated[str, typer.Argument(help="source:record_id")],
    right: Annotated[str, typer.Argument(help="source:record_id")],
    decision: Annotated[str, typer.Option(help="same | different | unsure")],
    by: Annotated[str, typer.Option(help="Who decides (person or user ID).")],
    reason: Annotated[str, typer.Option(help="Why: read by IG and later reviewers.")],
    agency: Annotated[str | None, typer.Option(help="The decider's agency.")] = None,
    db: DbOption = DEFAULT_DB,
) -> None:
    """Record a decision; every later link run honours it as a must-link or cannot-link."""
    from linkage.index import connect_index

    with contextlib.closing(connect_index(db)) as con:
        known = {
            r[0]
            for r in con.execute(
                "SELECT unique_id FROM source_records WHERE unique_id IN (?, ?)", [left, right]
            ).fetchall()
        }
    for record in (left, right):
        if record not in known:
            out.print(f"[red]error:[/red] no record {record} in the identity index")
            raise typer.Exit(2)
    try:
        made = _store(db).record(left, right, decision, by, agency, reason)
    except ValueError as exc:
        out.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    out.print(
        f"decision {made.decision_id} recorded: {made.decision}; applies from the next link run"
    )


@review_app.command("reverse")
def reverse(
    decision_id: str,
    by: Annotated[str, typer.Option()],
    reason: Annotated[str, typer.Option()],
    agency: Annotated[str | None, typer.Option()] = None,
    db: DbOption = DEFAULT_DB,
) -> None:
    """Withdraw a decision (itself recorded, with who and why)."""
    try:
        new_id = _store(db).reverse(decision_id, by, agency, reason)
    except KeyError as exc:
        out.print(f"[red]error:[/red] {exc.args[0]}")
        raise typer.Exit(2) from exc
    out.print(f"decision {decision_id} reversed by {new_id}")


@review_app.command("conflicts")
def conflicts(db: DbOption = DEFAULT_DB) -> None:
    """Pairs on which standing decisions disagree; runs apply neither until a person settles it."""
    frame = _store(db).conflicts()
    if frame.empty:
        out.print("no conflicting decisions")
        return
    out.print(frame.to_string(index=False))
