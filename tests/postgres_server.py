"""A real PostgreSQL server for the tests: Debian's server binaries, a throwaway cluster on loopback.

``make test`` must work on a fresh machine without a database administrator, so the session starts
its own cluster (initdb into a temporary directory, listening on 127.0.0.1 on a free port) and
removes it afterwards. Set ``KINLINK_TEST_POSTGRES_URL`` to an administrator URL to use an
existing server instead. Each test gets a database of its own, dropped afterwards.

PostgreSQL refuses to run as root; under root (CI containers) the cluster runs as the ``postgres``
user the Debian package creates.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

__all__ = ["postgres_admin_url", "postgres_url", "throwaway_cluster"]


def _server_bin() -> Path:
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), reverse=True)
    if not candidates:
        found = shutil.which("pg_ctl")
        if found is None:
            raise RuntimeError("PostgreSQL server binaries not found: install Debian's "
                               "`postgresql` package (`.ci/run` does)")
        return Path(found).parent
    return candidates[0].parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_server_user(argv: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv


@contextlib.contextmanager
def throwaway_cluster(durable: bool = False) -> Iterator[str]:
    """A new cluster on a free loopback port; yields its superuser URL.

    Tests run without fsync (nothing to protect, and much faster); a benchmark asks for
    ``durable=True`` so commits cost what they cost in production."""
    bindir = _server_bin()
    root = Path(tempfile.mkdtemp(prefix="kinlink-pg-"))
    data = root / "data"
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    port = _free_port()
    subprocess.run(_as_server_user([str(bindir / "initdb"), "-D", str(data), "-U", "postgres",
                                    "--auth=trust", "--encoding=UTF8", "--no-locale"]),
                   check=True, capture_output=True)
    options = (f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={root} "
               "-c max_connections=200")
    if not durable:
        options += " -c fsync=off -c full_page_writes=off"
    subprocess.run(_as_server_user([str(bindir / "pg_ctl"), "-D", str(data), "-o", options,
                                    "-l", str(root / "server.log"), "-w", "start"]),
                   check=True, capture_output=True)
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(_as_server_user([str(bindir / "pg_ctl"), "-D", str(data), "-m",
                                        "immediate", "stop"]), capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_admin_url() -> Iterator[str]:
    """A superuser URL for a running server (started for this session unless one is given)."""
    given = os.environ.get("KINLINK_TEST_POSTGRES_URL")
    if given:
        yield given
        return
    with throwaway_cluster() as url:
        yield url


@pytest.fixture
def postgres_url(postgres_admin_url: str) -> Iterator[str]:
    """A fresh, empty database for one test (owner: the administrator)."""
    import psycopg

    from stores.database import close_pools

    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    base, _, _ = postgres_admin_url.rpartition("/")
    try:
        yield f"{base}/{name}"
    finally:
        close_pools()
        deadline = time.monotonic() + 10
        while True:
            try:
                with psycopg.connect(postgres_admin_url, autocommit=True) as admin:
                    admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                break
            except psycopg.Error:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
