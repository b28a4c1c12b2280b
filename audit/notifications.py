"""Owner notifications: the agency that holds a record is told when another agency is shown it.

The control MASH partners lack elsewhere (only CP-IS tells a record's owner of an access). Each
clause of a sharing agreement says when (``notify``); :class:`NotificationRule` applies that to an
audit event and names the agencies to tell.

The event log is the outbox: notifications are derived from events **already committed**, after
the last event a notifier round covered (``notification_progress``), and each round writes its
notifications and its new position in one transaction (``audit.trail``). So a notification
exists exactly when its disclosure is on record — a crash after the event's commit cannot lose
it, the next round writes it; one before cannot invent it — and none is written twice. Writing
them in each event's own transaction did the same, but cost every disclosure an extra statement;
a round covers many events with one. Readers catch up first (``AuditTrail.session``), so they
see the notifications of every event committed before they asked.

A notification carries no personal data beyond the shared person ID: who looked (agency, role,
the user's pseudonym as the audit has it), when, why (purpose, clauses), what (categories), and
whether it was break-glass or a consent override — never a name, a date of birth, or the free
text of a justification, which may quote the child.

Delivery state is a list of attempts appended beside the outbox (``notification_deliveries``):
the latest attempt of a notification says whether it is delivered, waiting for a retry, or dead
(given up on, listed for an administrator to replay).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from audit.events import AuditEvent, canonical_json

__all__ = [
    "MAX_ATTEMPTS",
    "ClauseNotice",
    "Delivery",
    "NotificationRule",
    "dead_letters",
    "derived_rows",
    "due_deliveries",
    "notifications_for",
    "record_attempt",
    "replay",
    "retry_delay",
]

NotifyWhen = Literal["always", "break-glass", "consent-override", "never"]

#: Attempts before a notification is dead-lettered; with the back-off below, about a day.
MAX_ATTEMPTS = 12

#: Event types that disclose a subject's records (a review decision discloses nothing new).
_DISCLOSING = frozenset({"PatientRead", "PatientQuery", "PrivacyDisclosure", "BreakGlass"})


@dataclass(frozen=True)
class ClauseNotice:
    """What the trail needs of one clause to decide whom to tell."""

    notify: NotifyWhen
    source_parties: frozenset[str]
    categories: frozenset[str]


class NotificationRule:
    """The agreements' ``notify`` settings, applied to audit events.

    Built by the gateway from its policy bundle (audit knows clauses only by their ids), so an
    agreement change reaches notifications the moment the gateway loads it."""

    def __init__(self, clauses: Mapping[str, ClauseNotice],
                 held_by: Mapping[str, frozenset[str]] | None = None) -> None:
        self._clauses = dict(clauses)
        #: The categories each agency's records can hold (the agreements' ``categories``): a
        #: clause releases categories from several agencies, and an owner is told only of its own.
        self._held_by = dict(held_by) if held_by is not None else None

    def notices(self, event: AuditEvent) -> list[tuple[str, dict[str, Any]]]:
        """``(owning agency, notification body)`` for each agency to tell of ``event``."""
        if event.outcome != "permit" or event.event_type not in _DISCLOSING:
            return []
        told = []
        for owner in sorted(set(event.source_agencies)):
            if owner == event.agency:  # its own records shown to itself
                continue
            clauses = [(rule, self._clauses[rule]) for rule in event.matched_rules
                       if rule in self._clauses and owner in self._clauses[rule].source_parties]
            if not any(self._tells(notice.notify, event) for _, notice in clauses) and not (
                    event.break_glass and not clauses):
                # Break-glass beyond every clause is told to the owner: nothing agreed covers it.
                continue
            released = set(event.categories_released)
            if clauses:
                released &= {c for _, n in clauses for c in n.categories}
            if self._held_by is not None:
                released &= self._held_by.get(owner, frozenset())
            categories = sorted(released)
            told.append((owner, _body(event, owner, [r for r, _ in clauses], categories)))
        return told

    @staticmethod
    def _tells(when: NotifyWhen, event: AuditEvent) -> bool:
        return (when == "always" or (when == "break-glass" and event.break_glass)
                or (when == "consent-override" and bool(event.consent_override_reason)))


def _body(event: AuditEvent, owner: str, clauses: Sequence[str],
          categories: Sequence[str]) -> dict[str, Any]:
    return {
        "owner_agency": owner,
        "person_id": event.subject_person_id,
        "recorded_at": event.recorded_at.isoformat(),
        "event_type": event.event_type,
        "requester": {"agency": event.agency, "role": event.role, "user": event.user_id},
        "purpose": event.purpose,
        "clauses": list(clauses),
        "categories": list(categories),
        "break_glass": event.break_glass,
        "consent_override": bool(event.consent_override_reason),
    }


def outbox_rows(rule: NotificationRule | None, seq: int, event: AuditEvent
                ) -> list[tuple[Any, ...]]:
    """The outbox rows for ``event`` committed at ``seq``, in table order."""
    if rule is None:
        return []
    return [(seq, owner, event.recorded_at, canonical_json({"seq": seq, **body}).decode())
            for owner, body in rule.notices(event)]


def derived_rows(rule: NotificationRule, committed: Sequence[tuple[int, str]]
                 ) -> list[tuple[Any, ...]]:
    """The outbox rows for committed events given as ``(seq, event_json)``, in table order: the
    same rows ``outbox_rows`` gives for the event itself (the stored JSON is the event's)."""
    rows: list[tuple[Any, ...]] = []
    for seq, text in committed:
        rows.extend(outbox_rows(rule, seq, AuditEvent.model_validate_json(text)))
    return rows


def _decoded(seq: int, agency: str, body: str, state: str | None = None) -> dict[str, Any]:
    found = json.loads(body)
    found.setdefault("seq", seq)
    found["id"] = f"{seq}:{agency}"
    if state is not None:
        found["delivery"] = state
    return found


def notifications_for(con: Any, agency: str | None, since_seq: int | None = None,
                      since: dt.datetime | None = None, limit: int = 100,
                      until: dt.datetime | None = None, newest_first: bool = False,
                      person_ids: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """Notifications for ``agency`` (every agency when None) after ``since_seq`` or from
    ``since`` and before ``until``, about any of ``person_ids`` when given, oldest first (a
    feed's order) or newest first (a page's), each with its delivery state. ``con`` speaks ``?``
    placeholders (a DuckDB cursor or a ``stores.database.Session``)."""
    where: list[str] = ["TRUE"]
    params: list[object] = []
    if person_ids is not None:
        # The body is canonical JSON (sorted keys, no spaces), so one LIKE finds a person's in
        # DuckDB and PostgreSQL alike; an ID is letters and digits, never a LIKE wildcard.
        if not person_ids or not all(p.isascii() and p.isalnum() for p in person_ids):
            raise ValueError("person IDs are letters and digits")
        where.append("(" + " OR ".join("n.body LIKE ?" for _ in person_ids) + ")")
        params.extend(f'%"person_id":"{p}"%' for p in person_ids)
    if agency is not None:
        where.append("n.agency = ?")
        params.append(agency)
    if since_seq is not None:
        where.append("n.seq > ?")
        params.append(since_seq)
    if since is not None:
        where.append("n.recorded_at >= ?")
        params.append(since)
    if until is not None:
        where.append("n.recorded_at < ?")
        params.append(until)
    order = "n.seq DESC, n.agency" if newest_first else "n.seq, n.agency"
    rows = con.execute(
        f"SELECT n.seq, n.agency, n.body, {_STATE} FROM notifications n "
        f"WHERE {' AND '.join(where)} ORDER BY {order} LIMIT ?",
        [*params, max(1, min(limit, 10_000))]).fetchall()
    return [_decoded(seq, owner, body, state or "pending") for seq, owner, body, state in rows]


#: The latest attempt's state of notification ``n`` (NULL: never tried).
_STATE = ("(SELECT d.state FROM notification_deliveries d WHERE d.seq = n.seq AND "
          "d.agency = n.agency ORDER BY d.attempt DESC LIMIT 1)")


@dataclass(frozen=True)
class Delivery:
    """A notification due for a webhook attempt."""

    seq: int
    agency: str
    attempt: int  # the number this attempt will carry (never reused, across replays too)
    try_number: int  # this attempt's place since the notification was queued or replayed
    body: dict[str, Any]


def due_deliveries(con: Any, agencies: Iterable[str], now: dt.datetime,
                   limit: int = 100) -> list[Delivery]:
    """Notifications for ``agencies`` (those with a webhook) neither delivered nor dead whose
    retry time has come, oldest first."""
    wanted = sorted(set(agencies))
    if not wanted:
        return []
    marks = ", ".join(["?"] * len(wanted))
    rows = con.execute(
        f"""SELECT n.seq, n.agency, n.body, last.attempt, (
                SELECT count(*) FROM notification_deliveries f
                WHERE f.seq = n.seq AND f.agency = n.agency AND f.state = 'failed'
                  AND f.attempt > coalesce((SELECT max(r.attempt) FROM notification_deliveries r
                                            WHERE r.seq = n.seq AND r.agency = n.agency
                                              AND r.state = 'replay'), 0)) AS tries
            FROM notifications n LEFT JOIN (
                SELECT seq, agency, attempt, state, next_at, row_number() OVER (
                    PARTITION BY seq, agency ORDER BY attempt DESC) AS latest
                FROM notification_deliveries) last
              ON last.seq = n.seq AND last.agency = n.agency AND last.latest = 1
            WHERE n.agency IN ({marks})
              AND (last.state IS NULL OR last.state IN ('failed', 'replay'))
              AND (last.next_at IS NULL OR last.next_at <= ?)
            ORDER BY n.seq, n.agency LIMIT ?""", [*wanted, now, limit]).fetchall()
    return [Delivery(seq, owner, (attempt or 0) + 1, int(tries) + 1, _decoded(seq, owner, body))
            for seq, owner, body, attempt, tries in rows]


def retry_delay(attempt: int, base_seconds: float = 5.0, cap_seconds: float = 3600.0) -> float:
    """Exponential back-off after failed attempt number ``attempt`` (1-based), capped."""
    return float(min(cap_seconds, base_seconds * 2 ** max(0, attempt - 1)))


def record_attempt(con: Any, delivery: Delivery, ok: bool, now: dt.datetime, detail: str,
                   max_attempts: int = MAX_ATTEMPTS, base_seconds: float = 5.0) -> str:
    """Append the outcome of one attempt; returns the state: delivered, failed (retry at
    ``next_at``) or dead. ``detail`` is the receiver's HTTP status or the error's class name —
    never a body, which could echo what was sent."""
    if ok:
        state, next_at = "delivered", None
    elif delivery.try_number >= max_attempts:
        state, next_at = "dead", None
    else:
        state = "failed"
        next_at = now + dt.timedelta(seconds=retry_delay(delivery.try_number, base_seconds))
    con.execute("INSERT INTO notification_deliveries (seq, agency, attempt, state, attempted_at, "
                "next_at, detail) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [delivery.seq, delivery.agency, delivery.attempt, state, now, next_at, detail[:200]])
    return state


def dead_letters(con: Any) -> list[dict[str, Any]]:
    """Notifications given up on, for an administrator to see (and replay)."""
    rows = con.execute(
        f"SELECT n.seq, n.agency, n.body, {_STATE} AS state FROM notifications n "
        "ORDER BY n.seq, n.agency").fetchall()
    return [_decoded(seq, owner, body, state) for seq, owner, body, state in rows
            if state == "dead"]


def replay(con: Any, seq: int, agency: str, now: dt.datetime, by: str) -> None:
    """Put a dead notification back in the queue: its attempts start again from one."""
    rows = con.execute(f"SELECT {_STATE} FROM notifications n WHERE n.seq = ? AND n.agency = ?",
                       [seq, agency]).fetchall()
    if not rows:
        raise ValueError(f"no notification {seq}:{agency}")
    if rows[0][0] != "dead":
        raise ValueError(f"notification {seq}:{agency} is {rows[0][0] or 'pending'}, not dead")
    latest = con.execute("SELECT max(attempt) FROM notification_deliveries WHERE seq = ? AND "
                         "agency = ?", [seq, agency]).fetchall()[0][0]
    con.execute("INSERT INTO notification_deliveries (seq, agency, attempt, state, attempted_at, "
                "next_at, detail) VALUES (?, ?, ?, 'replay', ?, NULL, ?)",
                [seq, agency, int(latest) + 1, now, f"replayed by {by}"[:200]])
