"""The background checkpointer must not fail silently (issue 19.18): a failure is logged by its
kind (no path, no value), counted, shown in the gateway's /readyz, and cleared when it recovers."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from fastapi.testclient import TestClient
from structlog.testing import capture_logs

from audit import AuditEvent, AuditTrail, audit_path_for


def _until(condition: Callable[[], bool], what: str, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def event() -> AuditEvent:
    return AuditEvent(event_type="PatientRead", outcome="permit", subject_person_id="P00000001")


def test_a_failing_checkpointer_is_logged_counted_and_recovers(tmp_path: Path) -> None:
    path = audit_path_for(tmp_path / "kinlink.duckdb")
    trail = AuditTrail.open(path)
    trail.append([event()])
    blocker = path.with_name("kinlink.audit.checkpoint.tmp")
    blocker.mkdir()                                   # the published note cannot be written
    with capture_logs() as logs:
        trail.start_checkpointing(0.05)
        _until(lambda: trail.checkpoint_health.consecutive_failures >= 2, "two failures")
        problem = trail.checkpoint_health.problem
        assert problem is not None and problem.startswith("IsADirectoryError (")
        blocker.rmdir()
        _until(lambda: trail.checkpoint_health.problem is None, "recovery")
    trail.close()
    failures = [e for e in logs if e["event"] == "audit checkpoint failed"]
    assert failures and failures[0]["error"] == "IsADirectoryError"
    assert failures[0]["log_level"] == "warning"
    assert not [e for e in logs if str(tmp_path) in repr(e)]      # no path in the log
    assert any(e["event"] == "audit checkpoints resumed" for e in logs)
    assert path.with_name("kinlink.audit.checkpoint").exists()


def test_readyz_shows_the_checkpointer_failing(tmp_path: Path) -> None:
    import duckdb

    from gateway.app import create_app
    from gateway.settings import GatewaySettings
    from linkage.index.schema import create_schema

    db = tmp_path / "kinlink.duckdb"
    with duckdb.connect(str(db)) as con:
        create_schema(con)
    settings = GatewaySettings(db_path=db, issuer="http://testserver",
                               audit_checkpoint_seconds=0.05)
    application = create_app(settings)
    with TestClient(application) as http:
        assert http.get("/readyz").json()["checks"]["audit_checkpoints"] == "ok"
        application.state.audit.append([event()])
        blocker = audit_path_for(db).with_name("kinlink.audit.checkpoint.tmp")
        blocker.mkdir()
        _until(lambda: application.state.audit.checkpoint_health.problem is not None, "failure")
        ready = http.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["checks"]["audit_checkpoints"].startswith("IsADirectoryError")
        blocker.rmdir()
        _until(lambda: http.get("/readyz").status_code == 200, "ready again")
