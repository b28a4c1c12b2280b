"""A witness: a partner agency that checks the log only ever grows, and countersigns it.

A hash chain and a log signature stop outsiders, not the log's own operator: whoever holds the
signing key can rewrite history and sign a fresh head. A witness closes that gap. It keeps, in a
state file only it writes, its own Ed25519 key, the log's public key (pinned the first time) and the
last tree head it countersigned. Given the log's newest signed checkpoint and an RFC 6962
consistency proof from that remembered size, it countersigns (C2SP ``cosignature/v1``) only if

- the checkpoint is signed by the pinned log key (a new key is refused, not silently trusted);
- the tree did not shrink (rollback);
- the proof shows the remembered tree is a prefix of the new one (otherwise: a fork, history was
  rewritten).

The two halves are kept apart on purpose: ``check_and_cosign`` is all the witness trusts (a
checkpoint note and a proof, as a partner would receive them over the wire); ``log_consistency``
is the log's side, computing the proof from the trail. Cosignatures are stored back in the trail
(``witness_cosignatures``) so IG pages can show who has vouched for which tree size.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import duckdb

from audit.checkpoint import Checkpoint, SigningKey, parse_checkpoint, verify_signature
from audit.cosignature import ED25519, VerifierKey, cosign, parse_verifier_key, verifier_key
from audit.merkle import consistency_proof, verify_consistency
from stores.database import DuckDBLocation, PostgresLocation, Session, connect, parse_location

__all__ = [
    "VerifierKey",
    "WitnessRefusal",
    "WitnessState",
    "check_and_cosign",
    "latest_checkpoint",
    "log_consistency",
    "witness_checkpoint",
]

_COSIGNATURES = """
CREATE TABLE IF NOT EXISTS witness_cosignatures (
    witness VARCHAR NOT NULL,
    tree_size BIGINT NOT NULL,
    note VARCHAR NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT current_timestamp
);
"""


class WitnessRefusal(Exception):
    """The witness will not countersign: rollback, fork, wrong key or no checkpoint."""


@dataclass
class WitnessState:
    """What a witness remembers between runs (a JSON file it alone writes)."""

    name: str
    size: int = 0
    root: str = ""  # base64 root hash of the last countersigned tree
    log_key: str = ""  # the log's verifier key, pinned on first use

    @classmethod
    def load(cls, path: Path, name: str) -> WitnessState:
        if not path.exists():
            return cls(name)
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise WitnessRefusal(f"witness state {path} is not readable JSON: {exc}") from exc
        for field_name, kind in (("name", str), ("size", int), ("root", str)):
            if not isinstance(data.get(field_name), kind):
                raise WitnessRefusal(f"witness state {path}: field {field_name!r} missing or "
                                     f"not a {kind.__name__}")
        if data["name"] != name:
            raise WitnessRefusal(f"witness state {path} belongs to witness {data['name']!r}, "
                                 f"not {name!r}")
        return cls(data["name"], data["size"], data["root"], str(data.get("log_key", "")))

    def save(self, path: Path) -> None:
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(asdict(self)))
        tmp.replace(path)


def check_and_cosign(state: WitnessState, note: str, proof: Sequence[bytes], log_vkey: str,
                     witness_key: SigningKey, timestamp: int | None = None) -> Checkpoint:
    """Countersign ``note`` if it is consistent with what ``state`` remembers; update ``state``.

    Raises WitnessRefusal naming the reason otherwise; ``state`` is then left unchanged."""
    try:
        log_name, sig_type, log_public = parse_verifier_key(log_vkey)
    except ValueError as exc:
        raise WitnessRefusal(str(exc)) from exc
    pinned = verifier_key(log_name, log_public, sig_type)  # one spelling, however it was given
    if state.log_key and pinned != state.log_key:
        raise WitnessRefusal("the log's key is not the one this witness pinned "
                             f"({state.log_key.split('+')[0]}); a new log key needs a new state")
    if sig_type != ED25519:
        raise WitnessRefusal("the log key must be an Ed25519 note key (type 0x01)")
    try:
        checkpoint = parse_checkpoint(note)
    except ValueError as exc:
        raise WitnessRefusal(str(exc)) from exc
    if checkpoint.origin != log_name:
        raise WitnessRefusal(f"the checkpoint is for log {checkpoint.origin!r}, not {log_name!r}")
    if not verify_signature(checkpoint, log_name, log_public):
        raise WitnessRefusal("the checkpoint is not signed by the log's key")
    if checkpoint.size < state.size:
        raise WitnessRefusal(f"rollback: the log's checkpoint is at {checkpoint.size} events, "
                             f"the witness has countersigned {state.size}")
    if state.size and not verify_consistency(state.size, checkpoint.size,
                                             base64.b64decode(state.root), checkpoint.root, proof):
        raise WitnessRefusal(f"fork: the first {state.size} events are not the ones the witness "
                             "countersigned (the consistency proof fails)")
    cosigned = cosign(checkpoint, witness_key, timestamp)
    state.size, state.root = checkpoint.size, base64.b64encode(checkpoint.root).decode()
    state.log_key = pinned
    return cosigned


def latest_checkpoint(con: duckdb.DuckDBPyConnection | Session) -> str | None:
    rows = con.execute("SELECT note FROM checkpoints ORDER BY tree_size DESC, created_at DESC "
                       "LIMIT 1").fetchall()
    return rows[0][0] if rows else None


def log_consistency(con: duckdb.DuckDBPyConnection | Session, old_size: int, new_size: int) -> list[bytes]:
    """The log's side: an RFC 6962 proof that its first ``old_size`` events are a prefix of its
    first ``new_size``, computed from the leaf hashes the trail holds."""
    if old_size == 0 or old_size > new_size:
        return []  # nothing to prove, or a rollback the witness refuses on sizes alone
    leaves = [bytes.fromhex(r[0]) for r in con.execute(
        "SELECT leaf_hash FROM audit_events WHERE seq < ? ORDER BY seq", [new_size]).fetchall()]
    if len(leaves) < new_size:
        raise WitnessRefusal(f"the log holds {len(leaves)} events, fewer than its checkpoint's "
                             f"{new_size}")
    return consistency_proof(leaves, old_size)


def _recorded_origin(con: duckdb.DuckDBPyConnection | Session) -> str | None:
    """The origin the trail records for its install (None: a trail from before origins)."""
    if not con.execute("SELECT count(*) FROM information_schema.tables "
                       "WHERE table_name = 'audit_settings'").fetchall()[0][0]:
        return None  # an older trail, not yet migrated
    rows = con.execute("SELECT value FROM audit_settings WHERE name = 'origin'").fetchall()
    return rows[0][0] if rows else None


def witness_checkpoint(audit_path: Path | PostgresLocation, witness_key: SigningKey, state_path: Path,
                       log_vkey: str | None = None) -> Checkpoint:
    """Check the trail's latest checkpoint against the witness's memory, countersign, record the
    cosignature in the trail and then in the state file. ``log_vkey`` defaults to the key pinned in
    the state; the first run must give it."""
    state = WitnessState.load(state_path, witness_key.name)
    vkey = log_vkey or state.log_key
    if not vkey:
        raise WitnessRefusal("no log key: give the log's verifier key on the first run "
                             "(kinlink audit log-key prints it)")
    where = parse_location(audit_path)
    if isinstance(where, DuckDBLocation) and not where.path.exists():
        raise WitnessRefusal(f"no audit trail at {where.path}")
    with connect(where) as con:
        recorded = _recorded_origin(con)
        log_name = parse_verifier_key(vkey)[0] if vkey else None
        if recorded is not None and log_name != recorded:
            raise WitnessRefusal(f"this trail's origin is {recorded!r}; the witness was given "
                                 f"the key of log {log_name!r}")
        note = latest_checkpoint(con)
        if note is None:
            raise WitnessRefusal("the log has no signed checkpoint yet")
        size = parse_checkpoint(note).size
        proof = log_consistency(con, state.size, size)
        cosigned = check_and_cosign(state, note, proof, vkey, witness_key)
        if not con.postgres:  # PostgreSQL has the table from its migrations
            con.execute(_COSIGNATURES)
        con.execute("INSERT INTO witness_cosignatures (witness, tree_size, note) VALUES (?, ?, ?)",
                    [witness_key.name, cosigned.size, cosigned.text()])
    state.save(state_path)
    return cosigned
