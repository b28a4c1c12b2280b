"""What the trail commits to, in one place: the leaf of an event, the chain over leaves, and the
columns a store keeps beside each event.

Both the writer (``audit.trail``) and the verifier (``audit.verify``) need exactly these rules;
held here, neither imports the other and the two cannot drift apart.

The stored columns (``subject_person_id``, ``agency``, ``purpose``…) exist so reports can filter
without parsing JSON. They are copies of fields of the hashed event, so the leaf hash covers
their values too; ``column_mismatch`` is how verify proves each copy still equals the field it
was taken from (an edited column is tampering, even though the JSON is untouched).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

from audit.events import AuditEvent, canonical_json
from audit.merkle import leaf_hash

__all__ = [
    "EVENT_COLUMNS",
    "GENESIS",
    "chain_next",
    "column_mismatch",
    "event_row",
    "leaf_data",
]

GENESIS = "0" * 64

#: Every column of ``audit_events``, in table order.
EVENT_COLUMNS = ("seq", "recorded_at", "event_type", "outcome", "subject_person_id", "user_id",
                 "agency", "purpose", "event_json", "leaf_hash", "chain_hash")

#: The columns that copy a field of the hashed event (the field has the column's name).
COPIED_FIELDS = ("recorded_at", "event_type", "outcome", "subject_person_id", "user_id", "agency",
                 "purpose")


def leaf_data(seq: int, event_json: str) -> bytes:
    """What a leaf commits to: the event *and its position*, so reordering changes the hash."""
    return canonical_json({"seq": seq, "event": json.loads(event_json)})


def chain_next(previous: str, leaf_hex: str) -> str:
    return hashlib.sha256(bytes.fromhex(previous) + bytes.fromhex(leaf_hex)).hexdigest()


def event_row(seq: int, previous_chain: str, event: AuditEvent) -> tuple[Any, ...]:
    """The stored row of ``event`` at ``seq`` after ``previous_chain``, in ``EVENT_COLUMNS``
    order: the one place an event gets its position, leaf hash and chain hash."""
    payload = canonical_json(event.model_dump(mode="json")).decode()
    leaf = leaf_hash(leaf_data(seq, payload)).hex()
    return (seq, event.recorded_at, event.event_type, event.outcome, event.subject_person_id,
            event.user_id, event.agency, event.purpose, payload, leaf,
            chain_next(previous_chain, leaf))


def _same_moment(stored: Any, hashed: Any) -> bool:
    if hashed is None:
        return stored is None
    if not isinstance(stored, dt.datetime):
        return False
    try:
        moment = dt.datetime.fromisoformat(str(hashed))
    except ValueError:
        return False
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    if stored.tzinfo is None:  # a store that hands back naive UTC
        stored = stored.replace(tzinfo=dt.UTC)
    return stored == moment


def column_mismatch(columns: dict[str, Any], event: dict[str, Any]) -> str | None:
    """The first stored column whose value is not the hashed event's field, or None."""
    for name in COPIED_FIELDS:
        if name not in columns:
            continue
        stored, hashed = columns[name], event.get(name)
        same = (_same_moment(stored, hashed) if name == "recorded_at"
                else stored == hashed)
        if not same:
            return name
    return None
