"""Adding and disabling staff accounts, as one decision and one audit record each.

The command line is a thin face over these two functions: the role is checked against the
agreements, the change is written to the audit trail first (who may sign in is part of the
accountability record, and a change the trail cannot record is not made), and then stored.
"""

from __future__ import annotations

from datetime import datetime

from audit import AuditEvent, AuditTrail, AuditUnavailable
from gateway.settings import GatewaySettings
from gateway.users import StaffRegistry, StaffUser, StaffUserError, purposes_for_role

__all__ = ["MIN_PASSWORD_LENGTH", "add_staff_user", "disable_staff_user"]

#: NCSC guidance favours length over complexity rules; twelve characters is the floor here.
MIN_PASSWORD_LENGTH = 12
CLIENT_ID = "kinlink-cli"


def add_staff_user(settings: GatewaySettings, username: str, display_name: str, agency: str,
                   role: str, purposes: list[str] | None, password: str | None,
                   operator: str) -> tuple[StaffUser, str]:
    """Register ``username``; returns the user and their password (generated unless given)."""
    allowed = purposes_for_role(settings.policies(), role, agency)
    chosen = purposes if purposes is not None else allowed
    beyond = [p for p in chosen if p not in allowed]
    if beyond or not chosen:
        raise StaffUserError(f"purpose {beyond[0] if beyond else '(none)'!r} is not one the "
                             f"agreements allow role {role!r} at {agency!r} "
                             f"(allowed: {', '.join(allowed)})")
    registry = StaffRegistry(settings.users_path)
    if any(u.username == username for u in registry.list()):
        raise StaffUserError(f"user {username!r} is already registered")
    _record(settings, AuditEvent(
        event_type="StaffAccountChange", action="C", outcome="permit", client_id=CLIENT_ID,
        user_id=operator, agency=agency, role=role, reference=username,
        detail=f"staff user {username} added; purposes: {', '.join(chosen)}"))
    issued = registry.add(username, display_name, agency, role, chosen, password, replace=False)
    return StaffUser(username, display_name, agency, role, tuple(chosen)), issued


def disable_staff_user(settings: GatewaySettings, username: str, at: datetime,
                       operator: str) -> StaffUser:
    """Disable ``username`` from ``at``; their sessions end at their next request."""
    registry = StaffRegistry(settings.users_path)
    found = next((u for u in registry.list() if u.username == username), None)
    if found is None:
        raise StaffUserError(f"no user {username!r} is registered")
    if found.disabled_at is not None:
        raise StaffUserError(f"user {username!r} was already disabled at {found.disabled_at}")
    _record(settings, AuditEvent(
        event_type="StaffAccountChange", action="U", outcome="permit", client_id=CLIENT_ID,
        user_id=operator, agency=found.agency, role=found.role, reference=username,
        recorded_at=at, detail=f"staff user {username} disabled"))
    return registry.disable(username, at)


def _record(settings: GatewaySettings, event: AuditEvent) -> None:
    try:
        trail = AuditTrail.open(settings.audit_path, key_path=settings.audit_key)
    except AuditUnavailable as exc:
        raise StaffUserError(
            f"{exc}. Nothing was changed. A DuckDB audit trail is held by a running "
            "`kinlink serve`: stop it first, or keep the stores in PostgreSQL, where the "
            "command and the server write the trail side by side") from exc
    try:
        trail.append([event])
    finally:
        trail.close()
