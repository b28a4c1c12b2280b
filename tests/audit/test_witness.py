"""The witness: C2SP cosignatures and verifier keys, countersigning consistent growth, and refusing
rollback, forks and a changed log key — through the pure check and through the CLI on a real trail."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import duckdb
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from typer.testing import CliRunner

from audit import AuditEvent, AuditTrail, audit_path_for
from audit.checkpoint import Checkpoint, SigningKey, verify_signature
from audit.cosignature import (
    COSIGNATURE_V1,
    ED25519,
    cosign,
    parse_verifier_key,
    verifier_key,
    verify_cosignature,
)
from audit.merkle import consistency_proof, leaf_hash, root_hash
from audit.witness import WitnessRefusal, WitnessState, check_and_cosign
from kinlink.cli import app

runner = CliRunner()
LEAVES = [leaf_hash(f"event {i}".encode()) for i in range(40)]


def keys(tmp_path: Path) -> tuple[SigningKey, SigningKey]:
    log = SigningKey.load_or_create(tmp_path / "log.key", "kinlink.local/audit")
    witness = SigningKey.load_or_create(tmp_path / "w.key", "police.example/witness")
    return log, witness


def head(log: SigningKey, leaves: list[bytes]) -> str:
    return Checkpoint.signed(log.name, len(leaves), root_hash(leaves), log).text()


def test_cosignature_is_c2sp_cosignature_v1(tmp_path: Path) -> None:
    log, witness = keys(tmp_path)
    checkpoint = Checkpoint.signed(log.name, 5, root_hash(LEAVES[:5]), log)
    cosigned = cosign(checkpoint, witness, timestamp=1_700_000_000)
    line = cosigned.text().splitlines()[-1]
    prefix, name, blob64 = line.split(" ")
    assert prefix == "—" and name == witness.name
    blob = base64.b64decode(blob64)
    # key ID = SHA-256(name || "\n" || 0x04 || public key)[:4]; then the u64 timestamp, signature.
    assert blob[:4] == hashlib.sha256(witness.name.encode() + b"\n\x04"
                                      + witness.public_bytes).digest()[:4]
    assert int.from_bytes(blob[4:12], "big") == 1_700_000_000 and len(blob) == 76
    message = b"cosignature/v1\ntime 1700000000\n" + checkpoint.body.encode()
    Ed25519PublicKey.from_public_bytes(witness.public_bytes).verify(blob[12:], message)
    found = verify_cosignature(cosigned, witness.name, witness.public_bytes)
    assert found is not None and found.timestamp == 1_700_000_000
    # The log's own signature still verifies beside it; neither passes for the other.
    assert verify_signature(cosigned, log.name, log.public_bytes)
    assert verify_cosignature(cosigned, log.name, log.public_bytes) is None
    assert not verify_signature(cosigned, witness.name, witness.public_bytes)
    # A cosignature does not carry over to a different tree head.
    other = Checkpoint(checkpoint.origin, 6, checkpoint.root, cosigned.signatures)
    assert verify_cosignature(other, witness.name, witness.public_bytes) is None


def test_verifier_keys_round_trip_and_bad_ones_are_named(tmp_path: Path) -> None:
    log, witness = keys(tmp_path)
    assert parse_verifier_key(verifier_key(log.name, log.public_bytes)) == (
        log.name, ED25519, log.public_bytes)
    vkey = verifier_key(witness.name, witness.public_bytes, COSIGNATURE_V1)
    assert parse_verifier_key(vkey)[1] == COSIGNATURE_V1
    name, hex_id, material = vkey.split("+", 2)
    # The base64 key may itself hold "+": such a key still parses (found among fixed seeds).
    with_plus = next(v for v in (
        verifier_key("w", SigningKey("w", Ed25519PrivateKey.from_private_bytes(bytes([i]) * 32))
                     .public_bytes) for i in range(256)) if v.count("+") > 2)
    assert parse_verifier_key(with_plus)[0] == "w"
    for bad, why in (("nonsense", "<name>+"), (f"{name}+{hex_id}+!!!", "bad encoding"),
                     (f"other+{hex_id}+{material}", "key ID does not match"),
                     (f"{name}+{hex_id}+{base64.b64encode(b'short').decode()}", "not an Ed25519")):
        with pytest.raises(ValueError, match=why):
            parse_verifier_key(bad)


def test_countersigns_consistent_growth_of_every_size(tmp_path: Path) -> None:
    log, witness = keys(tmp_path)
    vkey = verifier_key(log.name, log.public_bytes)
    state = WitnessState(witness.name)
    for size in (1, 2, 3, 7, 8, 8, 9, 16, 17, 40):
        proof = consistency_proof(LEAVES[:size], state.size) if state.size else []
        cosigned = check_and_cosign(state, head(log, LEAVES[:size]), proof, vkey, witness)
        assert verify_cosignature(cosigned, witness.name, witness.public_bytes)
        assert state.size == size and state.log_key == vkey


def test_refuses_rollback_fork_forged_and_unpinned_heads(tmp_path: Path) -> None:
    log, witness = keys(tmp_path)
    vkey = verifier_key(log.name, log.public_bytes)
    state = WitnessState(witness.name)
    check_and_cosign(state, head(log, LEAVES[:10]), [], vkey, witness)
    before = (state.size, state.root, state.log_key)

    with pytest.raises(WitnessRefusal, match="rollback"):
        check_and_cosign(state, head(log, LEAVES[:9]), [], vkey, witness)
    # A fork: event 4 rewritten and the tail re-signed with the real log key.
    forked = [*LEAVES[:4], leaf_hash(b"rewritten"), *LEAVES[5:20]]
    with pytest.raises(WitnessRefusal, match="fork"):
        check_and_cosign(state, head(log, forked), consistency_proof(forked, 10), vkey, witness)
    # A fork at the same size: same count, other root.
    with pytest.raises(WitnessRefusal, match="fork"):
        check_and_cosign(state, head(log, forked[:10]), [], vkey, witness)
    # A proof that does not belong to the head.
    with pytest.raises(WitnessRefusal, match="fork"):
        check_and_cosign(state, head(log, LEAVES[:20]), consistency_proof(LEAVES[:21], 10),
                         vkey, witness)
    # A head signed by another key, whether or not it claims the log's name.
    impostor = SigningKey.load_or_create(tmp_path / "impostor.key", log.name)
    with pytest.raises(WitnessRefusal, match="not signed by the log"):
        check_and_cosign(state, head(impostor, LEAVES[:20]), consistency_proof(LEAVES[:20], 10),
                         vkey, witness)
    with pytest.raises(WitnessRefusal, match="not the one this witness pinned"):
        check_and_cosign(state, head(impostor, LEAVES[:20]), consistency_proof(LEAVES[:20], 10),
                         verifier_key(impostor.name, impostor.public_bytes), witness)
    # Another log's checkpoint signed with this key (its origin names the other log).
    other_log = Checkpoint.signed("other.example/log", 20, root_hash(LEAVES[:20]), log)
    with pytest.raises(WitnessRefusal, match=r"is for log 'other\.example/log'"):
        check_and_cosign(state, other_log.text(), consistency_proof(LEAVES[:20], 10), vkey,
                         witness)
    assert (state.size, state.root, state.log_key) == before   # nothing refused was remembered
    # The pinned key given again in another spelling (surrounding whitespace) is the same key.
    check_and_cosign(state, head(log, LEAVES[:20]), consistency_proof(LEAVES[:20], 10),
                     f"  {vkey}\n", witness)
    assert state.size == 20 and state.log_key == vkey


def _append_and_checkpoint(db: Path, subject: str) -> None:
    trail = AuditTrail.open(audit_path_for(db))
    trail.append([AuditEvent(event_type="PatientRead", outcome="permit",
                             subject_person_id=subject)])
    trail.checkpoint()
    trail.close()


def test_witness_command_on_a_real_trail(tmp_path: Path) -> None:
    db = tmp_path / "kinlink.duckdb"
    for i in range(6):
        _append_and_checkpoint(db, f"PW{i}")
    state, key = tmp_path / "police-witness.json", tmp_path / "police-witness.key"
    args = ["audit", "witness", "--db", str(db), "--state", str(state), "--key", str(key),
            "--name", "police.example/witness"]

    kept = tmp_path / "kinlink.audit.vkey"               # the public key beside the trail
    hidden = kept.rename(tmp_path / "elsewhere.vkey")
    unpinned = runner.invoke(app, args)
    assert unpinned.exit_code == 1 and "log-key" in unpinned.output
    hidden.rename(kept)
    garbled = runner.invoke(app, [*args, "--log-key", "kinlink.local/audit+00+AAAA"])
    assert garbled.exit_code == 2 and "--vkey" in garbled.output
    vkey = runner.invoke(app, ["audit", "log-key", "--db", str(db)]).output.strip()
    vkey_file = tmp_path / "log.vkey"
    vkey_file.write_text(vkey + "\n")                 # as a partner would receive it
    first = runner.invoke(app, [*args, "--log-key", str(vkey_file)])
    assert first.exit_code == 0, first.output
    assert first.output.count("— ") == 2             # the log's signature and the witness's
    assert json.loads(state.read_text())["log_key"] == vkey

    _append_and_checkpoint(db, "PW6")
    second = runner.invoke(app, args)                  # the pinned key is used from now on
    assert second.exit_code == 0, second.output
    with duckdb.connect(str(audit_path_for(db))) as con:
        rows = con.execute("SELECT witness, tree_size FROM witness_cosignatures "
                           "ORDER BY tree_size").fetchall()
        assert rows == [("police.example/witness", 6), ("police.example/witness", 7)]
        # An insider rewrites an early event's leaf, then signs a new head over it.
        con.execute("UPDATE audit_events SET leaf_hash = repeat('ab', 32) WHERE seq = 3")
    _append_and_checkpoint(db, "PW7")
    forked = runner.invoke(app, args)
    assert forked.exit_code == 1 and "fork" in forked.output
    # An insider deletes the tail and its checkpoints: rollback.
    with duckdb.connect(str(audit_path_for(db))) as con:
        con.execute("DELETE FROM checkpoints WHERE tree_size > 4")
        con.execute("DELETE FROM audit_events WHERE seq >= 4")
    rolled = runner.invoke(app, args)
    assert rolled.exit_code == 1 and "rollback" in rolled.output
    assert json.loads(state.read_text())["size"] == 7  # refusals are not remembered
    state.write_text("{not json")
    broken = runner.invoke(app, args)
    assert broken.exit_code == 1 and str(state) in broken.output.replace("\n", "")
