"""``kinlink demo``: the whole product on embedded defaults, from nothing, in one command.

Synthetic extracts → linkage into a DuckDB identity index → a summary and its accuracy against the
generated truth → (when the gateway is installed) the API with demo clients.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

__all__ = ["register"]

out = Console()


def demo(
    directory: Annotated[
        Path, typer.Option("--dir", help="Where demo data and the index go.")
    ] = Path("demo-data"),
    families: Annotated[
        int, typer.Option(min=10, help="Households in the synthetic population.")
    ] = 2000,
    seed: Annotated[int, typer.Option(help="Random seed for the population.")] = 1,
    serve: Annotated[bool, typer.Option(help="Start the gateway after linking.")] = True,
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8000,
) -> None:
    """Generate synthetic data, link it, report accuracy, then serve the gateway."""
    from linkage.cli import evaluate, link
    from linkage.synth import generate_population

    sources = directory / "extracts"
    db = directory / "kinlink.duckdb"
    out.rule("1. Synthetic agency extracts")
    summary = generate_population(sources, families=families, seed=seed)
    out.print(f"{summary}")
    out.rule("2. Linkage")
    link(sources=sources, db=str(db))
    out.rule("3. Accuracy against the generated truth")
    evaluate(truth=sources / "truth" / "truth.csv", db=str(db))
    out.print(
        f"\nIdentity index: [bold]{db}[/bold]\n"
        f"Export it:      kinlink export identities --db {db} --out identities.csv\n"
        f"Rejected rows:  {db.with_name(db.stem + '.rejects.csv')}"
    )
    if not serve:
        return
    try:
        from gateway.demo import serve_demo
    except ModuleNotFoundError:
        out.print("\nThe gateway is not installed in this build; linkage results are above.")
        return
    out.rule("4. Gateway")
    serve_demo(db=db, host=host, port=port)


def register(app: typer.Typer) -> None:
    app.command()(demo)
