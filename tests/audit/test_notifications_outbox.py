"""Owner notifications in the audit store: whom each disclosure is told to, derived from the
committed log (each event told once, none lost, none before its event is on record, every one
seen by a reader that asks after its event), carrying nothing personal but the shared person
ID, and a delivery history that retries with back-off, gives up into a dead-letter list and can
be replayed."""

from __future__ import annotations

import datetime as dt
import json
import threading
from pathlib import Path

import duckdb
import pytest

from audit import AuditEvent, AuditTrail, AuditUnavailable
from audit.hashing import GENESIS, event_row
from audit.notifications import (
    ClauseNotice,
    NotificationRule,
    dead_letters,
    due_deliveries,
    notifications_for,
    outbox_rows,
    record_attempt,
    replay,
)
from stores.migrations import migrate

T0 = dt.datetime(2026, 11, 2, 9, 30, tzinfo=dt.UTC)
JUSTIFICATION = "Strategy discussion about Ellie Example, born 2019, after her school's referral"

RULE = NotificationRule({
    "MASH-3.1": ClauseNotice("always", frozenset({"health", "education", "social_care", "police"}),
                             frozenset({"identity", "address", "family"})),
    "MASH-4.2": ClauseNotice("always", frozenset({"health", "education", "social_care"}),
                             frozenset({"professionals", "cp-plan"})),
    "EH-1": ClauseNotice("consent-override", frozenset({"health"}), frozenset({"identity"})),
    "BG-1": ClauseNotice("break-glass", frozenset({"police"}), frozenset({"identity"})),
    "QUIET": ClauseNotice("never", frozenset({"health"}), frozenset({"identity"})),
})


def disclosure(**fields: object) -> AuditEvent:
    values: dict[str, object] = dict(
        event_type="PatientRead", outcome="permit", recorded_at=T0, subject_person_id="P000123",
        user_id="u-7f3a", agency="social_care", role="mash-social-worker", purpose="s47-enquiry",
        justification=JUSTIFICATION, source_agencies=["health", "police", "social_care"],
        categories_released=["identity", "cp-plan", "address"], matched_rules=["MASH-3.1",
                                                                              "MASH-4.2"])
    values.update(fields)
    return AuditEvent(**values)  # type: ignore[arg-type]


def test_each_other_agency_whose_records_were_shown_is_told_never_the_requester() -> None:
    told = dict(RULE.notices(disclosure()))
    assert sorted(told) == ["health", "police"]              # social_care asked: not told
    assert told["health"]["clauses"] == ["MASH-3.1", "MASH-4.2"]
    assert told["health"]["categories"] == ["address", "cp-plan", "identity"]
    assert told["police"]["clauses"] == ["MASH-3.1"]         # 4.2 does not cover police records
    assert told["police"]["categories"] == ["address", "identity"]
    assert RULE.notices(disclosure(outcome="deny")) == []    # nothing was disclosed
    assert RULE.notices(disclosure(event_type="ReviewDecision")) == []


def test_an_owner_is_told_only_of_the_categories_its_own_records_hold() -> None:
    """A clause releases categories from several agencies at once; health's records hold no
    child protection plan, so health is not told that one was seen."""
    held = NotificationRule(RULE._clauses, {"health": frozenset({"identity", "address"}),
                                            "police": frozenset({"identity", "address"})})
    told = dict(held.notices(disclosure()))
    assert told["health"]["categories"] == ["address", "identity"]
    assert told["police"]["categories"] == ["address", "identity"]


def test_the_shipped_agreement_tells_health_nothing_of_police_or_social_care_categories() -> None:
    from gateway.notify_delivery import notification_rule
    from policies import load_policies

    rule = notification_rule(load_policies())
    triage = disclosure(purpose="mash-triage", matched_rules=["MASH-3.1", "MASH-5.1"],
                        categories_released=["identity", "involvements", "professionals",
                                             "case-status", "police-involvement"])
    told = dict(rule.notices(triage))
    assert told["health"]["categories"] == ["identity", "involvements", "professionals"]
    assert told["police"]["categories"] == ["identity", "involvements", "police-involvement"]


@pytest.mark.parametrize(("clause", "fields", "told"), [
    ("EH-1", {}, []),
    ("EH-1", {"consent_override_reason": "would-prejudice-protection"}, ["health"]),
    ("BG-1", {"source_agencies": ["police"]}, []),
    ("BG-1", {"source_agencies": ["police"], "break_glass": True}, ["police"]),
    ("QUIET", {"break_glass": True}, []),
])
def test_the_clause_setting_decides(clause: str, fields: dict[str, object],
                                    told: list[str]) -> None:
    event = disclosure(matched_rules=[clause], **({"source_agencies": ["health"]} | fields))
    assert [owner for owner, _ in RULE.notices(event)] == told


def test_break_glass_beyond_every_clause_is_told_to_the_owner() -> None:
    event = disclosure(matched_rules=[], break_glass=True, source_agencies=["education"])
    assert [owner for owner, _ in RULE.notices(event)] == ["education"]


