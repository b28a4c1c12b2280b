"""Gateway settings: where each store is, derived from one configuration (``stores.config``).

With a DuckDB index every file the gateway keeps sits beside it, named from its stem, so a small
install names one path: ``kinlink.duckdb`` → ``kinlink.audit.duckdb``, ``kinlink.clients.duckdb``,
``kinlink.keys/``. With PostgreSQL the index, audit trail, registers and reviewer decisions are
tables in one database that every worker shares, and the things that are files by nature (the
token-signing keys, the audit checkpoint key) are named explicitly, because "beside the index"
means nothing for a URL.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from policies import PolicyBundle, load_policies
from stores.config import ConfigError, KinlinkConfig, load_config
from stores.database import DuckDBLocation, PostgresLocation, StoreLocation, parse_location
from stores.layout import InstallLayout

__all__ = ["GatewaySettings"]


@dataclass(frozen=True)
class GatewaySettings:
    #: The identity index: a DuckDB path, or a postgresql:// URL.
    db_path: Path | str
    issuer: str = "http://127.0.0.1:8000"
    audience: str = "kinlink-api"
    token_lifetime_seconds: int = 300
    max_body_bytes: int = 64 * 1024
    #: YAML file of trusted external OIDC issuers (``gateway.issuers``); None: embedded only.
    issuers_path: Path | None = None
    #: Signs the pages' session cookies; set KINLINK_SESSION_SECRET so sessions survive restarts.
    session_secret: str = ""
    #: Pages' sessions end after this long idle, and after this long whatever happens.
    session_idle_seconds: int = 15 * 60
    session_absolute_seconds: int = 8 * 60 * 60
    #: The audit trail when not the default place (see ``audit_path``).
    audit_db: str | None = None
    audit_key: Path | None = None
    #: The install's audit log name (None: the one the trail records, or the default).
    audit_origin: str | None = None
    keys_directory: Path | None = None
    audit_checkpoint_seconds: float = 60.0
    #: Owner-notification webhooks (``gateway.notify_delivery.load_webhooks``); None: pull only.
    notify_webhooks: Path | None = None
    notify_interval_seconds: float = 2.0
    #: The install's sharing agreements (None: the packaged example agreement).
    agreements_dir: Path | None = None
    #: Agreements and ages judged at this date instead of today (tests and rehearsals only).
    policy_date: dt.date | None = None

    def __post_init__(self) -> None:
        if isinstance(self.store, PostgresLocation) and self.keys_directory is None:
            raise ConfigError("keys_dir must be set when db is a PostgreSQL URL: every worker "
                              "needs the same token-signing keys (a shared volume or a secret)")

    @property
    def store(self) -> StoreLocation:
        return parse_location(self.db_path)

    @property
    def layout(self) -> InstallLayout:
        """The files of a DuckDB install (PostgreSQL keeps its stores in the database)."""
        store = self.store
        assert isinstance(store, DuckDBLocation)
        return InstallLayout(store.path)

    @property
    def clients_path(self) -> Path | PostgresLocation:
        store = self.store
        return store if isinstance(store, PostgresLocation) else self.layout.clients

    @property
    def users_path(self) -> Path | PostgresLocation:
        store = self.store
        return store if isinstance(store, PostgresLocation) else self.layout.users

    @property
    def keys_dir(self) -> Path:
        return self.keys_directory or self.layout.keys_dir

    @property
    def audit_path(self) -> Path | PostgresLocation:
        if self.audit_db:
            where = parse_location(self.audit_db)
            return where if isinstance(where, PostgresLocation) else where.path
        store = self.store
        if isinstance(store, PostgresLocation):
            return store
        from audit import audit_path_for

        return audit_path_for(store.path)

    def session_key(self) -> str:
        """The secret that signs the pages' session cookies.

        Configured, or else kept in the keys directory (created once, mode 0600): every worker
        reading one secret accepts every other worker's cookies, and sessions survive a restart.
        """
        if self.session_secret:
            return self.session_secret
        path = self.keys_dir / "session.secret"
        if not path.exists():
            # Written whole to a private file, then linked into place: a worker starting at the
            # same moment sees either no secret or the whole of the one that won.
            path.parent.mkdir(parents=True, exist_ok=True)
            draft = path.with_name(f".session.secret.{os.getpid()}")
            descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
                handle.write(secrets.token_urlsafe(48))
            try:
                os.link(draft, path)
            except FileExistsError:
                pass
            finally:
                draft.unlink()
        return path.read_text(encoding="utf-8").strip()

    def policies(self) -> PolicyBundle:
        """The agreements this install decides by: the gateway, ``clients add`` and ``users add``
        must read the same ones, or a role accepted at registration is denied at every call."""
        return load_policies(self.agreements_dir, as_of=self.policy_date)

    @property
    def multi_process(self) -> bool:
        """Whether several processes may serve this configuration at once."""
        return isinstance(self.store, PostgresLocation)

    @classmethod
    def from_config(cls, config: KinlinkConfig, issuer: str | None = None) -> GatewaySettings:
        return cls(
            db_path=config.db if isinstance(parse_location(config.db), PostgresLocation)
            else Path(config.db),
            issuer=issuer or config.issuer or f"http://{config.host}:{config.port}",
            audience=config.audience,
            token_lifetime_seconds=config.token_lifetime_seconds,
            issuers_path=config.issuers_file,
            session_secret=config.session_secret,
            audit_db=config.audit_db,
            audit_key=config.audit_key,
            audit_origin=config.audit_origin,
            keys_directory=config.keys_dir,
            audit_checkpoint_seconds=config.audit_checkpoint_seconds,
            notify_webhooks=config.notify_webhooks,
            notify_interval_seconds=config.notify_interval_seconds,
            agreements_dir=config.agreements,
            policy_date=config.policy_date,
        )

    @classmethod
    def from_env(cls, db_path: Path | str | None = None,
                 issuer: str | None = None) -> GatewaySettings:
        """Settings from ``KINLINK_CONFIG`` (if set) and the environment; ``db_path`` wins."""
        config = load_config(env=os.environ, db=str(db_path) if db_path is not None else None)
        return cls.from_config(config, issuer)
