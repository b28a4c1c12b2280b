"""``kinlink audit verify``: recompute everything the trail commits to and name the first failure.

Edits, deletions, insertions and reordering each break something a tamperer cannot repair alone:
the gap-free sequence, the leaf hash (which covers the event and its position), the stored
columns (copies of the hashed event's fields, checked against it), the hash chain, and — if all
of those were recomputed — the root hash in checkpoints signed with a key the tamperer does not
hold.

Checkpoints kept in the trail can themselves be deleted with the events after them. So verify
also takes *anchors*: checkpoint notes held outside the database — the published
``.checkpoint`` note, a witness's countersigned note, one an auditor kept. The trail must be at
least as long as each anchor, match its root, and still hold its checkpoint.

Verify needs only the log's public verifier key (a C2SP vkey) and read access: it never reads or
creates a signing key, so it can run on a copy, on another machine, as a role that can only read.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from audit.checkpoint import Checkpoint, parse_checkpoint, verify_signature
from audit.cosignature import ED25519, parse_verifier_key
from audit.hashing import EVENT_COLUMNS, GENESIS, chain_next, column_mismatch, leaf_data
from audit.merkle import CompactRange, leaf_hash
from audit.store import AuditStore, StoredTrail

__all__ = ["VerifyResult", "verify_store", "verify_stored", "verify_trail"]


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    events: int
    checkpoints: int
    first_failure_seq: int | None = None
    problem: str | None = None
    #: The largest tree size vouched for from outside the database (None: no anchor given).
    anchored_size: int | None = None


class _Failed(Exception):
    def __init__(self, problem: str, seq: int | None = None) -> None:
        super().__init__(problem)
        self.problem, self.seq = problem, seq


def verify_trail(path: Path, vkey: str, anchors: Sequence[str] = ()) -> VerifyResult:
    """Verify the DuckDB trail file at ``path``, opened read-only."""
    from audit.store import open_store

    if not path.exists():
        return VerifyResult(False, 0, 0, None, f"no audit trail at {path}")
    store = open_store(path, read_only=True)
    try:
        return verify_store(store, vkey, anchors)
    finally:
        store.close()


def verify_store(store: AuditStore, vkey: str, anchors: Sequence[str] = ()) -> VerifyResult:
    """Verify whatever ``store`` holds against ``vkey`` and the ``anchors`` (checkpoint notes
    held outside it); the witnesses' cosigned notes kept in the store are anchors too."""
    return verify_stored(store.stored_trail(), vkey, anchors)


def verify_stored(stored: StoredTrail, vkey: str, anchors: Sequence[str] = ()) -> VerifyResult:
    events, notes = stored.events, stored.checkpoints
    outside = list(anchors)
    try:
        name, public = _log_key(vkey, stored.origin)
        leaves = _check_events(events)
        sizes = _check_checkpoints(notes, leaves, name, public)
        anchored = _check_anchors([*outside, *stored.cosigned], leaves, sizes, name, public)
    except _Failed as failure:
        return VerifyResult(False, len(events), len(notes), failure.seq, failure.problem)
    return VerifyResult(True, len(events), len(notes),
                        anchored_size=max(anchored) if anchored and outside else None)


def _log_key(vkey: str, origin: str | None) -> tuple[str, bytes]:
    try:
        name, sig_type, public = parse_verifier_key(vkey)
    except ValueError as exc:
        raise _Failed(f"verifier key: {exc}") from exc
    if sig_type != ED25519:
        raise _Failed("the verifier key is not a log key (Ed25519 note key, type 0x01)")
    if origin is not None and name != origin:
        raise _Failed(f"the verifier key is for log {name!r}; this trail's origin is {origin!r}")
    return name, public


