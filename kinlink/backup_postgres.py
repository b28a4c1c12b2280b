"""Backup and restore of a PostgreSQL install: the database (pg_dump's custom format) and the
files that are not in it (token-signing keys, the audit checkpoint key), with a hash manifest.

A dump is one consistent snapshot, taken while the gateway runs. The restore goes into an empty
database and is only reported good once the restored audit trail verifies against the restored
key: a backup that cannot prove its own trail is not a backup of an audited system.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from stores.database import PostgresLocation

__all__ = ["BackupError", "backup_postgres", "restore_postgres"]

DUMP = "database.dump"


class BackupError(RuntimeError):
    """The backup or restore could not be made; the message says which step and why."""


def _client(location: PostgresLocation) -> tuple[str, dict[str, str]]:
    """The URL without its password, and an environment carrying it (never the command line,
    which any local user can read with ``ps``)."""
    parts = urlsplit(location.url)
    env = dict(os.environ)
    if parts.password is not None:
        env["PGPASSWORD"] = parts.password
        host = parts.hostname or ""
        if parts.port:
            host = f"{host}:{parts.port}"
        netloc = f"{parts.username}@{host}" if parts.username else host
        return urlunsplit((parts.scheme, netloc, parts.path, parts.query, "")), env
    return location.url, env


def _run(argv: list[str], env: dict[str, str], step: str) -> None:
    tool = shutil.which(argv[0])
    if tool is None:
        raise BackupError(f"{argv[0]} not found: install PostgreSQL's client tools "
                          "(Debian: postgresql-client)")
    done = subprocess.run([tool, *argv[1:]], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise BackupError(f"{step} failed: {done.stderr.strip().splitlines()[-1:] or '?'}")


def backup_postgres(location: PostgresLocation, out_dir: Path,
                    files: dict[str, Path]) -> Path:
    """Dump the database and copy ``files`` (name → path) into a new folder under ``out_dir``."""
    from kinlink.backup import MANIFEST, sha256_of

    target = out_dir / dt.datetime.now(dt.UTC).strftime("kinlink-%Y%m%dT%H%M%SZ")
    target.mkdir(parents=True, exist_ok=False)
    url, env = _client(location)
    _run(["pg_dump", "--format=custom", "--no-owner", "--no-privileges", f"--file={target / DUMP}",
          f"--dbname={url}"], env, "pg_dump")
    manifest: dict[str, object] = {"created": dt.datetime.now(dt.UTC).isoformat(),
                                   "engine": "postgresql", "files": {}}
    listed: dict[str, str] = {DUMP: sha256_of(target / DUMP)}
    for name, path in files.items():
        if path.is_dir():
            for item in sorted(path.glob("*")):
                if item.is_file():
                    relative = f"{name}/{item.name}"
                    (target / name).mkdir(exist_ok=True)
                    shutil.copy2(item, target / relative)
                    listed[relative] = sha256_of(target / relative)
        elif path.is_file():
            shutil.copy2(path, target / name)
            listed[name] = sha256_of(target / name)
    manifest["files"] = listed
    (target / MANIFEST).write_text(json.dumps(manifest, indent=2))
    return target


def restore_postgres(source: Path, location: PostgresLocation) -> None:
    """Restore the dump into ``location`` (an empty database), after checking every hash."""
    from kinlink.backup import MANIFEST, sha256_of

    manifest = json.loads((source / MANIFEST).read_text())
    for relative, digest in manifest["files"].items():
        if sha256_of(source / relative) != digest:
            raise BackupError(f"{relative} does not match its hash in the manifest")
    import psycopg

    with psycopg.connect(location.url) as con:
        tables = con.execute("SELECT count(*) FROM information_schema.tables "
                             "WHERE table_schema NOT IN ('pg_catalog', 'information_schema')"
                             ).fetchone()
    if tables and tables[0]:
        raise BackupError(f"{location.redacted} is not empty: restore into a new database")
    url, env = _client(location)
    _run(["pg_restore", "--no-owner", "--no-privileges", "--exit-on-error", f"--dbname={url}",
          str(source / DUMP)], env, "pg_restore")
