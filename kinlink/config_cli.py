"""``kinlink config show|reference``: what a process started here would run with."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from stores.config import ConfigError, is_secret, load_config, reference_markdown
from stores.database import PostgresLocation, is_postgres

__all__ = ["register"]

group = typer.Typer(help="Configuration (a TOML file and KINLINK_* variables).",
                    no_args_is_help=True)


@group.command("show")
def show(file: Annotated[Path | None, typer.Option("--config", help="TOML file.")] = None) -> None:
    """The configuration in effect, secrets hidden."""
    try:
        config = load_config(file)
    except ConfigError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    shown = config.model_dump(mode="json")
    # A DuckDB path is not a secret; a database URL is shown without its password.
    for key, value in shown.items():
        if value and key in ("db", "audit_db"):
            if is_postgres(value):
                shown[key] = PostgresLocation(value).redacted
        elif value and is_secret(key):
            shown[key] = "***"
    typer.echo(json.dumps(shown, indent=2))


@group.command("reference")
def reference() -> None:
    """Print docs/configuration.md: every setting, its variable, default and meaning."""
    typer.echo(reference_markdown(), nl=False)


def register(app: typer.Typer) -> None:
    app.add_typer(group, name="config")
