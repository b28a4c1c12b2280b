"""Verify with the log's public key only, on a copy, and one origin per install (issue 17.2, 17.3).

Whoever verifies — an IG officer, an auditor, a partner agency — gets the C2SP vkey that
``kinlink audit log-key`` prints, never the key that signs checkpoints. Each install names its
own log, and a witness refuses a checkpoint of a log it was not given.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from audit import AuditEvent, AuditTrail, AuditUnavailable, audit_path_for
from audit.checkpoint import SigningKey, parse_checkpoint
from audit.cosignature import verifier_key
from kinlink.cli import app

runner = CliRunner()
SOMERSET = "somerset.gov.uk/kinlink/audit"


def event(i: int) -> AuditEvent:
    return AuditEvent(event_type="PatientRead", outcome="permit", subject_person_id=f"P{i:04d}",
                      agency="police", purpose="mash-triage")


def install(folder: Path, origin: str | None = None, events: int = 6) -> Path:
    """An install's trail with checkpoints at half and at the end; returns the index path."""
    folder.mkdir(parents=True, exist_ok=True)
    db = folder / "kinlink.duckdb"
    trail = AuditTrail.open(audit_path_for(db), origin=origin)
    trail.append([event(i) for i in range(events // 2)])
    trail.checkpoint()
    trail.append([event(i) for i in range(events // 2, events)])
    trail.checkpoint()
    trail.close()
    return db


def copy_without_the_key(db: Path, elsewhere: Path) -> Path:
    """What an auditor receives: the trail and its published note, no signing key."""
    elsewhere.mkdir()
    audit = audit_path_for(db)
    for name in (audit.name, "kinlink.audit.checkpoint"):
        shutil.copy(db.with_name(name), elsewhere / name)
    return elsewhere / audit.name


def log_key(db: Path) -> str:
    result = runner.invoke(app, ["audit", "log-key", "--db", str(db)])
    assert result.exit_code == 0, result.output
    return result.output.strip()


@pytest.mark.parametrize("tampering", [
    "UPDATE audit_events SET event_json = replace(event_json, 'P0002', 'P0009') WHERE seq = 2",
    "DELETE FROM audit_events WHERE seq = 1",
    "UPDATE audit_events SET agency = 'health' WHERE seq = 4",
    "DELETE FROM checkpoints",
])
def test_a_copy_without_the_signing_key_is_verified_and_its_tampering_found(
        tmp_path: Path, tampering: str) -> None:
    db = install(tmp_path / "council")
    vkey = log_key(db)
    copy = copy_without_the_key(db, tmp_path / "auditor")
    before = sorted(p.name for p in copy.parent.iterdir())
    intact = runner.invoke(app, ["audit", "verify", "--audit", str(copy), "--vkey", vkey])
    assert intact.exit_code == 0 and "6 events" in intact.output, intact.output
    with duckdb.connect(str(copy)) as con:
        con.execute(tampering)
    after_tamper = sorted(p.name for p in copy.parent.iterdir())
    failed = runner.invoke(app, ["audit", "verify", "--audit", str(copy), "--vkey", vkey])
    assert failed.exit_code == 1 and "FAILED" in failed.output, failed.output
    # Nothing written beside the copy: no key file created, the trail opened read-only.
    assert sorted(p.name for p in copy.parent.iterdir()) == after_tamper
    assert not [n for n in before if "signing-key" in n or n.endswith(".vkey")]


def test_the_vkey_may_be_a_file_and_the_default_is_the_one_beside_the_trail(
        tmp_path: Path) -> None:
    db = install(tmp_path / "council")
    vkey_file = tmp_path / "handed-over.vkey"
    vkey_file.write_text(log_key(db) + "\n")
    audit = str(audit_path_for(db))
    assert runner.invoke(app, ["audit", "verify", "--audit", audit, "--vkey", str(vkey_file)]
                         ).exit_code == 0
    assert runner.invoke(app, ["audit", "verify", "--db", str(db)]).exit_code == 0  # .vkey beside
    signing = audit_path_for(db).with_name("kinlink.audit.signing-key")
    signing.unlink()   # verify never needed it
    assert runner.invoke(app, ["audit", "verify", "--db", str(db)]).exit_code == 0
    assert not signing.exists()


def test_another_logs_key_is_refused(tmp_path: Path) -> None:
    db = install(tmp_path / "council")
    other = SigningKey.load_or_create(tmp_path / "other.key", "kinlink.local/audit")
    stranger = verifier_key(other.name, other.public_bytes)
    result = runner.invoke(app, ["audit", "verify", "--db", str(db), "--vkey", stranger])
    assert result.exit_code == 1 and "not signed by the log key" in result.output
    garbled = runner.invoke(app, ["audit", "verify", "--db", str(db), "--vkey", "x+00+AAAA"])
    assert garbled.exit_code == 1 and "verifier key" in garbled.output


def test_an_install_signs_under_its_own_origin_and_keeps_it(tmp_path: Path) -> None:
    db = install(tmp_path / "somerset", origin=SOMERSET)
    audit = audit_path_for(db)
    note = parse_checkpoint(audit.with_name("kinlink.audit.checkpoint").read_text())
    assert note.origin == SOMERSET and note.signatures[0].startswith(f"— {SOMERSET} ")
    assert log_key(db).startswith(f"{SOMERSET}+")
    reopened = AuditTrail.open(audit)           # no origin given: the recorded one
    assert reopened.origin == SOMERSET and reopened.checkpoint().origin == SOMERSET
    reopened.close()
    with pytest.raises(AuditUnavailable, match=r"cannot become 'devon\.gov\.uk/kinlink/audit'"):
        AuditTrail.open(audit, origin="devon.gov.uk/kinlink/audit")


def test_the_origin_may_change_until_the_first_checkpoint(tmp_path: Path) -> None:
    path = tmp_path / "kinlink.audit.duckdb"
    trail = AuditTrail.open(path, origin="draft.example/audit")
    trail.append([event(1)])
    trail.close()
    trail = AuditTrail.open(path, origin=SOMERSET)
    assert trail.checkpoint().origin == SOMERSET
    trail.close()
    vkey = (tmp_path / "kinlink.audit.vkey").read_text().strip()
    assert vkey.startswith(f"{SOMERSET}+")       # the public key kept beside follows the name
    assert runner.invoke(app, ["audit", "verify", "--audit", str(path)]).exit_code == 0


def test_a_key_named_for_another_origin_is_refused_by_verify(tmp_path: Path) -> None:
    """Same public key, another log's name: the trail records its origin, verify checks it."""
    db = install(tmp_path / "somerset", origin=SOMERSET)
    signing = SigningKey.load_or_create(audit_path_for(db).with_name("kinlink.audit.signing-key"),
                                        "devon.gov.uk/kinlink/audit")
    renamed = verifier_key(signing.name, signing.public_bytes)
    result = runner.invoke(app, ["audit", "verify", "--db", str(db), "--vkey", renamed])
    assert result.exit_code == 1 and f"this trail's origin is '{SOMERSET}'" in " ".join(
        result.output.split())


def test_two_installs_have_two_origins_and_a_witness_refuses_the_one_it_was_not_given(
        tmp_path: Path) -> None:
    somerset = install(tmp_path / "somerset", origin=SOMERSET)
    devon = install(tmp_path / "devon", origin="devon.gov.uk/kinlink/audit")
    assert log_key(somerset).split("+")[0] != log_key(devon).split("+")[0]
    witness = ["audit", "witness", "--state", str(tmp_path / "w.json"), "--key",
               str(tmp_path / "w.key"), "--name", "police.example/witness"]
    given = runner.invoke(app, [*witness, "--db", str(somerset), "--vkey", log_key(somerset)])
    assert given.exit_code == 0, given.output
    refused = runner.invoke(app, [*witness, "--db", str(devon)])     # pinned to Somerset's log
    assert refused.exit_code == 1 and "refused" in refused.output
    # A fresh witness given Somerset's key by name but pointed at Devon's trail refuses too.
    signing = SigningKey.load_or_create(
        audit_path_for(devon).with_name("kinlink.audit.signing-key"), SOMERSET)
    misnamed = verifier_key(signing.name, signing.public_bytes)
    fresh = ["audit", "witness", "--state", str(tmp_path / "w2.json"), "--key",
             str(tmp_path / "w2.key"), "--name", "health.example/witness"]
    wrong = runner.invoke(app, [*fresh, "--db", str(devon), "--vkey", misnamed])
    assert wrong.exit_code == 1 and "origin is 'devon.gov.uk/kinlink/audit'" in " ".join(
        wrong.output.split())


def test_log_key_of_a_trail_from_before_the_vkey_was_kept(tmp_path: Path) -> None:
    """The upgrade path: the operator holding the signing key derives the vkey; nothing is
    created, and verify then takes it."""
    db = install(tmp_path / "council")
    kept = audit_path_for(db).with_name("kinlink.audit.vkey")
    expected = kept.read_text().strip()
    kept.unlink()                                   # as an older release left the install
    assert runner.invoke(app, ["audit", "verify", "--db", str(db)]).exit_code == 2
    assert log_key(db) == expected and not kept.exists()
    result = runner.invoke(app, ["audit", "verify", "--db", str(db), "--vkey", expected])
    assert result.exit_code == 0, result.output


def test_notifications_list_prints_each_owner_s_notifications(tmp_path: Path) -> None:
    import json

    from audit.notifications import ClauseNotice, NotificationRule

    db = tmp_path / "kinlink.duckdb"
    trail = AuditTrail.open(audit_path_for(db))
    trail.notify_with(NotificationRule({"MASH-3.1": ClauseNotice(
        "always", frozenset({"health", "police"}), frozenset({"identity"}))}))
    trail.append([AuditEvent(event_type="PatientRead", outcome="permit", subject_person_id="P77",
                             agency="social_care", source_agencies=["health", "police"],
                             categories_released=["identity"], matched_rules=["MASH-3.1"])])
    trail.close()
    listed = runner.invoke(app, ["notifications", "list", "--agency", "health", "--db", str(db),
                                 "--json"])
    assert listed.exit_code == 0, listed.output
    (only,) = json.loads(listed.output)
    assert only["owner_agency"] == "health" and only["person_id"] == "P77"
    assert only["delivery"] == "pending" and only["requester"]["agency"] == "social_care"
    table = runner.invoke(app, ["notifications", "list", "--db", str(db)])
    assert table.exit_code == 0 and "2 notifications" in table.output
    future = runner.invoke(app, ["notifications", "list", "--db", str(db), "--since",
                                 "2999-01-01", "--json"])
    assert json.loads(future.output) == []
    dead = runner.invoke(app, ["notifications", "list", "--db", str(db), "--dead", "--json"])
    assert json.loads(dead.output) == []


def test_a_key_where_nothing_can_be_written_beside_it_still_opens(tmp_path: Path) -> None:
    """A signing key mounted from a read-only secrets directory: the .vkey cannot be kept, the
    trail opens all the same and log-key derives the vkey for the operator."""
    path = tmp_path / "kinlink.audit.duckdb"
    (tmp_path / "kinlink.audit.vkey").mkdir()          # stands in for an unwritable place
    trail = AuditTrail.open(path)
    trail.append([event(1)])
    assert trail.checkpoint().size == 1
    vkey = trail.vkey
    trail.close()
    (tmp_path / "kinlink.audit.vkey").rmdir()
    assert log_key(tmp_path / "kinlink.duckdb") == vkey
