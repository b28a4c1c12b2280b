"""Every file one DuckDB install keeps, named in one place.

An install is an identity index file and the stores that live beside it under the same stem
(``kinlink.duckdb``, ``kinlink.audit.duckdb``, ``kinlink.users.duckdb``…). Backup, the gateway's
settings, the audit trail and the review decisions all ask this class where their file is, so a
new store cannot be added without backup knowing of it. (With PostgreSQL the stores are tables in
one database and only the key files below live on disk.)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = ["InstallLayout"]


@dataclass(frozen=True)
class InstallLayout:
    """The files of the install whose identity index is ``index``."""

    index: Path

    def _beside(self, suffix: str) -> Path:
        return self.index.with_name(f"{self.index.stem}{suffix}")

    @property
    def audit(self) -> Path:
        return self._beside(".audit.duckdb")

    @property
    def audit_signing_key(self) -> Path:
        return self._beside(".audit.signing-key")

    @property
    def audit_checkpoint(self) -> Path:
        """The latest signed checkpoint, published as a note beside the trail."""
        return self._beside(".audit.checkpoint")

    @property
    def decisions(self) -> Path:
        return self._beside(".decisions.duckdb")

    @property
    def clients(self) -> Path:
        return self._beside(".clients.duckdb")

    @property
    def users(self) -> Path:
        return self._beside(".users.duckdb")

    @property
    def keys_dir(self) -> Path:
        """Token-signing keys and the pages' session secret."""
        return self._beside(".keys")

    @property
    def session_secret(self) -> Path:
        return self.keys_dir / "session.secret"

    @property
    def rejects(self) -> Path:
        return self._beside(".rejects.csv")

    @property
    def demo_clients(self) -> Path:
        return self._beside(".demo-clients.json")

    @property
    def demo_staff(self) -> Path:
        return self._beside(".demo-staff.json")

    def kept_files(self) -> list[Path]:
        """What a backup must copy for a restored install to work as this one does: the index
        first, then every store, key and published checkpoint that exists. Derived files (the
        reject report, demo credentials) are left out."""
        singles = [self.index, self.audit, self.audit_signing_key, self.audit_checkpoint,
                   self.decisions, self.clients, self.users]
        files = [p for p in singles if p.is_file()]
        # Any other file the audit trail publishes beside itself (its verifier key, witnesses'
        # cosignatures) belongs with it.
        stem = f"{self.index.stem}.audit."
        files += sorted(p for p in self.index.parent.glob(f"{stem}*")
                        if p.is_file() and p not in files and not p.name.endswith(".wal")
                        and ".tmp" not in p.name)
        if self.keys_dir.is_dir():
            files += sorted(p for p in self.keys_dir.rglob("*")
                            if p.is_file() and not p.name.startswith("."))
        return files
