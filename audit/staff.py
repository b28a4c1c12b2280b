"""IG's own records beside the trail: the staff register and break-glass reviews.

The staff register says which users are themselves people in the index, so the anomaly rules can
spot staff reading their own, their family's or a colleague's records. A break-glass review is an
audit event of its own (type ``BreakGlass``, ``reference`` = the reviewed event's sequence number),
so the review is as tamper-evident as the access it reviews.
"""

from __future__ import annotations

import duckdb

from audit.events import AuditEvent
from audit.trail import AuditTrail
from stores.database import Session

__all__ = ["add_staff", "read_staff_register", "record_break_glass_review"]

_REGISTER = """
CREATE TABLE IF NOT EXISTS staff_register (
    user_id VARCHAR PRIMARY KEY,
    person_id VARCHAR NOT NULL,
    added_at TIMESTAMPTZ NOT NULL DEFAULT current_timestamp
);
"""


def add_staff(con: duckdb.DuckDBPyConnection | Session, user_id: str, person_id: str) -> None:
    """Register (or re-register) a member of staff; on either engine (PostgreSQL has the table
    from the audit migrations)."""
    if not getattr(con, "postgres", False):
        con.execute(_REGISTER)
    con.execute("INSERT INTO staff_register (user_id, person_id) VALUES (?, ?) "
                "ON CONFLICT (user_id) DO UPDATE SET person_id = EXCLUDED.person_id",
                [user_id, person_id])


def read_staff_register(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    exists = con.execute("SELECT count(*) FROM information_schema.tables "
                         "WHERE table_name = 'staff_register'").fetchall()[0][0]
    if not exists:
        return {}
    return dict(con.execute("SELECT user_id, person_id FROM staff_register").fetchall())


def record_break_glass_review(trail: AuditTrail, seq: int, reviewer: str, finding: str) -> None:
    rows = trail.cursor().execute(
        "SELECT json_extract(event_json, '$.break_glass')::BOOLEAN FROM audit_events "
        "WHERE seq = ?", [seq]).fetchall()
    if not rows or not rows[0][0]:
        raise ValueError(f"event {seq} is not a break-glass access")
    if len(finding.strip()) < 10:
        raise ValueError("a review needs its finding (at least 10 characters)")
    trail.append([AuditEvent(event_type="BreakGlass", action="U", outcome="permit",
                             user_id=reviewer, role="ig-officer", reference=str(seq),
                             justification=finding.strip(), detail="break-glass reviewed")])
