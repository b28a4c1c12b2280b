"""``kinlink audit verify``: recompute everything the trail commits to and name the first failure.

Edits, deletions, insertions and reordering each break something a tamperer cannot repair alone:
the gap-free sequence, the leaf hash (which covers the event and its position), the hash chain,
and — if all of those were recomputed — the root hash in checkpoints signed with a key the
tamperer does not hold.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from audit.checkpoint import parse_checkpoint, verify_signature
from audit.merkle import CompactRange, leaf_hash
from audit.trail import GENESIS, chain_next, leaf_data

__all__ = ["VerifyResult", "verify_rows", "verify_trail"]


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    events: int
    checkpoints: int
    first_failure_seq: int | None = None
    problem: str | None = None


def verify_trail(path: Path, key_name: str, public_key: bytes,
                 con: duckdb.DuckDBPyConnection | None = None) -> VerifyResult:
    """Verify the trail at ``path`` (or through ``con``, e.g. the gateway's own open trail)."""
    if con is not None:
        return _verify(con, key_name, public_key)
    if not path.exists():
        return VerifyResult(False, 0, 0, None, f"no audit trail at {path}")
    with duckdb.connect(str(path), read_only=True) as opened:
        return _verify(opened, key_name, public_key)


def _verify(con: duckdb.DuckDBPyConnection, key_name: str, public_key: bytes) -> VerifyResult:
    # Checkpoints first: one signed after this read covers only events committed before it,
    # which the event read that follows sees, so a live writer cannot cause a false "deleted".
    notes = [
        r[0]
        for r in con.execute(
            "SELECT note FROM checkpoints ORDER BY tree_size, rowid"
        ).fetchall()
    ]
    rows = con.execute(
        "SELECT seq, event_json, leaf_hash, chain_hash FROM audit_events ORDER BY seq, rowid"
    ).fetchall()
    return verify_rows(rows, notes, key_name, public_key)


def verify_rows(rows: Sequence[tuple[Any, ...]], notes: Sequence[str], key_name: str,
                public_key: bytes) -> VerifyResult:
    """Verify events ``(seq, event_json, leaf_hash, chain_hash)`` in seq order and checkpoint
    notes in size order, however they were read (a DuckDB file, a PostgreSQL snapshot)."""
    chain = GENESIS
    leaves: list[bytes] = []
    for position, (seq, event_json, stored_leaf, stored_chain) in enumerate(rows):
        if seq != position:
            kind = "missing (deleted)" if seq > position else "repeated (inserted)"
            return VerifyResult(
                False, len(rows), len(notes), position, f"event seq {position} is {kind}"
            )
        try:
            recomputed = leaf_hash(leaf_data(seq, event_json)).hex()
        except ValueError:
            return VerifyResult(False, len(rows), len(notes), seq, f"event {seq} is not valid JSON")
        if recomputed != stored_leaf:
            return VerifyResult(
                False,
                len(rows),
                len(notes),
                seq,
                f"event {seq} was edited or moved (its leaf hash does not match)",
            )
        chain = chain_next(chain, recomputed)
        if chain != stored_chain:
            return VerifyResult(
                False, len(rows), len(notes), seq, f"hash chain breaks at event {seq}"
            )
        leaves.append(bytes.fromhex(recomputed))

    # Checkpoints come in size order, so one pass over the leaves gives every root: verifying a
    # trail with a checkpoint a minute for years stays linear in its length.
    tree = CompactRange()
    passed: list[int] = []
    for text in notes:
        try:
            checkpoint = parse_checkpoint(text)
        except ValueError as exc:
            return VerifyResult(False, len(rows), len(notes), None, f"checkpoint unreadable: {exc}")
        if not verify_signature(checkpoint, key_name, public_key):
            return VerifyResult(
                False,
                len(rows),
                len(notes),
                None,
                f"checkpoint at size {checkpoint.size} is not signed by the log key",
            )
        if checkpoint.size > len(leaves):
            return VerifyResult(
                False,
                len(rows),
                len(notes),
                len(leaves),
                f"signed checkpoint covers {checkpoint.size} events; only "
                f"{len(leaves)} remain (events from seq {len(leaves)} deleted)",
            )
        while tree.size < checkpoint.size:
            tree.append(leaves[tree.size])
        if tree.root() != checkpoint.root:
            # Rewriting began after the largest smaller checkpoint that still matched.
            first = max((size for size in passed if size < checkpoint.size), default=0)
            return VerifyResult(
                False,
                len(rows),
                len(notes),
                first,
                f"events before seq {checkpoint.size} no longer match the signed "
                f"checkpoint (rewritten from seq {first} or earlier)",
            )
        passed.append(checkpoint.size)
    return VerifyResult(True, len(rows), len(notes))

