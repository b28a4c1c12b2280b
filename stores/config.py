"""Configuration: one typed model, from a TOML file and ``KINLINK_*`` environment variables.

A deployment sets a handful of things (where the stores are, who issues tokens, how many
workers); the same names work in the file and in the environment so a container can take the
file from a ConfigMap and override one value per environment. Secrets (the database URL with
its password, the session secret) may instead be *files* named by ``KINLINK_<KEY>_FILE`` —
mounted Kubernetes or compose secrets — so they never sit in an environment listing. Precedence:
environment over file over default. ``docs/configuration.md`` is generated from this model and a
test keeps the two equal.
"""

from __future__ import annotations

import datetime as dt
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

__all__ = [
    "ConfigError",
    "KinlinkConfig",
    "is_secret",
    "load_config",
    "reference_markdown",
]

ENV_PREFIX = "KINLINK_"
#: Older names still honoured, so existing installs keep working.
_ALIASES = {"issuers_file": "KINLINK_ISSUERS", "token_lifetime_seconds": "KINLINK_TOKEN_LIFETIME"}


class ConfigError(ValueError):
    """A configuration file or variable that cannot be used; the message names which and why."""


class KinlinkConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    db: str = Field("kinlink.duckdb", json_schema_extra={"secret": True}, description=(
        "The identity index: a DuckDB file (one gateway process) or a `postgresql://` URL "
        "(several workers or hosts; also holds the audit trail, registers and decisions)."))
    audit_db: str | None = Field(None, json_schema_extra={"secret": True}, description=(
        "The audit trail, if not the default: a file beside a DuckDB index "
        "(`<stem>.audit.duckdb`), or the same PostgreSQL database as `db`."))
    audit_key: Path | None = Field(None, description=(
        "The audit checkpoint signing key (Ed25519, a file readable only by the gateway). "
        "Default: `<audit stem>.signing-key` beside a DuckDB trail; required with PostgreSQL."))
    audit_origin: str | None = Field(None, description=(
        "The install's audit log name, in every signed checkpoint (e.g. "
        "`somerset.gov.uk/kinlink/audit`), so witnesses serving several councils can tell their "
        "logs apart. Recorded with the trail on first use (PostgreSQL: at `kinlink db init`); "
        "a different one is refused once checkpoints exist. Default: `kinlink.local/audit`."))
    keys_dir: Path | None = Field(None, description=(
        "Directory of token-signing keys (rotated with `kinlink keys rotate`). Default: "
        "`<stem>.keys/` beside a DuckDB index; required with PostgreSQL (a shared volume or a "
        "mounted secret, so every worker signs and verifies with the same keys)."))
    issuer: str | None = Field(None, description=(
        "This gateway's public base URL, the `iss` of the tokens it issues. Default: "
        "`http://HOST:PORT`."))
    audience: str = Field("kinlink-api", description="The `aud` every access token must carry.")
    token_lifetime_seconds: int = Field(300, ge=30, le=3600, description=(
        "Lifetime of access tokens the embedded authorization server issues."))
    issuers_file: Path | None = Field(None, description=(
        "YAML file of trusted external OpenID issuers (Entra ID, NHS CIS2, a council's IdP)."))
    session_secret: str = Field("", json_schema_extra={"secret": True}, description=(
        "Signs the pages' session cookies (at least 32 characters). Empty: one is generated "
        "once into `keys_dir/session.secret`, which every worker sharing that directory "
        "reads."))
    host: str = Field("127.0.0.1", description=(
        "Address to listen on. Keep loopback behind a reverse proxy; `0.0.0.0` in a container."))
    port: int = Field(8000, ge=1, le=65535, description="Port to listen on.")
    workers: int = Field(1, ge=1, le=64, description=(
        "Gateway worker processes. More than one needs PostgreSQL (`db`): DuckDB lets one "
        "process write a file."))
    audit_checkpoint_seconds: float = Field(60.0, gt=0, description=(
        "How often the gateway signs a checkpoint of the audit trail while it grows."))
    notify_webhooks: Path | None = Field(None, description=(
        "YAML file of owner-notification webhooks, `{agency: {url: …}}`: each agency's endpoint "
        "receives a signed (JWS) notification of every disclosure of its records its sharing "
        "agreement says to tell. Without it agencies pull `/v1/notifications`."))
    notify_interval_seconds: float = Field(2.0, gt=0, description=(
        "How often the gateway sends due owner notifications to their webhooks."))
    agreements: Path | None = Field(None, description=(
        "Directory of the install's sharing agreements (`*.yaml`, with their `tests/` casebook), "
        "the ones its partners signed: every decision, client and staff role is judged by them. "
        "Default: the packaged Wessex example agreement, for the demo and tests."))
    policy_date: dt.date | None = Field(None, description=(
        "Judge the sharing agreements (in force, due for review) and subjects' ages as at this "
        "date (YYYY-MM-DD) instead of today. For tests and rehearsals only: a gateway started "
        "with it warns in its log, and `/readyz` reports it."))
    log_level: Literal["debug", "info", "warning", "error"] = Field("info", description=(
        "Application log level (logs never carry personal data)."))

    @field_validator("session_secret")
    @classmethod
    def _long_enough(cls, value: str) -> str:
        if value and len(value) < 32:
            raise ValueError("must be at least 32 characters")
        return value


