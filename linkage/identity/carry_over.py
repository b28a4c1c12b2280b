"""Carry identifiers over from the previous index to this run's clusters.

The rule (shared/README principle 2): an ID keeps meaning the same child. A new cluster takes the
previous ID that holds most of its records; each previous ID goes to at most one cluster, the one
holding most of its records (so a split keeps the ID on the larger part); a previous ID that lost
every record to another cluster is retired and resolves to that survivor. Ties go to the older ID.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

__all__ = ["Assignment", "LineageEvent", "carry_over"]


@dataclass(frozen=True)
class LineageEvent:
    entity_id: str
    event: str  # created | merged | split | record_added | record_removed | withdrawn
    other_id: str | None
    reason: str
    detail: dict[str, object] = field(default_factory=dict)


@dataclass
class Assignment:
    #: cluster key → the ID it carries
    ids: dict[int, str]
    #: previous ID → survivor ID (None when every record was withdrawn)
    retired: dict[str, str | None]
    new_ids: set[str]
    events: list[LineageEvent]


def carry_over(
    clusters: Mapping[int, Sequence[str]],
    previous: Mapping[str, str],
    previous_created: Mapping[str, object],
    mint: Callable[[], str],
    reason: str = "model",
) -> Assignment:
    """Give each cluster (key → record keys) an ID, reusing ``previous`` (record key → ID)."""
    overlaps: list[tuple[int, object, str, int]] = []
    record_count_of_previous: Counter[str] = Counter(previous.values())
    for key, members in clusters.items():
        counts = Counter(previous[m] for m in members if m in previous)
        for old_id, n in counts.items():
            # Sort by overlap, then by the older ID, then by ID for determinism.
            overlaps.append((n, previous_created.get(old_id, ""), old_id, key))
    overlaps.sort(key=lambda t: (-t[0], str(t[1]), t[2]))

    ids: dict[int, str] = {}
    taken: set[str] = set()
    for _, _, old_id, key in overlaps:
        if key in ids or old_id in taken:
            continue
        ids[key] = old_id
        taken.add(old_id)

    events: list[LineageEvent] = []
    new_ids: set[str] = set()
    for key, members in clusters.items():
        if key in ids:
            continue
        fresh = mint()
        ids[key] = fresh
        new_ids.add(fresh)
        sources = sorted({previous[m] for m in members if m in previous})
        if sources:
            for old_id in sources:
                events.append(LineageEvent(fresh, "split", old_id, reason))
        else:
            events.append(LineageEvent(fresh, "created", None, reason, {"records": len(members)}))

    if not previous:
        # A first run: nothing went anywhere, and no ID carried over to gain or lose a record
        # (what follows would walk every record to find no event).
        return Assignment(ids=ids, retired={}, new_ids=new_ids, events=events)

    # Where did each previous ID's records go?
    destinations: dict[str, Counter[str]] = defaultdict(Counter)
    current_of: dict[str, str] = {}
    for key, members in clusters.items():
        for m in members:
            current_of[m] = ids[key]
            if m in previous:
                destinations[previous[m]][ids[key]] += 1

    retired: dict[str, str | None] = {}
    for old_id in record_count_of_previous:
        if old_id in taken:
            continue
        dest = destinations.get(old_id)
        if dest:
            survivor = dest.most_common(1)[0][0]
            retired[old_id] = survivor
            events.append(LineageEvent(old_id, "merged", survivor, reason))
        else:
            retired[old_id] = None
            events.append(LineageEvent(old_id, "withdrawn", None, "withdrawn_record"))

    # Record-level moves for IDs that carried over: what joined and what left.
    for record, old_id in previous.items():
        new = current_of.get(record)
        if new is None:
            if old_id in taken:
                events.append(
                    LineageEvent(
                        old_id, "record_removed", None, "withdrawn_record", {"record": record}
                    )
                )
        elif new != old_id and old_id in taken:
            events.append(LineageEvent(old_id, "record_removed", new, reason, {"record": record}))
    for record, new in current_of.items():
        earlier = previous.get(record)
        if new in taken and earlier != new:
            events.append(
                LineageEvent(
                    new,
                    "record_added",
                    earlier,
                    reason if earlier else "new_record",
                    {"record": record},
                )
            )
    return Assignment(ids=ids, retired=retired, new_ids=new_ids, events=events)
