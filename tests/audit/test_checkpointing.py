"""Checkpoints made by the writer itself: the incremental tree edge gives RFC 6962 roots, the
periodic signer publishes notes a witness can read without the database, and ``verify`` stays
linear however many checkpoints there are."""

from __future__ import annotations

import time
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from audit import AuditEvent, AuditTrail, AuditUnavailable, audit_path_for
from audit.checkpoint import parse_checkpoint, verify_signature
from audit.merkle import CompactRange, leaf_hash, root_hash
from audit.trail import checkpoint_path_for
from kinlink.cli import app

runner = CliRunner()


def event(i: int) -> AuditEvent:
    return AuditEvent(event_type="PatientRead", outcome="permit", subject_person_id=f"P{i:05d}")


def test_the_tree_edge_gives_the_rfc_root_at_every_size() -> None:
    leaves = [leaf_hash(i.to_bytes(2, "big")) for i in range(70)]
    tree = CompactRange()
    assert tree.root() == root_hash([])
    for n, leaf in enumerate(leaves, start=1):
        tree.append(leaf)
        assert tree.size == n
        assert tree.root() == root_hash(leaves[:n]), n


def test_checkpoints_after_reopening_and_a_failed_write_commit_to_the_stored_events(
    tmp_path: Path,
) -> None:
    path = tmp_path / "k.audit.duckdb"
    trail = AuditTrail.open(path)
    trail.append([event(i) for i in range(5)])
    first = trail.checkpoint()
    trail.close()
    trail = AuditTrail.open(path)  # the edge is rebuilt from the stored leaves
    trail.append([event(5), event(6)])
    # A failed group (a duplicate key forced under the writer) makes the trail re-read its head.
    trail.cursor().execute(
        "INSERT INTO audit_events SELECT 7, recorded_at, event_type, outcome, subject_person_id, "
        "user_id, agency, purpose, event_json, leaf_hash, chain_hash FROM audit_events "
        "WHERE seq = 0")
    with pytest.raises(AuditUnavailable):
        trail.append([event(8)])
    trail.cursor().execute("DELETE FROM audit_events WHERE seq = 7")
    trail.append([event(9)])
    second = trail.checkpoint()
    leaves = trail.leaf_hashes()
    trail.close()
    assert first.size == 5 and second.size == len(leaves) == 8
    assert second.root == root_hash(leaves)
    result = runner.invoke(app, ["audit", "verify", "--audit", str(path)])
    assert result.exit_code == 0, result.output


def test_the_writer_signs_checkpoints_on_its_own_and_publishes_them(tmp_path: Path) -> None:
    path = audit_path_for(tmp_path / "kinlink.duckdb")
    trail = AuditTrail.open(path)
    trail.start_checkpointing(0.05)
    for i in range(30):
        trail.append([event(i)])
        time.sleep(0.005)
    deadline = time.monotonic() + 5
    published = checkpoint_path_for(path)
    while time.monotonic() < deadline:
        if published.exists() and parse_checkpoint(published.read_text()).size == 30:
            break
        time.sleep(0.02)
    key_name, public = trail.key_name, trail.public_key
    trail.close()
    note = parse_checkpoint(published.read_text())
    assert note.size == 30 and verify_signature(note, key_name, public)
    with duckdb.connect(str(path), read_only=True) as con:
        sizes = [r[0] for r in con.execute("SELECT tree_size FROM checkpoints ORDER BY rowid")
                 .fetchall()]
        stored = con.execute("SELECT note FROM checkpoints ORDER BY tree_size DESC LIMIT 1"
                             ).fetchall()[0][0]
    assert stored == published.read_text()
    assert sizes == sorted(sizes) and len(sizes) == len(set(sizes)) >= 2  # none while idle


def test_verify_checks_every_one_of_many_checkpoints_and_names_the_last_good_one(
    tmp_path: Path,
) -> None:
    path = tmp_path / "k.audit.duckdb"
    trail = AuditTrail.open(path)
    for i in range(200):
        trail.append([event(i)])
        if i % 2:
            trail.checkpoint()
    trail.close()
    started = time.perf_counter()
    ok = runner.invoke(app, ["audit", "verify", "--audit", str(path), "--json"])
    assert ok.exit_code == 0 and '"checkpoints": 100' in ok.output
    assert time.perf_counter() - started < 5
    # Rewrite event 150 and everything after it consistently (leaf and chain), as an insider
    # without the signing key would: only the checkpoints can tell.
    from audit.hashing import GENESIS, chain_next, leaf_data

    with duckdb.connect(str(path)) as con:
        rows = con.execute("SELECT seq, event_json FROM audit_events ORDER BY seq").fetchall()
        chain = GENESIS
        for seq, text in rows:
            if seq == 150:
                text = text.replace("P00150", "P99999")
                con.execute("UPDATE audit_events SET event_json = ?, subject_person_id = "
                            "'P99999' WHERE seq = ?", [text, seq])
            leaf = leaf_hash(leaf_data(seq, text)).hex()
            chain = chain_next(chain, leaf)
            con.execute("UPDATE audit_events SET leaf_hash = ?, chain_hash = ? WHERE seq = ?",
                        [leaf, chain, seq])
    bad = runner.invoke(app, ["audit", "verify", "--audit", str(path), "--json"])
    assert bad.exit_code == 1
    assert '"first_failure_seq": 150' in bad.output  # the checkpoint at size 150 still matched