def is_secret(name: str) -> bool:
    extra = KinlinkConfig.model_fields[name].json_schema_extra
    return isinstance(extra, dict) and bool(extra.get("secret"))


def _from_environment(env: Mapping[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name in KinlinkConfig.model_fields:
        variable = ENV_PREFIX + name.upper()
        file_variable = variable + "_FILE"
        if file_variable in env:
            try:
                values[name] = Path(env[file_variable]).read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise ConfigError(f"{file_variable}: cannot read {env[file_variable]}: "
                                  f"{exc.strerror}") from exc
        elif variable in env:
            values[name] = env[variable]
        elif name in _ALIASES and _ALIASES[name] in env:
            values[name] = env[_ALIASES[name]]
    return values


def load_config(file: Path | None = None, env: Mapping[str, str] | None = None,
                **overrides: Any) -> KinlinkConfig:
    """The configuration from ``file`` (or ``KINLINK_CONFIG``), then the environment, then
    ``overrides`` (command-line options that were given; ``None`` means not given)."""
    env = os.environ if env is None else env
    file = file or (Path(env["KINLINK_CONFIG"]) if env.get("KINLINK_CONFIG") else None)
    values: dict[str, Any] = {}
    origin: dict[str, str] = {}
    if file is not None:
        try:
            loaded = tomllib.loads(file.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise ConfigError(f"configuration file {file} does not exist") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{file}: not valid TOML: {exc}") from exc
        for key in loaded:
            origin[key] = f"{file}: key {key!r}"
        values.update(loaded)
    for key, value in _from_environment(env).items():
        values[key] = value
        origin[key] = f"environment variable {ENV_PREFIX}{key.upper()}"
    for key, value in overrides.items():
        if value is not None:
            values[key] = value
            origin[key] = f"option --{key.replace('_', '-')}"
    try:
        return KinlinkConfig(**values)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            key = str(error["loc"][0]) if error["loc"] else "?"
            where = origin.get(key, f"setting {key!r}")
            if error["type"] == "extra_forbidden":
                problems.append(f"{where}: unknown setting (see docs/configuration.md)")
            else:
                shown = "" if is_secret(key) and key in KinlinkConfig.model_fields else \
                    f" (got {error.get('input')!r})"
                problems.append(f"{where}: {error['msg']}{shown}")
        raise ConfigError("; ".join(problems)) from None


def reference_markdown() -> str:
    """The configuration reference (docs/configuration.md), from the model itself."""
    lines = [
        "# Configuration reference",
        "",
        "<!-- Generated from stores/config.py by `kinlink config reference`; a test keeps it "
        "equal. -->",
        "",
        "kinlink reads a TOML file (`--config FILE` or `KINLINK_CONFIG`) with the flat keys "
        "below, then environment variables, which win. Every key `k` is also the variable "
        "`KINLINK_<K>` (upper case). A key marked *secret* can instead be read from a file "
        "named by `KINLINK_<K>_FILE` (a mounted secret), so it never appears in the process "
        "environment. Unknown keys and bad values are errors naming the file or variable.",
        "",
        "| key | environment | default | secret | meaning |",
        "|---|---|---|---|---|",
    ]
    for name, field in KinlinkConfig.model_fields.items():
        default = field.default
        shown = "—" if default is None or default == "" else f"`{default}`"
        variable = f"`{ENV_PREFIX}{name.upper()}`"
        if name in _ALIASES:
            variable += f" (or `{_ALIASES[name]}`)"
        lines.append(f"| `{name}` | {variable} | {shown} | {'yes' if is_secret(name) else ''} | "
                     f"{field.description} |")
    lines += ["", "Example (`deploy/kinlink.toml`):", "", "```toml",
              'db = "postgresql://kinlink_gateway@db:5432/kinlink"',
              'keys_dir = "/var/lib/kinlink/keys"', 'audit_key = "/run/secrets/audit-key"',
              'issuer = "https://kinlink.example.gov.uk"', "workers = 4", 'host = "0.0.0.0"',
              "```", ""]
    return "\n".join(lines)

