"""What can go wrong opening or writing the identity index, on either engine."""

from __future__ import annotations

__all__ = ["IndexNotFound", "IndexUnavailable", "LinkInProgress"]


class IndexNotFound(FileNotFoundError):
    """There is no identity index at the location given: run ``kinlink link`` first."""


class IndexUnavailable(RuntimeError):
    """The index's PostgreSQL database cannot be reached."""


class LinkInProgress(RuntimeError):
    """Another link run holds this index's lock."""
