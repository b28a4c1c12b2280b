"""The audit trail in PostgreSQL, written by several processes at once, on a real server.

What must hold: one gap-free order with one hash chain and one Merkle tree however many
processes append; the database itself refusing any change to an event (the gateway's role has
no right to, and triggers stop even the owner); tampering found by verify; an unreachable
database refusing the write, so nothing is disclosed."""

from __future__ import annotations

import multiprocessing
import threading
import uuid
from pathlib import Path

import duckdb
import psycopg
import pytest
from typer.testing import CliRunner

from audit import AuditEvent, AuditTrail, AuditUnavailable
from audit.merkle import root_hash
from audit.notifications import ClauseNotice, NotificationRule
from kinlink.cli import app
from stores.database import PostgresLocation, close_pools


def event(i: int, who: str = "u") -> AuditEvent:
    return AuditEvent(event_type="PatientRead", outcome="permit", subject_person_id=f"P{i:06d}",
                      user_id=who, agency="police", purpose="mash-triage")


def _append_from_process(url: str, key: str, worker: int, count: int) -> None:
    trail = AuditTrail.open(url, key_path=Path(key))

    def thread(t: int) -> None:
        for k in range(count):
            trail.append([event(worker * 100_000 + t * 1000 + k, f"w{worker}")])

    threads = [threading.Thread(target=thread, args=(t,)) for t in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    trail.close()
    close_pools()


def test_processes_appending_at_once_keep_one_gap_free_log(postgres_url: str,
                                                           tmp_path: Path) -> None:
    key = tmp_path / "audit.signing-key"
    AuditTrail.open(postgres_url, key_path=key).close()
    spawn = multiprocessing.get_context("spawn")
    workers = [spawn.Process(target=_append_from_process,
                             args=(postgres_url, str(key), w, 40)) for w in range(3)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=120)
        assert w.exitcode == 0
    with psycopg.connect(postgres_url) as con:
        rows = con.execute("SELECT seq, user_id FROM audit_events ORDER BY seq").fetchall()
    assert [seq for seq, _ in rows] == list(range(3 * 4 * 40))
    assert {who for _, who in rows} == {"w0", "w1", "w2"}
    trail = AuditTrail.open(postgres_url, key_path=key)
    note = trail.checkpoint()
    assert note.size == len(rows) and note.root == root_hash(trail.leaf_hashes())
    result = trail.verify()
    assert result.ok and result.events == len(rows) and result.checkpoints == 1
    trail.close()


def test_search_and_reports_read_the_shared_trail(postgres_url: str, tmp_path: Path) -> None:
    key = tmp_path / "audit.signing-key"
    writer = AuditTrail.open(postgres_url, key_path=key)
    reader = AuditTrail.open(postgres_url, key_path=key)   # another worker
    writer.append([event(1), event(2)])
    assert reader.cursor().execute("SELECT count(*) FROM audit_events").fetchone()[0] == 2
    writer.append([event(3)])
    assert reader.cursor().execute(
        "SELECT max(seq) FROM audit_events").fetchone()[0] == 2   # caught up, not copied anew
    from audit import AuditQuery, search_events

    found = search_events(reader.cursor(), AuditQuery(subject="P000002"))
    assert [e["seq"] for e in found] == [1]
    verify = CliRunner().invoke(app, ["audit", "verify", "--db", postgres_url, "--key", str(key)])
    assert verify.exit_code == 0 and "3 events" in verify.output, verify.output
    writer.close()
    reader.close()


def test_the_database_refuses_to_change_or_fork_the_trail(postgres_url: str,
                                                          tmp_path: Path) -> None:
    trail = AuditTrail.open(postgres_url, key_path=tmp_path / "k")
    trail.append([event(1), event(2)])
    trail.checkpoint()
    with psycopg.connect(postgres_url, autocommit=True) as owner:
        for statement in ("UPDATE audit_events SET outcome = 'deny' WHERE seq = 1",
                          "DELETE FROM audit_events WHERE seq = 1",
                          "TRUNCATE audit_events",
                          "DELETE FROM checkpoints"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
                owner.execute(statement)
        last = owner.execute("SELECT event_json, leaf_hash, chain_hash FROM audit_events "
                             "WHERE seq = 1").fetchone()
        # A second writer that skipped the lock: same seq, or a chain not following the last.
        with pytest.raises(psycopg.IntegrityError, match="next sequence number is 2"):
            owner.execute("INSERT INTO audit_events SELECT * FROM audit_events WHERE seq = 1")
        for seq, problem in ((7, "next sequence number is 2"),
                             (2, "chain hash does not follow")):
            with pytest.raises(psycopg.IntegrityError, match=problem):
                owner.execute(
                    "INSERT INTO audit_events VALUES (%s, now(), 'PatientRead', 'permit', NULL, "
                    "NULL, NULL, NULL, %s, %s, %s)", [seq, *last])
    assert trail.verify().ok
    trail.close()


def test_the_gateway_role_may_append_and_read_but_never_change(postgres_url: str,
                                                               postgres_admin_url: str,
                                                               tmp_path: Path) -> None:
    role = f"gw_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(postgres_admin_url, autocommit=True) as admin:
        admin.execute(f"CREATE ROLE {role} LOGIN")
    try:
        result = CliRunner().invoke(app, ["audit", "init-db", "--db", postgres_url,
                                          "--writer-role", role])
        assert result.exit_code == 0, result.output
        as_gateway = postgres_url.replace("postgres@", f"{role}@", 1)
        trail = AuditTrail.open(as_gateway, key_path=tmp_path / "k")
        assert [r.seq for r in trail.append([event(1), event(2)])] == [0, 1]
        trail.checkpoint()
        assert trail.verify().ok
        with psycopg.connect(as_gateway, autocommit=True) as con:
            for statement in ("UPDATE audit_events SET outcome = 'deny'",
                              "DELETE FROM audit_events", "TRUNCATE audit_events",
                              "ALTER TABLE audit_events DISABLE TRIGGER USER",
                              "DROP TABLE audit_events"):
                with pytest.raises(psycopg.errors.InsufficientPrivilege):
                    con.execute(statement)
        trail.close()
    finally:
        close_pools()
        with psycopg.connect(postgres_url, autocommit=True) as owner:
            owner.execute(f"DROP OWNED BY {role}")
        with psycopg.connect(postgres_admin_url, autocommit=True) as admin:
            admin.execute(f"DROP ROLE {role}")


def test_an_owner_who_disables_the_triggers_to_tamper_is_caught(postgres_url: str,
                                                                tmp_path: Path) -> None:
    trail = AuditTrail.open(postgres_url, key_path=tmp_path / "k")
    trail.append([event(i) for i in range(6)])
    trail.checkpoint()
    with psycopg.connect(postgres_url, autocommit=True) as owner:
        owner.execute("ALTER TABLE audit_events DISABLE TRIGGER USER")
        owner.execute("UPDATE audit_events SET event_json = replace(event_json, 'P000003', "
                      "'P999999') WHERE seq = 3")
    result = trail.verify()
    assert not result.ok and result.first_failure_seq == 3 and "edited" in (result.problem or "")
    cli = CliRunner().invoke(app, ["audit", "verify", "--db", postgres_url, "--key",
                                   str(tmp_path / "k")])
    assert cli.exit_code == 1 and "event seq 3" in cli.output
    trail.close()


def test_an_unreachable_database_refuses_the_write(postgres_url: str, tmp_path: Path) -> None:
    with pytest.raises(AuditUnavailable, match="cannot open the audit trail"):
        AuditTrail.open("postgresql://nobody@127.0.0.1:1/none?connect_timeout=2",
                        key_path=tmp_path / "k")
    trail = AuditTrail.open(postgres_url, key_path=tmp_path / "k")
    trail.append([event(1)])
    with psycopg.connect(postgres_url, autocommit=True) as owner:
        owner.execute("ALTER TABLE audit_events RENAME TO audit_events_away")
    with pytest.raises(AuditUnavailable, match="audit write failed"):
        trail.append([event(2)])
    with psycopg.connect(postgres_url, autocommit=True) as owner:
        owner.execute("ALTER TABLE audit_events_away RENAME TO audit_events")
    assert [r.seq for r in trail.append([event(2)])] == [1]   # nothing half-written
    trail.close()


def test_a_trail_needs_its_signing_key_named(postgres_url: str,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KINLINK_AUDIT_KEY", raising=False)
    with pytest.raises(AuditUnavailable, match="KINLINK_AUDIT_KEY"):
        AuditTrail.open(postgres_url)


def test_a_trail_from_before_migrations_is_version_one_and_still_verifies(
        tmp_path: Path) -> None:
    path = tmp_path / "kinlink.audit.duckdb"
    trail = AuditTrail.open(path)
    trail.append([event(1), event(2)])
    trail.checkpoint()
    trail.close()
    with duckdb.connect(str(path)) as con:       # as the previous release left it: no ledger
        con.execute("DROP TABLE schema_migrations")
        con.execute("DROP TABLE audit_settings")
        con.execute("DROP TABLE notifications")
        con.execute("DROP TABLE notification_deliveries")
        con.execute("DROP TABLE notification_progress")
    trail = AuditTrail.open(path)
    # Recognised as version 1, then upgraded: the origin its checkpoints were signed under kept.
    assert trail.cursor().execute("SELECT component, version FROM schema_migrations ORDER BY 2"
                                  ).fetchall() == [("audit", v) for v in range(1, 5)]
    assert trail.origin == "kinlink.local/audit"
    assert trail.verify().ok and trail.append([event(3)])[0].seq == 2
    trail.close()


def test_postgres_location_string_and_object_are_the_same_trail(postgres_url: str,
                                                               tmp_path: Path) -> None:
    a = AuditTrail.open(postgres_url, key_path=tmp_path / "k")
    b = AuditTrail.open(PostgresLocation(postgres_url), key_path=tmp_path / "k")
    a.append([event(1)])
    assert b.append([event(2)])[0].seq == 1
    a.close()
    b.close()


def test_witness_log_key_and_staff_register_on_postgresql(postgres_url: str,
                                                          tmp_path: Path) -> None:
    """A partner's witness countersigns the shared trail's growth and refuses a rewritten one;
    the staff register lives in the database and reaches every worker's reports."""
    key = tmp_path / "audit.signing-key"
    trail = AuditTrail.open(postgres_url, key_path=key)
    trail.append([event(i) for i in range(5)])
    trail.checkpoint()
    vkey = CliRunner().invoke(app, ["audit", "log-key", "--db", postgres_url, "--key", str(key)])
    assert vkey.exit_code == 0 and vkey.output.startswith("kinlink.local/audit+"), vkey.output
    witness = ["audit", "witness", "--db", postgres_url, "--state", str(tmp_path / "w.json"),
               "--key", str(tmp_path / "w.key"), "--name", "police.example/witness"]
    first = CliRunner().invoke(app, [*witness, "--log-key", vkey.output.strip()])
    assert first.exit_code == 0, first.output
    trail.append([event(i) for i in range(5, 9)])
    trail.checkpoint()
    assert CliRunner().invoke(app, witness).exit_code == 0        # consistent growth
    with psycopg.connect(postgres_url) as con:
        assert [r[0] for r in con.execute(
            "SELECT tree_size FROM witness_cosignatures ORDER BY tree_size")] == [5, 9]
    assert trail.cursor().execute("SELECT count(*) FROM witness_cosignatures").fetchone()[0] == 2

    with psycopg.connect(postgres_url, autocommit=True) as owner:   # history rewritten
        owner.execute("ALTER TABLE audit_events DISABLE TRIGGER USER")
        owner.execute("ALTER TABLE checkpoints DISABLE TRIGGER USER")
        owner.execute("DELETE FROM checkpoints")
        owner.execute("UPDATE audit_events SET leaf_hash = repeat('0', 64) WHERE seq = 2")
    forged = AuditTrail.open(postgres_url, key_path=key)          # the log key signs a forgery
    forged.checkpoint()
    refused = CliRunner().invoke(app, witness)
    assert refused.exit_code == 1 and "refused" in refused.output, refused.output

    added = CliRunner().invoke(app, ["audit", "staff", "add", "u-sam", "P000000000001",
                                     "--db", postgres_url])
    assert added.exit_code == 0, added.output
    from audit.staff import read_staff_register

    assert read_staff_register(trail.cursor()) == {"u-sam": "P000000000001"}
    trail.close()
    forged.close()


def test_the_origin_is_set_by_the_owner_and_a_read_only_role_verifies(
        postgres_url: str, postgres_admin_url: str, tmp_path: Path) -> None:
    """Issue 17.2/17.3 on PostgreSQL: the owner records the install's origin at init-db; the
    gateway's role signs under it and cannot change it; an auditor's role that may only SELECT
    verifies with the public key, and nothing can rename the log once a checkpoint exists."""
    somerset = "somerset.gov.uk/kinlink/audit"
    gateway, auditor = f"gw_{uuid.uuid4().hex[:8]}", f"ro_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(postgres_admin_url, autocommit=True) as admin:
        admin.execute(f"CREATE ROLE {gateway} LOGIN")
        admin.execute(f"CREATE ROLE {auditor} LOGIN")
    try:
        result = CliRunner().invoke(app, ["audit", "init-db", "--db", postgres_url,
                                          "--writer-role", gateway, "--audit-origin", somerset])
        assert result.exit_code == 0, result.output
        with psycopg.connect(postgres_url, autocommit=True) as owner:
            owner.execute(f"GRANT SELECT ON audit_events, checkpoints, audit_settings, "
                          f"witness_cosignatures, schema_migrations TO {auditor}")
        key = tmp_path / "audit.signing-key"
        trail = AuditTrail.open(postgres_url.replace("postgres@", f"{gateway}@", 1), key_path=key)
        assert trail.origin == somerset
        trail.append([event(1), event(2)])
        assert trail.checkpoint().origin == somerset
        trail.close()
        with pytest.raises(AuditUnavailable, match="cannot become"):
            AuditTrail.open(postgres_url, origin="devon.gov.uk/kinlink/audit", key_path=key)
        with psycopg.connect(postgres_url, autocommit=True) as owner, pytest.raises(
                psycopg.errors.InsufficientPrivilege):
            owner.execute("UPDATE audit_settings SET value = 'devon.gov.uk/kinlink/audit'")
        vkey = (tmp_path / "audit.vkey").read_text().strip()
        assert vkey.startswith(f"{somerset}+")
        key.unlink()                                      # the auditor has no signing key
        as_auditor = postgres_url.replace("postgres@", f"{auditor}@", 1)
        verified = CliRunner().invoke(app, ["audit", "verify", "--db", as_auditor,
                                            "--vkey", vkey])
        assert verified.exit_code == 0 and "2 events, 1 checkpoints" in verified.output, \
            verified.output
        assert not key.exists()
    finally:
        close_pools()
        with psycopg.connect(postgres_url, autocommit=True) as owner:
            owner.execute(f"DROP OWNED BY {gateway}")
            owner.execute(f"DROP OWNED BY {auditor}")
        with psycopg.connect(postgres_admin_url, autocommit=True) as admin:
            admin.execute(f"DROP ROLE {gateway}")
            admin.execute(f"DROP ROLE {auditor}")


def test_owner_notifications_on_postgresql_commit_with_their_event(
        postgres_url: str, postgres_admin_url: str, tmp_path: Path) -> None:
    """The outbox in the shared database: derived from the committed event by the gateway's
    role, read and delivered by any worker, and as append-only as the trail (its position too)."""
    import datetime as dt

    from audit.notifications import (
        ClauseNotice,
        NotificationRule,
        due_deliveries,
        notifications_for,
        record_attempt,
    )

    role = f"gw_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(postgres_admin_url, autocommit=True) as admin:
        admin.execute(f"CREATE ROLE {role} LOGIN")
    try:
        assert CliRunner().invoke(app, ["audit", "init-db", "--db", postgres_url,
                                        "--writer-role", role]).exit_code == 0
        as_gateway = postgres_url.replace("postgres@", f"{role}@", 1)
        trail = AuditTrail.open(as_gateway, key_path=tmp_path / "k")
        trail.notify_with(NotificationRule({"MASH-3.1": ClauseNotice(
            "always", frozenset({"health", "police"}), frozenset({"identity"}))}))
        seq = trail.append([AuditEvent(
            event_type="PatientRead", outcome="permit", subject_person_id="P000000000009",
            agency="police", source_agencies=["health", "police"],
            categories_released=["identity"], matched_rules=["MASH-3.1"])])[0].seq
        now = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)
        with trail.session() as session:
            (told,) = notifications_for(session, None)
            assert (told["seq"], told["owner_agency"]) == (seq, "health")
            (due,) = due_deliveries(session, ["health"], now)
            assert record_attempt(session, due, True, now, "HTTP 204") == "delivered"
        with psycopg.connect(as_gateway, autocommit=True) as con:
            for statement in ("UPDATE notifications SET agency = 'x'", "DELETE FROM notifications",
                              "DELETE FROM notification_deliveries",
                              "UPDATE notification_progress SET last_seq = 0",
                              "DELETE FROM notification_progress"):
                with pytest.raises(psycopg.errors.InsufficientPrivilege):
                    con.execute(statement)
        trail.close()
    finally:
        close_pools()
        with psycopg.connect(postgres_url, autocommit=True) as owner:
            owner.execute(f"DROP OWNED BY {role}")
        with psycopg.connect(postgres_admin_url, autocommit=True) as admin:
            admin.execute(f"DROP ROLE {role}")


def _rule() -> NotificationRule:
    return NotificationRule({"MASH-3.1": ClauseNotice(
        "always", frozenset({"health", "police"}), frozenset({"identity"}))})


def disclosure(i: int, who: str = "u") -> AuditEvent:
    return AuditEvent(event_type="PatientRead", outcome="permit", subject_person_id=f"P{i:06d}",
                      user_id=who, agency="police", source_agencies=["health", "police"],
                      categories_released=["identity"], matched_rules=["MASH-3.1"])


def _disclose_from_process(url: str, key: str, worker: int, count: int) -> None:
    """One gateway worker: discloses from four threads, and after each disclosure reads the
    feed as the owner would; exits non-zero if a notification of its own was missing."""
    from audit.notifications import notifications_for

    trail = AuditTrail.open(url, key_path=Path(key))
    trail.notify_with(_rule())
    missing: list[int] = []

    def thread(t: int) -> None:
        for k in range(count):
            (receipt,) = trail.append([disclosure(worker * 100_000 + t * 1000 + k)])
            with trail.session() as session:
                found = notifications_for(session, "health", since_seq=receipt.seq - 1, limit=1)
            if not found or found[0]["seq"] != receipt.seq:
                missing.append(receipt.seq)

    threads = [threading.Thread(target=thread, args=(t,)) for t in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    trail.close()
    close_pools()
    if missing:
        raise SystemExit(f"not told at once: {missing}")


def test_workers_on_postgresql_tell_each_disclosure_once_and_each_reads_its_own(
        postgres_url: str, tmp_path: Path) -> None:
    """Several processes disclose at once: each finds the notifications of its own disclosures
    as soon as they are committed, and the outbox holds each exactly once."""
    key = tmp_path / "audit.signing-key"
    AuditTrail.open(postgres_url, key_path=key).close()
    spawn = multiprocessing.get_context("spawn")
    workers = [spawn.Process(target=_disclose_from_process,
                             args=(postgres_url, str(key), w, 10)) for w in range(3)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=120)
        assert w.exitcode == 0
    with psycopg.connect(postgres_url) as con:
        told = con.execute("SELECT seq, agency FROM notifications ORDER BY seq").fetchall()
    assert told == [(seq, "health") for seq in range(120)]


def test_an_outbox_on_postgresql_from_before_is_kept_after_the_upgrade(
        postgres_url: str, tmp_path: Path) -> None:
    """A shared trail whose outbox was written in each event's transaction (schema 4): kept as
    it is, nothing written again, and new disclosures told after the upgrade."""
    from audit.hashing import GENESIS, event_row
    from audit.notifications import notifications_for, outbox_rows
    from stores.migrations import migrate

    with psycopg.connect(postgres_url, autocommit=True) as con:
        migrate(con, "audit", "audit", "postgresql", target=4)
        untold = event_row(0, GENESIS, disclosure(0))
        told = event_row(1, str(untold[10]), disclosure(1))
        columns = ("seq, recorded_at, event_type, outcome, subject_person_id, user_id, agency, "
                   "purpose, event_json, leaf_hash, chain_hash")
        for row in (untold, told):
            con.execute(f"INSERT INTO audit_events ({columns}) VALUES "
                        f"({', '.join(['%s'] * 11)})", list(row))
        for row in outbox_rows(_rule(), 1, disclosure(1)):
            con.execute("INSERT INTO notifications VALUES (%s, %s, %s, %s)", list(row))
    trail = AuditTrail.open(postgres_url, key_path=tmp_path / "k")
    trail.notify_with(_rule())
    (new,) = trail.append([disclosure(2)])
    with trail.session() as session:
        found = [(n["seq"], n["person_id"]) for n in notifications_for(session, None)]
    assert found == [(1, "P000001"), (new.seq, "P000002")]
    assert trail.verify().ok
    trail.close()
