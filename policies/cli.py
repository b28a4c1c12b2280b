"""``kinlink policies validate|test|explain|diff``: the agreements as an IG officer works with them."""

from __future__ import annotations

import csv
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

__all__ = ["register"]

policies_app = typer.Typer(
    help="Sharing agreements: validate, test, explain, diff.", no_args_is_help=True
)
out = Console(soft_wrap=True)
DirArgument = Annotated[
    Path | None, typer.Argument(help="Agreements directory (default: packaged).")
]


def _load(directory: Path | None):
    from policies.loader import PolicyError, load_policies

    try:
        return load_policies(directory)
    except PolicyError as exc:
        out.print(f"[red]invalid:[/red] {exc}")
        raise typer.Exit(1) from exc


@policies_app.command("validate")
def validate(directory: DirArgument = None) -> None:
    """Check every agreement against the schema and its own cross-references."""
    bundle = _load(directory)
    for a in bundle.agreements:
        out.print(
            f"{a.source}: valid — {a.id} v{a.version}, {len(a.rules)} clauses, "
            f"review by {a.review_by.isoformat()}, sha256 {a.content_hash[:16]}…"
        )


@policies_app.command("test")
def test(directory: DirArgument = None) -> None:
    """Run the policy test cases kept in ``tests/`` beside the agreements."""
    from policies.casebook import run_cases
    from policies.loader import DEFAULT_POLICY_DIR, PolicyError

    bundle = _load(directory)
    try:
        results = run_cases(bundle, (directory or DEFAULT_POLICY_DIR) / "tests")
    except PolicyError as exc:
        out.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from exc
    table = Table(title="policy test cases")
    table.add_column("result")
    table.add_column("case")
    table.add_column("problems")
    for r in results:
        table.add_row(
            "[green]pass[/]" if r.passed else "[red]FAIL[/]", r.name, "; ".join(r.problems)
        )
    out.print(table)
    failed = sum(not r.passed for r in results)
    out.print(f"{len(results) - failed} passed, {failed} failed")
    if failed:
        raise typer.Exit(1)


@policies_app.command("explain")
def explain(
    directory: DirArgument = None,
    purpose: Annotated[str | None, typer.Option(help="Only this purpose.")] = None,
    fmt: Annotated[str, typer.Option("--format", help="table | csv | markdown")] = "table",
) -> None:
    """The sharing matrix: purpose × role × source party × category, with the deciding clause."""
    from policies.matrix import sharing_matrix

    cells = sharing_matrix(_load(directory), purpose)
    header = ["purpose", "role", "source party", "category", "outcome", "clause"]
    rows = [[c.purpose, c.role, c.source_party, c.category, c.outcome, c.clause] for c in cells]
    if fmt == "csv":
        writer = csv.writer(sys.stdout)
        writer.writerow(header)
        writer.writerows(rows)
    elif fmt == "markdown":
        print("| " + " | ".join(header) + " |")
        print("|" + "---|" * len(header))
        for row in rows:
            print("| " + " | ".join(row) + " |")
    else:
        table = Table(title="sharing matrix")
        for h in header:
            table.add_column(h)
        for row in rows:
            table.add_row(*row)
        out.print(table)


@policies_app.command("diff")
def diff(old: Path, new: Path) -> None:
    """What NEW grants or withdraws compared with OLD (directories of agreements)."""
    from policies.matrix import diff_matrices, sharing_matrix

    changes = diff_matrices(sharing_matrix(_load(old)), sharing_matrix(_load(new)))
    if not changes:
        out.print("no change in what is shared")
        return
    for kind, c in changes:
        out.print(
            f"{kind:9} {c.purpose} / {c.role}: {c.category} from {c.source_party} ({c.clause})"
        )


def register(app: typer.Typer) -> None:
    app.add_typer(policies_app, name="policies")
