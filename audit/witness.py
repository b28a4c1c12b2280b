"""A witness: a partner agency that checks the log only ever grows, and countersigns it.

The witness keeps its own Ed25519 key and the last checkpoint it countersigned. Given the log's
newest signed checkpoint and an RFC 6962 consistency proof from its last size, it verifies the
log's signature and that the old tree is a prefix of the new one; only then does it add its
cosignature. A smaller tree (rollback) or a proof that fails (a fork: history rewritten) is refused
and named. Cosignatures are stored in the trail so IG pages can show who has vouched for what.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from pathlib import Path

import duckdb

from audit.checkpoint import Checkpoint, SigningKey, parse_checkpoint, verify_signature
from audit.merkle import consistency_proof, verify_consistency

__all__ = ["WitnessRefusal", "WitnessState", "witness_checkpoint"]

_COSIGNATURES = """
CREATE TABLE IF NOT EXISTS witness_cosignatures (
    witness VARCHAR NOT NULL,
    tree_size BIGINT NOT NULL,
    note VARCHAR NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT current_timestamp
);
"""


class WitnessRefusal(Exception):
    """The witness will not countersign: the log rolled back, forked, or is not signed."""


@dataclass
class WitnessState:
    """What a witness remembers between runs (a JSON file it alone writes)."""

    name: str
    size: int = 0
    root: str = ""  # base64

    @classmethod
    def load(cls, path: Path, name: str) -> WitnessState:
        if path.exists():
            data = json.loads(path.read_text())
            return cls(data["name"], int(data["size"]), data["root"])
        return cls(name)

    def save(self, path: Path) -> None:
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"name": self.name, "size": self.size, "root": self.root}))
        tmp.replace(path)


def witness_checkpoint(audit_path: Path, log_key_name: str, log_public: bytes,
                       witness_key: SigningKey, state_path: Path) -> Checkpoint:
    """Verify the latest checkpoint against the witness's memory; countersign and record it."""
    state = WitnessState.load(state_path, witness_key.name)
    with duckdb.connect(str(audit_path)) as con:
        con.execute(_COSIGNATURES)
        latest = con.execute(
            "SELECT note FROM checkpoints ORDER BY tree_size DESC, created_at DESC LIMIT 1"
        ).fetchall()
        if not latest:
            raise WitnessRefusal("the log has no signed checkpoint yet")
        checkpoint = parse_checkpoint(latest[0][0])
        if not verify_signature(checkpoint, log_key_name, log_public):
            raise WitnessRefusal("the checkpoint is not signed by the log's key")
        leaves = [bytes.fromhex(r[0]) for r in con.execute(
            "SELECT leaf_hash FROM audit_events WHERE seq < ? ORDER BY seq",
            [checkpoint.size]).fetchall()]
        if checkpoint.size < state.size:
            raise WitnessRefusal(f"rollback: the log is at {checkpoint.size} events, the witness "
                                 f"has countersigned {state.size}")
        if len(leaves) < checkpoint.size:
            raise WitnessRefusal("the log holds fewer events than its checkpoint commits to")
        if state.size:
            proof = consistency_proof(leaves, state.size)
            if not verify_consistency(state.size, checkpoint.size, base64.b64decode(state.root),
                                      checkpoint.root, proof):
                raise WitnessRefusal(f"fork: the first {state.size} events are not the ones the "
                                     "witness countersigned")
        cosigned = checkpoint.countersigned(witness_key)
        con.execute("INSERT INTO witness_cosignatures (witness, tree_size, note) VALUES (?, ?, ?)",
                    [witness_key.name, checkpoint.size, cosigned.text()])
    state.size, state.root = checkpoint.size, base64.b64encode(checkpoint.root).decode()
    state.save(state_path)
    return cosigned
