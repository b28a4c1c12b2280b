"""Access activity for IG's charts: per day by agency and purpose, break-glass and consent
overrides by user, over a period passed in."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from audit import AuditEvent, AuditTrail
from audit.activity import access_activity


def at(day: int, hour: int = 10) -> dt.datetime:
    return dt.datetime(2026, 11, day, hour, tzinfo=dt.UTC)


def read(day: int, agency: str, purpose: str, **extra: object) -> AuditEvent:
    return AuditEvent(event_type="PatientRead", outcome="permit", recorded_at=at(day),
                      subject_person_id="P1", user_id=extra.pop("user", "u1"), agency=agency,
                      purpose=purpose, **extra)  # type: ignore[arg-type]


@pytest.fixture()
def trail(tmp_path: Path) -> AuditTrail:
    opened = AuditTrail.open(tmp_path / "k.audit.duckdb")
    opened.append([
        read(1, "police", "s47-enquiry"), read(1, "police", "s47-enquiry"),
        read(2, "health", "mash-triage", consent_override_reason="would-prejudice-protection"),
        read(3, "police", "missing-child", break_glass=True, user="p.officer"),
        read(9, "police", "s47-enquiry"),                               # outside the period
        AuditEvent(event_type="PatientRead", outcome="deny", recorded_at=at(2),
                   subject_person_id="P2", agency="education", purpose="s47-enquiry"),
        AuditEvent(event_type="AuthorizationDecision", outcome="permit", recorded_at=at(2),
                   user_id="ig", agency="social_care", purpose="ig-oversight"),
    ])
    return opened


def test_counts_per_day_by_agency_and_purpose_within_the_period(trail: AuditTrail) -> None:
    found = access_activity(trail.cursor(), dt.date(2026, 11, 1), dt.date(2026, 11, 3))
    assert found.days == ("2026-11-01", "2026-11-02", "2026-11-03")
    # Refusals and IG's own reads are not accesses to a child's records.
    assert found.by_agency == {"health": (0, 1, 0), "police": (2, 0, 1)}
    assert found.by_purpose == {"mash-triage": (0, 1, 0), "missing-child": (0, 0, 1),
                                "s47-enquiry": (2, 0, 0)}
    assert found.break_glass_by_user == (("p.officer", 1),)
    assert found.consent_overrides == (("u1: would-prejudice-protection", 1),)
    trail.close()


def test_a_period_that_ends_before_it_starts_is_refused(trail: AuditTrail) -> None:
    with pytest.raises(ValueError, match="ends"):
        access_activity(trail.cursor(), dt.date(2026, 11, 3), dt.date(2026, 11, 1))
    trail.close()