def _check_events(rows: Sequence[Sequence[object]]) -> list[bytes]:
    """Every event in place, hashed, chained and with its columns equal to its hashed fields."""
    chain = GENESIS
    leaves: list[bytes] = []
    for position, row in enumerate(rows):
        columns = dict(zip(EVENT_COLUMNS, row, strict=True))
        seq = columns["seq"]
        if seq != position:
            kind = "missing (deleted)" if int(seq) > position else "repeated (inserted)"  # type: ignore[call-overload]  # seq is the stored BIGINT column
            raise _Failed(f"event seq {position} is {kind}", position)
        try:
            event = json.loads(str(columns["event_json"]))
            recomputed = leaf_hash(leaf_data(position, str(columns["event_json"]))).hex()
        except ValueError as exc:
            raise _Failed(f"event {seq} is not valid JSON", position) from exc
        if recomputed != columns["leaf_hash"]:
            raise _Failed(f"event {seq} was edited or moved (its leaf hash does not match)",
                          position)
        edited = column_mismatch(columns, event)
        if edited is not None:
            raise _Failed(f"event {seq}: column {edited} was edited (it no longer matches the "
                          "hashed event)", position)
        chain = chain_next(chain, recomputed)
        if chain != columns["chain_hash"]:
            raise _Failed(f"hash chain breaks at event {seq}", position)
        leaves.append(bytes.fromhex(recomputed))
    return leaves


def _signed(text: str, name: str, public: bytes, what: str) -> Checkpoint:
    try:
        checkpoint = parse_checkpoint(text)
    except ValueError as exc:
        raise _Failed(f"{what} unreadable: {exc}") from exc
    if checkpoint.origin != name:
        raise _Failed(f"{what} at size {checkpoint.size} is for log {checkpoint.origin!r}, "
                      f"not {name!r}")
    if not verify_signature(checkpoint, name, public):
        raise _Failed(f"{what} at size {checkpoint.size} is not signed by the log key")
    return checkpoint


def _check_checkpoints(notes: Sequence[str], leaves: list[bytes], name: str,
                       public: bytes) -> set[int]:
    """Each stored checkpoint signed and matching the events; returns their sizes.

    Checkpoints come in size order, so one pass over the leaves gives every root: verifying a
    trail with a checkpoint a minute for years stays linear in its length."""
    tree = CompactRange()
    passed: list[int] = []
    for text in notes:
        checkpoint = _signed(text, name, public, "checkpoint")
        _within(checkpoint, leaves, "signed checkpoint")
        while tree.size < checkpoint.size:
            tree.append(leaves[tree.size])
        if tree.root() != checkpoint.root:
            # Rewriting began after the largest smaller checkpoint that still matched.
            first = max((size for size in passed if size < checkpoint.size), default=0)
            raise _Failed(f"events before seq {checkpoint.size} no longer match the signed "
                          f"checkpoint (rewritten from seq {first} or earlier)", first)
        passed.append(checkpoint.size)
    return set(passed)


def _within(checkpoint: Checkpoint, leaves: list[bytes], what: str) -> None:
    if checkpoint.size > len(leaves):
        raise _Failed(f"{what} covers {checkpoint.size} events; only {len(leaves)} remain "
                      f"(events from seq {len(leaves)} deleted)", len(leaves))


def _check_anchors(anchors: Sequence[str], leaves: list[bytes], stored_sizes: set[int],
                   name: str, public: bytes) -> list[int]:
    """Each anchor signed by the log, no longer than the trail, matching its root, and still
    among the trail's checkpoints (deleting checkpoint rows is tampering too)."""
    checked = sorted((_signed(text, name, public, "published checkpoint") for text in anchors),
                     key=lambda c: c.size)
    tree = CompactRange()  # one pass, as for the stored checkpoints
    for checkpoint in checked:
        _within(checkpoint, leaves, "the published checkpoint")
        while tree.size < checkpoint.size:
            tree.append(leaves[tree.size])
        if tree.root() != checkpoint.root:
            raise _Failed(f"events before seq {checkpoint.size} no longer match the published "
                          "checkpoint", 0)
        if checkpoint.size not in stored_sizes:
            raise _Failed(f"checkpoints missing: the published checkpoint at size "
                          f"{checkpoint.size} is not among the trail's checkpoints")
    return [c.size for c in checked]
