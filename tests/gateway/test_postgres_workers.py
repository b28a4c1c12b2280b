"""The gateway as several worker processes on PostgreSQL, under load, with a worker killed.

The scale-out acceptance: every answer that reached a caller has its audit event, whichever
worker answered and whatever happened to the others, and the trail still verifies."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import httpx
import psycopg
from typer.testing import CliRunner

from gateway.clients import ClientRegistry
from kinlink.cli import app
from linkage.index import connect_index
from tests.gateway.conftest import free_port

JUSTIFICATION = "Section 47 enquiry opened after a referral from school"


def _workers(master: int) -> list[int]:
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return [int(pid) for pid in children]


def test_workers_on_postgresql_lose_no_audit_event_when_one_is_killed(
        linked_population: Path, postgres_url: str, tmp_path: Path) -> None:
    sources = linked_population.parent / "extracts"
    linked = CliRunner().invoke(app, ["link", "--sources", str(sources), "--db", postgres_url])
    assert linked.exit_code == 0, linked.output
    client, secret = ClientRegistry(postgres_url).add(
        "mash", "social_care", "mash-social-worker", ["s47-enquiry", "mash-triage"])
    with connect_index(postgres_url) as con:
        persons = [r[0] for r in con.execute(
            "SELECT DISTINCT person_id FROM record_links ORDER BY 1 LIMIT 200").fetchall()]
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    key = tmp_path / "audit.signing-key"
    env = {**os.environ, "KINLINK_KEYS_DIR": str(tmp_path / "keys"), "KINLINK_AUDIT_KEY": str(key)}
    log = (tmp_path / "server.log").open("wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "kinlink.cli", "serve", "--db", postgres_url, "--workers", "2",
         "--port", str(port), "--issuer", base], stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        deadline = time.monotonic() + 90
        while True:
            assert server.poll() is None, (tmp_path / "server.log").read_text()
            try:
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200 \
                        and len(_workers(server.pid)) >= 2:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, (tmp_path / "server.log").read_text()
            time.sleep(0.3)
        token = httpx.post(f"{base}/oauth/token", data={"grant_type": "client_credentials"},
                           auth=(client.client_id, secret)).json()["access_token"]
        answered: list[tuple[str, int]] = []
        lock = threading.Lock()
        stop = threading.Event()

        def caller(offset: int) -> None:
            with httpx.Client(base_url=base, timeout=10,
                              headers={"Authorization": f"Bearer {token}"}) as http:
                i = offset
                while not stop.is_set():
                    request_id = str(uuid.uuid4())
                    try:
                        response = http.get(
                            f"/v1/persons/{persons[i % len(persons)]}",
                            params={"purpose": "s47-enquiry", "justification": JUSTIFICATION},
                            headers={"X-Request-ID": request_id})
                    except httpx.HTTPError:
                        continue  # the worker died mid-request: nothing was sent to us
                    with lock:
                        answered.append((request_id, response.status_code))
                    i += 1

        threads = [threading.Thread(target=caller, args=(n * 7,)) for n in range(8)]
        for t in threads:
            t.start()
        time.sleep(2.0)
        victim = _workers(server.pid)[0]
        os.kill(victim, signal.SIGKILL)
        killed_at = len(answered)
        time.sleep(3.0)
        stop.set()
        for t in threads:
            t.join(timeout=30)
        # One scrape adds up every worker's counters (the killed one's included).
        scrape = httpx.get(f"{base}/metrics", timeout=10).text
        permitted = sum(float(line.rsplit(" ", 1)[1]) for line in scrape.splitlines()
                        if line.startswith("kinlink_policy_decisions_total{")
                        and 'purpose="s47-enquiry"' in line and 'outcome="permit"' in line)
        assert permitted >= sum(1 for _, status in answered if status == 200)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)
    ok = {rid for rid, status in answered if status == 200}
    assert len(ok) > 100 and len(answered) > killed_at + 20, "load did not continue after the kill"
    # 403: a person whose records carry a restriction (adoption, gender recognition) is refused
    # under every purpose; 503: the worker that took the request died before answering it.
    assert {status for _, status in answered} <= {200, 403, 503}
    with psycopg.connect(postgres_url) as con:
        audited = {r[0] for r in con.execute(
            "SELECT event_json::json->>'request_id' FROM audit_events").fetchall()}
        seqs = [r[0] for r in con.execute("SELECT seq FROM audit_events ORDER BY seq")]
    assert ok <= audited, f"{len(ok - audited)} answers without an audit event"
    assert seqs == list(range(len(seqs)))
    verify = CliRunner().invoke(app, ["audit", "verify", "--db", postgres_url, "--key", str(key)])
    assert verify.exit_code == 0, verify.output