def test_a_notification_holds_no_personal_data_beyond_the_person_id() -> None:
    (_, body), *_ = RULE.notices(disclosure(consent_override_reason="cannot-be-given"))
    assert set(body) == {"owner_agency", "person_id", "recorded_at", "event_type", "requester",
                         "purpose", "clauses", "categories", "break_glass", "consent_override"}
    assert set(body["requester"]) == {"agency", "role", "user"}
    text = json.dumps(body)
    for fragment in ("Ellie", "2019", "referral", "cannot-be-given"):
        assert fragment not in text          # the justification and override free text stay out
    assert body["person_id"] == "P000123" and body["requester"]["user"] == "u-7f3a"


def _outbox_checking(path: Path, check: str) -> None:
    """Rebuild the outbox with the rows it holds and ``check`` on every row (a store fault)."""
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE TABLE kept AS SELECT * FROM notifications")
        con.execute("DROP TABLE notifications")
        con.execute(f"CREATE TABLE notifications (seq BIGINT NOT NULL CHECK ({check}), agency "
                    "VARCHAR NOT NULL, recorded_at TIMESTAMPTZ NOT NULL, body VARCHAR NOT NULL, "
                    "PRIMARY KEY (seq, agency))")
        con.execute("INSERT INTO notifications SELECT * FROM kept")
        con.execute("DROP TABLE kept")


def _told(trail: AuditTrail) -> list[tuple[int, str]]:
    with trail.session() as session:
        return [(n["seq"], n["owner_agency"]) for n in notifications_for(session, None,
                                                                          limit=10_000)]


def test_a_reader_sees_the_notifications_of_every_event_committed_before_it_asked(
        tmp_path: Path) -> None:
    trail = AuditTrail.open(tmp_path / "k.audit.duckdb")
    trail.notify_with(RULE)
    receipts = trail.append([disclosure(), disclosure(source_agencies=["social_care"])])
    assert _told(trail) == [(receipts[0].seq, "health"), (receipts[0].seq, "police")]
    (third,) = trail.append([disclosure(source_agencies=["health"])])
    assert _told(trail)[-1] == (third.seq, "health")      # no wait for a background round
    trail.close()


def test_a_disclosure_is_committed_without_waiting_for_the_outbox_and_told_once_it_can_be(
        tmp_path: Path) -> None:
    """The outbox is off the disclosure path: a store that refuses a notification no longer
    refuses the event. Nothing is lost: readers are refused rather than shown a list with a
    hole, and the notifications appear, each once, when the outbox takes them again."""
    path = tmp_path / "k.audit.duckdb"
    trail = AuditTrail.open(path)
    trail.notify_with(RULE)
    first = trail.append([disclosure()])[0].seq
    trail.close()
    _outbox_checking(path, f"seq <= {first}")             # refuses any later notification
    trail = AuditTrail.open(path)
    trail.notify_with(RULE)
    second = trail.append([disclosure()])[0].seq         # committed all the same
    assert trail.size() == 2
    with pytest.raises(AuditUnavailable), trail.session():
        pass                                             # cannot catch up: no partial answer
    trail.close()                                        # a failed last round is not fatal
    _outbox_checking(path, "TRUE")
    for _ in range(2):                                   # opened twice: told once
        trail = AuditTrail.open(path)
        trail.notify_with(RULE)
        assert _told(trail) == [(first, "health"), (first, "police"),
                                (second, "health"), (second, "police")]
        trail.close()
    assert AuditTrail.open(path).verify().ok


def test_events_committed_before_the_notifier_ran_are_told_after_a_restart(
        tmp_path: Path) -> None:
    """The event log is the outbox: events on record whose notifications were never written (a
    crash right after the commit) are told when the trail is next read with the agreements."""
    path = tmp_path / "k.audit.duckdb"
    unnotified = AuditTrail.open(path)                   # as if killed before the notifier ran
    seqs = [r.seq for r in unnotified.append([disclosure(), disclosure(outcome="deny")])]
    unnotified.close()
    trail = AuditTrail.open(path)
    trail.notify_with(RULE)
    assert _told(trail) == [(seqs[0], "health"), (seqs[0], "police")]
    assert _told(trail) == [(seqs[0], "health"), (seqs[0], "police")]   # read again: no copies
    trail.close()


