"""Gateway configuration: one place, from arguments or ``KINLINK_*`` environment variables.

Every file the gateway keeps sits beside the identity index, named from its stem, so a deployment
names one path: ``kinlink.duckdb`` → ``kinlink.audit.duckdb``, ``kinlink.clients.duckdb``,
``kinlink.keys/``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

__all__ = ["GatewaySettings"]


@dataclass(frozen=True)
class GatewaySettings:
    db_path: Path
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

    @property
    def clients_path(self) -> Path:
        return self.db_path.with_name(f"{self.db_path.stem}.clients.duckdb")

    @property
    def users_path(self) -> Path:
        return self.db_path.with_name(f"{self.db_path.stem}.users.duckdb")

    @property
    def keys_dir(self) -> Path:
        return self.db_path.with_name(f"{self.db_path.stem}.keys")

    @property
    def audit_path(self) -> Path:
        from audit import audit_path_for

        return audit_path_for(self.db_path)

    @classmethod
    def from_env(cls, db_path: Path | None = None, issuer: str | None = None) -> GatewaySettings:
        return cls(
            db_path=db_path or Path(os.environ.get("KINLINK_DB", "kinlink.duckdb")),
            issuer=issuer or os.environ.get("KINLINK_ISSUER", "http://127.0.0.1:8000"),
            audience=os.environ.get("KINLINK_AUDIENCE", "kinlink-api"),
            token_lifetime_seconds=int(os.environ.get("KINLINK_TOKEN_LIFETIME", "300")),
            issuers_path=Path(os.environ["KINLINK_ISSUERS"]) if os.environ.get("KINLINK_ISSUERS")
            else None,
            session_secret=os.environ.get("KINLINK_SESSION_SECRET", ""),
        )
