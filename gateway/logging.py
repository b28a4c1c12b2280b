"""Application logs as JSON lines, with personal data removed before anything is written.

Names, dates of birth, identifiers and queries belong in the audit trail only. The redaction is
a processor in the structlog chain, so no call site can forget it; the standard-library loggers
(uvicorn's, and any library's) are routed through the same chain, and an exception is logged by
its type and the place it was raised, never its message or local values, which can hold a record.
"""

from __future__ import annotations

import logging
import re
import sys
import traceback
from collections.abc import MutableMapping
from typing import Any

import structlog

__all__ = ["configure_logging", "redact_personal_data"]

_PERSONAL_KEYS = frozenset({
    "name", "given_name", "family_name", "middle_names", "dob", "nhs_number", "upn", "postcode",
    "address", "query", "token", "authorization", "justification", "local_id",
    "former_upn", "former_family_name", "uprn", "expected_dob",   # index schema 3 (issue 16)
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


def exception_without_values(_: Any, __: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    """Replace ``exc_info`` by the exception's type and where it was raised.

    A message such as ``KeyError('health:H123')`` or a SQL error quoting a row is personal data;
    the type and the frames are what an operator needs to find the bug.
    """
    exc_info = event_dict.pop("exc_info", None)
    if exc_info:
        if exc_info is True:
            exc_info = sys.exc_info()
        if isinstance(exc_info, BaseException):
            exc_info = (type(exc_info), exc_info, exc_info.__traceback__)
        if exc_info[0] is not None:
            frames = traceback.extract_tb(exc_info[2])[-5:]
            event_dict["error"] = exc_info[0].__name__
            event_dict["where"] = [f"{f.filename.rsplit('/', 2)[-1]}:{f.lineno} {f.name}"
                                   for f in frames]
    return event_dict


def configure_logging(level: int | str = logging.INFO) -> None:
    if isinstance(level, str):
        level = logging.getLevelNamesMapping()[level.upper()]
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        exception_without_values,
        redact_personal_data,
    ]
    structlog.configure(
        processors=[*shared, structlog.processors.JSONRenderer()],
        wrapper_class=structlog.make_filtering_bound_logger(level),
    )
    handler = logging.StreamHandler()
    handler.setFormatter(structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[structlog.stdlib.add_logger_name, *shared],
        pass_foreign_args=True,
        processors=[_drop_message_args, structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    structlog.processors.JSONRenderer()],
    ))
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(logging.WARNING)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers = []
        logger.propagate = True
    logging.getLogger("uvicorn.error").setLevel(logging.INFO)


def _drop_message_args(_: Any, __: str,
                       event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """A library's log message is a template plus values; keep it only when it had no values."""
    record = event_dict.get("_record")
    if event_dict.pop("positional_args", None) and record is not None:
        event_dict["event"] = record.msg if isinstance(record.msg, str) else "message"
    return event_dict