def test_concurrent_appenders_and_readers_see_gap_free_notifications(tmp_path: Path) -> None:
    """Many threads disclose while others read: each appender finds its own notification at
    once, every read is a prefix of the log's notifications (no later one seen before an earlier
    one), and in the end each event is told exactly once to each owner."""
    trail = AuditTrail.open(tmp_path / "k.audit.duckdb")
    trail.notify_with(RULE)
    problems: list[str] = []

    def appender(t: int) -> None:
        for k in range(15):
            (receipt,) = trail.append([disclosure(subject_person_id=f"P{t:02d}{k:04d}",
                                                  source_agencies=["health"])])
            with trail.session() as session:
                mine = notifications_for(session, "health", since_seq=receipt.seq - 1, limit=1)
            if not mine or mine[0]["seq"] != receipt.seq:
                problems.append(f"seq {receipt.seq} not told to its own writer")

    def reader() -> None:
        for _ in range(20):
            seen = [seq for seq, _ in _told(trail)]
            if seen != list(range(len(seen))):
                problems.append(f"a read with a hole: {seen[:5]}…")

    threads = [threading.Thread(target=appender, args=(t,)) for t in range(6)]
    threads += [threading.Thread(target=reader) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert problems == []
    assert _told(trail) == [(seq, "health") for seq in range(90)]
    trail.close()


def test_an_outbox_written_with_its_events_is_kept_as_it_was_after_the_upgrade(
        tmp_path: Path) -> None:
    """A trail from when the outbox was written in each event's transaction (schema 3): its
    notifications stay as they are, none is written again, an event its writer did not tell
    is not told years later, and new events are told as before."""
    path = tmp_path / "k.audit.duckdb"
    with duckdb.connect(str(path)) as con:
        migrate(con, "audit", "audit", "duckdb", target=3)
        untold = event_row(0, GENESIS, disclosure())
        told = event_row(1, str(untold[10]), disclosure(subject_person_id="P000456"))
        con.execute(f"INSERT INTO audit_events VALUES ({', '.join(['?'] * 11)})", list(untold))
        con.execute(f"INSERT INTO audit_events VALUES ({', '.join(['?'] * 11)})", list(told))
        old = outbox_rows(RULE, 1, disclosure(subject_person_id="P000456"))
        for row in old:
            con.execute("INSERT INTO notifications VALUES (?, ?, ?, ?)", list(row))
    trail = AuditTrail.open(path)
    trail.notify_with(RULE)
    with trail.session() as session:
        bodies = [(n["seq"], n["owner_agency"], n["person_id"])
                  for n in notifications_for(session, None)]
    assert bodies == [(1, "health", "P000456"), (1, "police", "P000456")]
    (new,) = trail.append([disclosure(subject_person_id="P000789")])
    assert _told(trail) == [(1, "health"), (1, "police"), (new.seq, "health"),
                            (new.seq, "police")]
    trail.close()


def test_deliveries_retry_with_back_off_then_dead_letter_and_replay(tmp_path: Path) -> None:
    trail = AuditTrail.open(tmp_path / "k.audit.duckdb")
    trail.notify_with(RULE)
    trail.append([disclosure()])
    now = T0
    with trail.session() as session:
        assert [d.agency for d in due_deliveries(session, ["health"], now)] == ["health"]
        delays = []
        for attempt in range(1, 5):
            (due,) = due_deliveries(session, ["health"], now)
            assert due.attempt == attempt
            assert record_attempt(session, due, False, now, "HTTP 503", max_attempts=4,
                                  base_seconds=10) == ("dead" if attempt == 4 else "failed")
            waiting = due_deliveries(session, ["health"], now + dt.timedelta(seconds=1))
            assert waiting == []                            # not before its back-off
            delays.append(session.execute(
                "SELECT next_at FROM notification_deliveries ORDER BY attempt DESC LIMIT 1"
            ).fetchall()[0][0])
            if delays[-1] is not None:
                now = delays[-1]
        gaps = [(b - a).total_seconds() for a, b in zip([T0, *delays[:2]], delays[:3],
                                                        strict=True)]
        assert gaps == [10, 20, 40] and delays[3] is None   # doubling, then given up
        assert due_deliveries(session, ["health"], now + dt.timedelta(days=9)) == []
        (dead,) = dead_letters(session)
        assert dead["id"].endswith(":health") and dead["delivery"] == "dead"
        with pytest.raises(ValueError, match="not dead"):
            replay(session, dead["seq"], "police", now, "admin-1")
        replay(session, dead["seq"], "health", now, "admin-1")
        assert dead_letters(session) == []
        (again,) = due_deliveries(session, ["health"], now)
        assert again.attempt == 6 and again.try_number == 1     # a fresh round of attempts
        assert record_attempt(session, again, True, now, "HTTP 204") == "delivered"
        assert due_deliveries(session, ["health"], now + dt.timedelta(days=9)) == []
        states = {n["owner_agency"]: n["delivery"] for n in notifications_for(session, None)}
    assert states == {"health": "delivered", "police": "pending"}
    trail.close()


def test_a_person_filter_is_done_by_the_store_over_every_id_given(tmp_path: Path) -> None:
    trail = AuditTrail.open(tmp_path / "k.audit.duckdb")
    trail.notify_with(RULE)
    for n in range(30):
        trail.append([disclosure(subject_person_id=f"P{n:06d}")])
    with trail.session() as session:
        found = notifications_for(session, "health", person_ids=["P000003", "P000027"],
                                  newest_first=True, limit=5)
        assert [n["person_id"] for n in found] == ["P000027", "P000003"]
        with pytest.raises(ValueError, match="letters and digits"):
            notifications_for(session, "health", person_ids=["P%"])
    trail.close()
