"""Gateway benchmark: audited person views under concurrent load, as a ratio to a bare endpoint.

    .venv/bin/python bench/gateway.py                    # 2,000 households, 10 s per row
    .venv/bin/python bench/gateway.py --families 20000 --seconds 20 --connections 32
    .venv/bin/python bench/gateway.py --db postgresql                # + PostgreSQL, 2 workers
    .venv/bin/python bench/gateway.py --db postgresql://admin@host/postgres --workers 4

With ``--db postgresql`` the benchmark starts its own PostgreSQL cluster (Debian's server, fsync
on, loopback); with a URL it creates a scratch database on that server (the role needs
CREATEDB) and drops it afterwards. The same population is linked into it, and the gateway runs
as ``--workers`` processes; each PostgreSQL row is also shown as a ratio to the DuckDB
single-process row at the same concurrency, measured in the same run.

Everything runs as separate processes on this machine: the gateway (`kinlink serve`), the bare
FastAPI baseline on the same uvicorn stack, and the load generator (bench/load.py). Each row's
requests per second and p50/p99 latency are measured by the load generator; after each gateway
row the server is stopped and the audit trail is counted and verified, so the table shows that
every answer had its audit event.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb
import httpx
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gateway.clients import ClientRegistry  # noqa: E402
from gateway.settings import GatewaySettings  # noqa: E402

console = Console(width=160)
PY = sys.executable
JUSTIFICATION = "Section%2047%20enquiry%20opened%20after%20a%20referral%20from%20school"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_ready(url: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited ({proc.returncode})")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} never became ready")


def population(families: int, seed: int, work: Path) -> Path:
    """Link a synthetic population once per size and seed; later runs reuse it."""
    db = work / f"pop-{families}-{seed}" / "kinlink.duckdb"
    if not db.exists():
        sources = db.parent / "extracts"
        subprocess.run([PY, "-m", "kinlink.cli", "synth", "--out", str(sources),
                        "--families", str(families), "--seed", str(seed)], check=True,
                       stdout=subprocess.DEVNULL)
        subprocess.run([PY, "-m", "kinlink.cli", "link", "--sources", str(sources), "--db",
                        str(db)], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return db


def load(urls: list[str], headers: list[str], connections: int, seconds: float,
         work: Path) -> dict[str, object]:
    urls_file = work / "urls.txt"
    urls_file.write_text("\n".join(urls))
    args = [PY, str(ROOT / "bench" / "load.py"), "--urls-file", str(urls_file),
            "--connections", str(connections), "--seconds", str(seconds)]
    for header in headers:
        args += ["--header", header]
    out = subprocess.run(args, check=True, capture_output=True, text=True).stdout
    return dict(json.loads(out.strip().splitlines()[-1]))


def bare_row(connections: int, seconds: float, work: Path) -> dict[str, object]:
    port = free_port()
    proc = subprocess.Popen([PY, "-m", "uvicorn", "bench.bare_app:app", "--port", str(port),
                             "--log-level", "warning", "--no-access-log"], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_ready(f"http://127.0.0.1:{port}/bare/x", proc)
        urls = [f"http://127.0.0.1:{port}/bare/{i}" for i in range(100)]
        return load(urls, [], connections, seconds, work)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait()


def _persons(db: str | Path) -> list[str]:
    from linkage.index import connect_index

    with connect_index(str(db)) as con:
        persons = [r[0] for r in con.execute(
            "SELECT DISTINCT person_id FROM record_links ORDER BY person_id").fetchall()]
    random.Random(7).shuffle(persons)
    return persons[:2000]


def gateway_rows(db: str | Path, levels: list[int], seconds: float, work: Path,
                 workers: int = 1, env: dict[str, str] | None = None,
                 ) -> list[tuple[str, dict[str, object], int]]:
    """Load rows against ``kinlink serve`` on ``db`` (a DuckDB file or a PostgreSQL URL)."""
    import os

    from stores.database import close_pools

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, **(env or {})}
    settings = GatewaySettings(db_path=db, issuer=base, keys_directory=(
        Path(env["KINLINK_KEYS_DIR"]) if "KINLINK_KEYS_DIR" in env else None))
    client, secret = ClientRegistry(settings.clients_path).add(
        "bench", "social_care", "mash-social-worker", ["s47-enquiry", "mash-triage"])
    persons = _persons(db)
    close_pools()
    engine = "PostgreSQL" if str(db).startswith("postgresql") else "DuckDB"
    label = f"{engine}, {workers} worker{'s' if workers > 1 else ''}"
    rows = []
    log = work / f"server-{engine.lower()}.log"
    proc = subprocess.Popen([PY, "-m", "kinlink.cli", "serve", "--db", str(db), "--port", str(port),
                             "--workers", str(workers)],
                            stdout=log.open("wb"), stderr=subprocess.STDOUT, env=env)
    try:
        wait_ready(f"{base}/readyz", proc)
        token = httpx.post(f"{base}/oauth/token", data={"grant_type": "client_credentials"},
                           auth=(client.client_id, secret)).json()["access_token"]
        auth = [f"Authorization: Bearer {token}"]
        rows.append((f"{label}: authenticated, no personal data (/v1/whoami), {levels[-1]} conn.",
                     load([f"{base}/v1/whoami"], auth, levels[-1], seconds, work), 0))
        views = [f"{base}/v1/persons/{p}?purpose=s47-enquiry&justification={JUSTIFICATION}"
                 for p in persons]
        for connections in levels:
            rows.append((f"{label}: audited person view, {connections} conn.",
                         load(views, auth, connections, seconds, work), connections))
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait()
    verify = subprocess.run([PY, "-m", "kinlink.cli", "audit", "verify", "--db", str(db)],
                            capture_output=True, text=True, env=env)
    events = _audit_events(db)
    answered = sum(int(n) for _, result, audited in rows if audited
                   for n in result["statuses"].values())  # type: ignore[union-attr]
    console.print(f"{label}: audit events written: {events:,} for {answered:,} person views "
                  f"answered (plus warm-up); audit verify exit {verify.returncode}")
    return rows


def _audit_events(db: str | Path) -> int:
    if str(db).startswith("postgresql"):
        import psycopg

        with psycopg.connect(str(db)) as con:
            return int(con.execute("SELECT count(*) FROM audit_events").fetchone()[0])  # type: ignore[index]
    audit_db = Path(db).with_name(f"{Path(db).stem}.audit.duckdb")
    with duckdb.connect(str(audit_db), read_only=True) as con:
        return int(con.execute("SELECT count(*) FROM audit_events").fetchone()[0])  # type: ignore[index]


def duckdb_rows(db_source: Path, levels: list[int], seconds: float,
                work: Path) -> list[tuple[str, dict[str, object], int]]:
    run_dir = work / "gateway-run"
    shutil.rmtree(run_dir, ignore_errors=True)
    run_dir.mkdir(parents=True)
    db = run_dir / "kinlink.duckdb"
    shutil.copy(db_source, db)
    return gateway_rows(db, levels, seconds, run_dir)


@contextlib.contextmanager
def postgres_database(spec: str) -> Iterator[str]:
    """A scratch database: on a throwaway durable cluster (``postgresql``) or on the server of
    the URL given (created, then dropped)."""
    import psycopg

    from tests.postgres_server import throwaway_cluster

    with contextlib.ExitStack() as stack:
        admin = stack.enter_context(throwaway_cluster(durable=True)) if spec == "postgresql" \
            else spec
        name = f"kinlink_bench_{int(time.time())}"
        with psycopg.connect(admin, autocommit=True) as con:
            con.execute(f'CREATE DATABASE "{name}"')
        try:
            yield f"{admin.rsplit('/', 1)[0]}/{name}"
        finally:
            from stores.database import close_pools

            close_pools()
            with psycopg.connect(admin, autocommit=True) as con:
                con.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def postgres_rows(spec: str, sources: Path, levels: list[int], seconds: float, work: Path,
                  workers: int) -> list[tuple[str, dict[str, object], int]]:
    run_dir = work / "gateway-run-postgresql"
    shutil.rmtree(run_dir, ignore_errors=True)
    run_dir.mkdir(parents=True)
    with postgres_database(spec) as url:
        subprocess.run([PY, "-m", "kinlink.cli", "link", "--sources", str(sources), "--db", url],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        env = {"KINLINK_KEYS_DIR": str(run_dir / "keys"),
               "KINLINK_AUDIT_KEY": str(run_dir / "audit.signing-key")}
        return gateway_rows(url, levels, seconds, run_dir, workers=workers, env=env)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--families", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--connections", default="8,12,16",
                        help="concurrency levels for the person view, comma-separated")
    parser.add_argument("--work", type=Path, default=ROOT / "bench" / "out" / "gateway")
    parser.add_argument("--db", default="duckdb",
                        help="duckdb (one process only), postgresql (also start a throwaway "
                             "cluster and add PostgreSQL rows) or a postgresql:// admin URL")
    parser.add_argument("--workers", type=int, default=2,
                        help="gateway worker processes for the PostgreSQL rows")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    db = population(args.families, args.seed, args.work)
    with duckdb.connect(str(db), read_only=True) as con:
        records = con.execute("SELECT count(*) FROM record_links").fetchone()[0]  # type: ignore[index]
    levels = sorted(int(c) for c in args.connections.split(","))
    bare = bare_row(levels[-1], args.seconds, args.work)
    rows = [(f"bare FastAPI endpoint (baseline), {levels[-1]} conn.", bare, 0),
            *duckdb_rows(db, levels, args.seconds, args.work)]
    if args.db != "duckdb":
        rows += postgres_rows(args.db, db.parent / "extracts", levels, args.seconds, args.work,
                              args.workers)
    single = {audited: float(result["rps"]) for name, result, audited in rows  # type: ignore[arg-type]
              if audited and name.startswith("DuckDB")}
    table = Table(title=f"Gateway under load: {records:,} linked records, {args.seconds:g} s per "
                        "row, 2 cores shared with the load generator")
    for column in ("endpoint", "requests/s", "× bare", "× DuckDB 1 proc.", "p50 ms", "p99 ms",
                   "statuses", "target ≥500/s, p99 ≤50 ms"):
        table.add_column(column, justify="left" if column in ("endpoint", "statuses") else "right")
    for name, result, audited in rows:
        rps, p99 = float(result["rps"]), float(result["p99_ms"])  # type: ignore[arg-type]
        verdict = ("met" if rps >= 500 and p99 <= 50 else "not met") if audited else ""
        versus = f"{rps / single[audited]:.2f}" if audited and audited in single else ""
        table.add_row(name, f"{rps:,.0f}", f"{rps / float(bare['rps']):.2f}",  # type: ignore[arg-type]
                      versus, f"{result['p50_ms']}", f"{p99}", json.dumps(result["statuses"]),
                      verdict)
    console.print(table)


if __name__ == "__main__":
    main()
