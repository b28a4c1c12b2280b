"""``kinlink serve``, ``kinlink clients add|list`` and ``kinlink keys rotate``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

__all__ = ["register"]

DbOption = Annotated[Path, typer.Option("--db", help="Identity index.", envvar="KINLINK_DB")]
clients_app = typer.Typer(help="API clients of the embedded authorization server.",
                          no_args_is_help=True)
keys_app = typer.Typer(help="Token-signing keys.", no_args_is_help=True)


def serve(
    db: DbOption = Path("kinlink.duckdb"),
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8000,
    issuer: Annotated[str | None, typer.Option(help="Issuer URL (default http://HOST:PORT).")] = None,
    issuers: Annotated[Path | None, typer.Option(
        help="YAML of trusted external OIDC issuers (or KINLINK_ISSUERS).")] = None,
) -> None:
    """Run the gateway (API under /v1, authorization server, /healthz)."""
    import uvicorn

    from gateway.app import create_app
    from gateway.logging import configure_logging
    from gateway.settings import GatewaySettings

    configure_logging()
    from dataclasses import replace

    from gateway.issuers import IssuerConfigError, load_issuers

    settings = GatewaySettings.from_env(db, issuer or f"http://{host}:{port}")
    if issuers is not None:
        settings = replace(settings, issuers_path=issuers)
    if settings.issuers_path is not None:
        try:
            load_issuers(settings.issuers_path)
        except IssuerConfigError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from exc
    uvicorn.run(create_app(settings), host=host, port=port, log_config=None, access_log=False)


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
) -> None:
    """Register a client; prints its credentials once, as JSON."""
    from gateway.clients import ClientRegistry
    from gateway.settings import GatewaySettings
    from policies import load_policies

    codes = [p.strip() for p in purposes.split(",") if p.strip()]
    bundle = load_policies()
    unknown = [p for p in codes if bundle.purpose(p) is None]
    if unknown:
        typer.echo(f"error: unknown purpose {unknown[0]!r}", err=True)
        raise typer.Exit(2)
    if auth not in ("client_secret", "private_key_jwt"):
        typer.echo("error: --auth must be client_secret or private_key_jwt", err=True)
        raise typer.Exit(2)
    settings = GatewaySettings.from_env(db, issuer)
    registry = ClientRegistry(settings.clients_path)
    credentials: dict[str, object]
    if auth == "private_key_jwt":
        client, private_jwk = registry.add_with_key(name, agency, role, codes)
        credentials = {"client_id": client.client_id, "private_jwk": private_jwk}
    else:
        client, secret = registry.add(name, agency, role, codes)
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


def register(app: typer.Typer) -> None:
    app.command()(serve)
    app.add_typer(clients_app, name="clients")
    app.add_typer(keys_app, name="keys")
