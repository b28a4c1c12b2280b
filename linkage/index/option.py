"""The ``--db`` option every linkage command shares: where the identity index is."""

from __future__ import annotations

from typing import Annotated

import typer

__all__ = ["DEFAULT_DB", "DbOption"]

DEFAULT_DB = "kinlink.duckdb"

# A string, not a Path: a Path would fold the "//" of a postgresql:// URL.
DbOption = Annotated[
    str,
    typer.Option(
        "--db",
        help="Identity index: a DuckDB file, or a postgresql:// URL shared by several processes.",
        envvar="KINLINK_DB",
        show_envvar=True,
    ),
]
