"""Application logs as JSON lines, with personal data removed before anything is written.

Names, dates of birth, identifiers and queries belong in the audit trail only. The redaction is
a processor in the structlog chain, so no call site can forget it.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import structlog

__all__ = ["configure_logging", "redact_personal_data"]

_PERSONAL_KEYS = frozenset({
    "name", "given_name", "family_name", "middle_names", "dob", "nhs_number", "upn", "postcode",
    "address", "query", "token", "authorization", "justification", "local_id",
})
_PATTERNS = (
    re.compile(r"\b\d{3}[ -]?\d{3}[ -]?\d{4}\b"),           # NHS numbers
    re.compile(r"\b[A-Z]\d{11}[0-9A-Z]\b"),                   # UPNs
    re.compile(r"\b[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}\b", re.I),  # postcodes
    re.compile(r"\b(19|20)\d{2}-\d{2}-\d{2}\b"),              # ISO dates
    re.compile(r"\beyJ[\w-]+\.[\w-]+\.[\w-]*"),                # JWTs
)


def _scrub(value: Any) -> Any:
    if isinstance(value, str):
        for pattern in _PATTERNS:
            value = pattern.sub("[redacted]", value)
        return value
    return value


def redact_personal_data(_: Any, __: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    return {
        key: "[redacted]" if key.lower() in _PERSONAL_KEYS else _scrub(value)
        for key, value in event_dict.items()
    }


def configure_logging(level: int = logging.INFO) -> None:
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            redact_personal_data,
            structlog.processors.JSONRenderer(),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
    )
