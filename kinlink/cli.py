"""The single ``kinlink`` command: a thin face that mounts each package's own commands.

Each concern registers its commands from its own ``cli`` module, so the command tree mirrors the
architecture and no package reaches into another's internals to offer a command.
"""

from __future__ import annotations

import typer

app = typer.Typer(
    name="kinlink",
    help="Secure inter-agency data linkage and sharing for children's services.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _mount() -> None:
    from linkage import cli as linkage_cli

    linkage_cli.register(app)
    from kinlink import backup, config_cli, db_cli, demo

    demo.register(app)
    backup.register(app)
    config_cli.register(app)
    db_cli.register(app)
    for module_name in ("audit.cli", "policies.cli", "gateway.cli"):
        try:
            module = __import__(module_name, fromlist=["register"])
        except ModuleNotFoundError as exc:
            # A package whose CLI has not been written yet simply offers no commands.
            if exc.name == module_name:
                continue
            raise
        module.register(app)


_mount()


def main() -> None:
    import logging

    # Splink narrates every SQL stage at INFO; an operator wants our summary, not its internals.
    logging.getLogger("splink").setLevel(logging.WARNING)
    app()


if __name__ == "__main__":
    main()
