"""``kinlink serve``, ``kinlink clients add|list``, ``kinlink users add|list|disable`` and
``kinlink keys rotate``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from gateway.settings import GatewaySettings

__all__ = ["register"]

DbOption = Annotated[Path, typer.Option("--db", help="Identity index.", envvar="KINLINK_DB")]
clients_app = typer.Typer(help="API clients of the embedded authorization server.",
                          no_args_is_help=True)
keys_app = typer.Typer(help="Token-signing keys.", no_args_is_help=True)
users_app = typer.Typer(help="Staff who sign in to the pages at the embedded server.",
                        no_args_is_help=True)


def serve(
    config: Annotated[Path | None, typer.Option(
        "--config", help="TOML configuration file (or KINLINK_CONFIG); see docs/configuration.md.",
        exists=True, dir_okay=False)] = None,
    db: Annotated[str | None, typer.Option(
        "--db", help="Identity index: a DuckDB file or a postgresql:// URL (or KINLINK_DB).")] = None,
    host: Annotated[str | None, typer.Option(help="Address to listen on [127.0.0.1].")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on [8000].")] = None,
    issuer: Annotated[str | None, typer.Option(help="Issuer URL (default http://HOST:PORT).")] = None,
    issuers: Annotated[Path | None, typer.Option(
        help="YAML of trusted external OIDC issuers (or KINLINK_ISSUERS).")] = None,
    workers: Annotated[int | None, typer.Option(
        help="Worker processes (more than one needs PostgreSQL) [1].")] = None,
) -> None:
    """Run the gateway (API under /v1, authorization server, pages, /healthz, /metrics)."""
    import os
    import tempfile

    import uvicorn

    from gateway.app import create_app
    from gateway.issuers import IssuerConfigError, load_issuers
    from gateway.logging import configure_logging
    from gateway.settings import GatewaySettings
    from stores.config import ConfigError, load_config

    given: dict[str, Any] = {"db": db, "host": host, "port": port, "issuer": issuer, "issuers_file": issuers,
             "workers": workers}
    try:
        loaded = load_config(config, **given)
        settings = GatewaySettings.from_config(loaded)
        if settings.issuers_path is not None:
            load_issuers(settings.issuers_path)
    except (ConfigError, IssuerConfigError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    if loaded.workers > 1 and not settings.multi_process:
        typer.echo("error: --workers > 1 needs a PostgreSQL database (db = postgresql://…): "
                   "DuckDB lets one process write a file, and every worker writes the audit trail",
                   err=True)
        raise typer.Exit(2)
    configure_logging(loaded.log_level)
    if loaded.workers == 1:
        uvicorn.run(create_app(settings), host=loaded.host, port=loaded.port, log_config=None,
                    access_log=False)
        return
    # Each worker builds the app from the same configuration: the file and the environment,
    # with this command's options passed down as the variables they stand for.
    if config is not None:
        os.environ["KINLINK_CONFIG"] = str(config.resolve())
    for key, value in given.items():
        if value is not None:
            os.environ[f"KINLINK_{key.upper()}"] = str(value)
    os.environ["KINLINK_ISSUER"] = settings.issuer
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="kinlink-metrics-")
    uvicorn.run("gateway.app:app_from_environment", factory=True, workers=loaded.workers,
                host=loaded.host, port=loaded.port, log_config=None, access_log=False)


@clients_app.command("add")
def add(
    name: str,
    agency: Annotated[str, typer.Option()],
    role: Annotated[str, typer.Option()],
    purposes: Annotated[str, typer.Option(help="Comma-separated purpose codes.")],
    db: DbOption = Path("kinlink.duckdb"),
    issuer: Annotated[str, typer.Option()] = "http://127.0.0.1:8000",
    auth: Annotated[str, typer.Option(
        help="private_key_jwt (a key pair; RFC 7523) or client_secret.")] = "client_secret",
    organisation: Annotated[str | None, typer.Option(
        help="Source code of the extract this client's organisation supplies: its legitimate "
             "relationship with a child is that it holds one of the child's records.")] = None,
) -> None:
    """Register a client; prints its credentials once, as JSON."""
    from gateway.clients import ClientRegistry, unknown_names
    from gateway.settings import GatewaySettings

    codes = [p.strip() for p in purposes.split(",") if p.strip()]
    if auth not in ("client_secret", "private_key_jwt"):
        typer.echo("error: --auth must be client_secret or private_key_jwt", err=True)
        raise typer.Exit(2)
    settings = GatewaySettings.from_env(db, issuer)
    problem = unknown_names(settings.policies(), agency, role, codes)
    if problem:
        typer.echo(f"error: {problem}", err=True)
        raise typer.Exit(2)
    registry = ClientRegistry(settings.clients_path)
    credentials: dict[str, object]
    if auth == "private_key_jwt":
        client, private_jwk = registry.add_with_key(name, agency, role, codes, organisation)
        credentials = {"client_id": client.client_id, "private_jwk": private_jwk}
    else:
        client, secret = registry.add(name, agency, role, codes, organisation)
        credentials = {"client_id": client.client_id, "client_secret": secret}
    typer.echo(json.dumps({**credentials, "token_endpoint_auth_method": auth, "agency": agency,
                           "role": role, "purposes": codes,
                           "token_endpoint": f"{settings.issuer}/oauth/token"}, indent=2))


@clients_app.command("list")
def list_clients(db: DbOption = Path("kinlink.duckdb")) -> None:
    from gateway.clients import ClientRegistry
    from gateway.settings import GatewaySettings

    for c in ClientRegistry(GatewaySettings.from_env(db).clients_path).list():
        typer.echo(f"{c.client_id}  {c.name}  {c.agency}  {c.role}  {','.join(c.purposes)}")


@keys_app.command("rotate")
def rotate(db: DbOption = Path("kinlink.duckdb")) -> None:
    """Make a new signing key active; older keys stay published until their tokens expire."""
    from gateway.keys import KeyStore
    from gateway.settings import GatewaySettings

    key = KeyStore(GatewaySettings.from_env(db).keys_dir).rotate()
    typer.echo(f"active signing key {key.kid}")


@users_app.command("add")
def add_user(
    name: Annotated[str, typer.Argument(help="The username they sign in with.")],
    agency: Annotated[str, typer.Option(help="Their agency: a party to the agreements.")],
    role: Annotated[str, typer.Option(help="Their role, as the agreements' clauses name it.")],
    password_file: Annotated[Path | None, typer.Option(
        help="A file whose first line is the password; without it one is generated and printed "
             "once.", exists=True, dir_okay=False)] = None,
    display_name: Annotated[str | None, typer.Option(help="Full name shown to IG [NAME].")] = None,
    purposes: Annotated[str | None, typer.Option(
        help="Comma-separated purposes, fewer than the role allows [all the role allows].")] = None,
    db: DbOption = Path("kinlink.duckdb"),
) -> None:
    """Register a member of staff for the pages; the change is recorded in the audit trail."""
    from gateway.staff_accounts import add_staff_user
    from gateway.users import StaffUserError

    password = _read_password(password_file) if password_file is not None else None
    wanted = [p.strip() for p in purposes.split(",") if p.strip()] if purposes else None
    try:
        user, issued = add_staff_user(_settings(db), name, display_name or name, agency, role,
                                      wanted, password, operator=_operator())
    except StaffUserError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    typer.echo(f"added {user.username} ({user.role}, {user.agency}); purposes: "
               f"{', '.join(user.purposes)}")
    if password is None:
        typer.echo(f"password (shown once, give it to them privately): {issued}")


@users_app.command("list")
def list_users(db: DbOption = Path("kinlink.duckdb")) -> None:
    """Every registered member of staff, enabled or disabled; never a password."""
    from gateway.users import StaffRegistry

    for u in StaffRegistry(_settings(db).users_path).list():
        state = f"disabled {u.disabled_at}" if u.disabled_at else "enabled"
        typer.echo(f"{u.username}  {u.display_name}  {u.agency}  {u.role}  "
                   f"{','.join(u.purposes)}  {state}")


@users_app.command("disable")
def disable_user(name: str, db: DbOption = Path("kinlink.duckdb")) -> None:
    """Stop a member of staff signing in; their open sessions end at their next request."""
    from datetime import UTC, datetime

    from gateway.staff_accounts import disable_staff_user
    from gateway.users import StaffUserError

    try:
        user = disable_staff_user(_settings(db), name, datetime.now(UTC), operator=_operator())
    except StaffUserError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    typer.echo(f"disabled {user.username} at {user.disabled_at}")


def _settings(db: Path) -> GatewaySettings:
    from gateway.settings import GatewaySettings

    return GatewaySettings.from_env(db)


def _operator() -> str:
    """Who ran the command, for the audit event: the operating-system account."""
    import getpass

    return f"os:{getpass.getuser()}"


def _read_password(path: Path) -> str:
    from gateway.staff_accounts import MIN_PASSWORD_LENGTH

    lines = path.read_text(encoding="utf-8").splitlines()
    password = lines[0].strip() if lines else ""
    if len(password) < MIN_PASSWORD_LENGTH:
        typer.echo(f"error: {path}: line 1: the password must be at least "
                   f"{MIN_PASSWORD_LENGTH} characters", err=True)
        raise typer.Exit(2)
    return password


def register(app: typer.Typer) -> None:
    app.command()(serve)
    app.add_typer(clients_app, name="clients")
    app.add_typer(users_app, name="users")
    app.add_typer(keys_app, name="keys")
