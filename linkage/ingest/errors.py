"""Errors that stop a run: a problem with a whole file, named so an operator can fix it."""

from __future__ import annotations

__all__ = ["ExtractError"]


class ExtractError(ValueError):
    """A source file (or its configuration) cannot be read as an extract; the message names it."""
