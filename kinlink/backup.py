"""``kinlink backup`` and ``kinlink restore``: every file an install keeps, copied consistently,
with a manifest of hashes; a restore is verified (the audit trail's hash chain, Merkle tree and
signed checkpoints, and the index opening) before it is reported as good.

DuckDB lets one process write a file, so a backup is taken with the gateway stopped (or from a
storage snapshot): the command checks each database can be opened and says so if it cannot,
rather than copying a file in the middle of a write.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
from pathlib import Path
from typing import Annotated

import duckdb
import typer
from rich.console import Console

from stores.database import PostgresLocation, parse_location
from stores.layout import InstallLayout

__all__ = ["MANIFEST", "backup_files", "register", "sha256_of"]

out = Console()
MANIFEST = "MANIFEST.json"


def backup_files(db: Path) -> list[Path]:
    """The files one install keeps beside its index (see deploy/README.md)."""
    return InstallLayout(db).kept_files()


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _quiescent(path: Path) -> None:
    if path.suffix == ".duckdb":
        try:
            duckdb.connect(str(path), read_only=True).close()
        except duckdb.Error as exc:
            out.print(f"[red]error:[/red] {path} is held by a running process (the gateway or "
                      "a link run); stop it or back up from a storage snapshot")
            raise typer.Exit(2) from exc


def backup(
    out_dir: Annotated[Path, typer.Option("--out", help="Directory to create the backup in.")],
    db: Annotated[str, typer.Option("--db", envvar="KINLINK_DB",
                                    help="A DuckDB index, or a postgresql:// URL.")] = "kinlink.duckdb",
    keys_dir: Annotated[Path | None, typer.Option(
        "--keys-dir", envvar="KINLINK_KEYS_DIR", help="Token-signing keys (PostgreSQL installs).")] = None,
    audit_key: Annotated[Path | None, typer.Option(
        "--audit-key", envvar="KINLINK_AUDIT_KEY",
        help="Audit checkpoint signing key (PostgreSQL installs).")] = None,
) -> None:
    """Copy the index, audit trail, keys, clients and review decisions, with a hash manifest."""
    where = parse_location(db)
    if isinstance(where, PostgresLocation):
        from kinlink.backup_postgres import BackupError, backup_postgres

        if audit_key is None:
            out.print("[red]error:[/red] --audit-key (KINLINK_AUDIT_KEY) is needed: a backup "
                      "without the audit key cannot be verified")
            raise typer.Exit(2)
        try:
            target = backup_postgres(where, out_dir, {"audit.signing-key": audit_key,
                                                      **({"keys": keys_dir} if keys_dir else {})})
        except BackupError as exc:
            out.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(1) from exc
        out.print(f"backup of {where.redacted} in {target}")
        return
    index = where.path
    files = backup_files(index)
    if not files or files[0] != index:
        out.print(f"[red]error:[/red] no identity index at {index}")
        raise typer.Exit(2)
    for path in files:
        _quiescent(path)
    target = out_dir / dt.datetime.now(dt.UTC).strftime("kinlink-%Y%m%dT%H%M%SZ")
    target.mkdir(parents=True, exist_ok=False)
    hashes: dict[str, str] = {}
    for path in files:
        relative = path.relative_to(index.parent)
        destination = target / relative
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, destination)
        hashes[str(relative)] = sha256_of(destination)
    manifest = {"created": dt.datetime.now(dt.UTC).isoformat(), "index": index.name,
                "files": hashes}
    (target / MANIFEST).write_text(json.dumps(manifest, indent=2))
    out.print(f"backup of {len(files)} files in {target}")


def restore(
    source: Annotated[Path, typer.Option("--from", help="A backup directory.")],
    db: Annotated[str, typer.Option("--db", envvar="KINLINK_DB",
                                    help="Where to restore: beside a DuckDB index, or an empty "
                                         "PostgreSQL database.")] = "kinlink.duckdb",
    force: Annotated[bool, typer.Option(help="Replace existing files.")] = False,
) -> None:
    """Restore a backup beside --db, check every file's hash, then verify the audit trail."""
    where = parse_location(db)
    if isinstance(where, PostgresLocation):
        _restore_postgres(source, where)
        return
    index = where.path
    from audit.trail import audit_path_for, checkpoint_path_for
    from audit.verify import verify_trail
    from linkage.index import connect_index

    manifest_path = source / MANIFEST
    if not manifest_path.exists():
        out.print(f"[red]error:[/red] {source} has no {MANIFEST}: not a kinlink backup")
        raise typer.Exit(2)
    manifest = json.loads(manifest_path.read_text())
    for relative, digest in manifest["files"].items():
        if sha256_of(source / relative) != digest:
            out.print(f"[red]error:[/red] {relative} does not match its hash in the manifest")
            raise typer.Exit(1)
    index_name = manifest["index"]
    renamed = {r: r.replace(Path(index_name).stem, index.stem, 1) for r in manifest["files"]}
    clashes = [index.parent / n for n in renamed.values() if (index.parent / n).exists()]
    if clashes and not force:
        out.print(f"[red]error:[/red] {clashes[0]} exists; pass --force to replace")
        raise typer.Exit(2)
    for relative, name in renamed.items():
        destination = index.parent / name
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source / relative, destination)
    connect_index(index).close()
    audit_path = audit_path_for(index)
    if audit_path.exists():
        result = verify_trail(audit_path, _restored_vkey(audit_path),
                              [p.read_text(encoding="utf-8")
                               for p in [checkpoint_path_for(audit_path)] if p.exists()])
        if not result.ok:
            out.print(f"[red]restored, but the audit trail FAILS verification:[/red] "
                      f"{result.problem}")
            raise typer.Exit(1)
        out.print(f"audit trail verified: {result.events:,} events, "
                  f"{result.checkpoints} checkpoints")
    out.print(f"restored {len(renamed)} files beside {index}")


def _restored_vkey(audit_path: Path) -> str:
    """The verifier key beside the restored trail; a backup taken before it was kept there
    derives it from the restored signing key, under the origin the trail records."""
    from audit.checkpoint import SigningKey
    from audit.cosignature import verifier_key
    from audit.store import open_store
    from audit.trail import DEFAULT_ORIGIN, key_path_for, vkey_path_for

    kept = vkey_path_for(key_path_for(audit_path))
    if kept.exists():
        return kept.read_text(encoding="utf-8").strip()
    store = open_store(audit_path, read_only=True)
    try:
        origin = store.origin() or DEFAULT_ORIGIN
    finally:
        store.close()
    key = SigningKey.load_or_create(key_path_for(audit_path), origin)
    return verifier_key(key.name, key.public_bytes)


def _restore_postgres(source: Path, where: PostgresLocation) -> None:
    from audit.trail import AuditTrail
    from kinlink.backup_postgres import BackupError, restore_postgres

    try:
        restore_postgres(source, where)
    except (BackupError, FileNotFoundError) as exc:
        out.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from exc
    trail = AuditTrail.open(where, key_path=source / "audit.signing-key")
    try:
        result = trail.verify()
    finally:
        trail.close()
    if not result.ok:
        out.print(f"[red]restored, but the audit trail FAILS verification:[/red] {result.problem}")
        raise typer.Exit(1)
    out.print(f"restored into {where.redacted}; audit trail verified: {result.events:,} events, "
              f"{result.checkpoints} checkpoints")


def register(app: typer.Typer) -> None:
    app.command()(backup)
    app.command()(restore)
