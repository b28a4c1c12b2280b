"""The grade bands every answer about a link uses: a batch run's record grades and a real-time
match's candidate grades are one scale, so "certain" means the same wherever a user reads it.

A shared valid identifier (NHS number, permanent UPN) is certain whatever the score; otherwise
the probability decides. One copy, imported by both, so the two cannot drift.
"""

from __future__ import annotations

from typing import Final, Literal

__all__ = ["CERTAIN_AT", "PROBABLE_AT", "Grade", "grade_for"]

Grade = Literal["certain", "probable", "possible"]

#: At or above this probability a link is certain (about one false link in ten thousand).
CERTAIN_AT: Final = 0.9999
#: At or above this, probable; anything below is only possible.
PROBABLE_AT: Final = 0.99


def grade_for(probability: float, certain_by_identifier: bool = False) -> Grade:
    """The grade of a link with this probability (certain outright on a shared identifier)."""
    if certain_by_identifier or probability >= CERTAIN_AT:
        return "certain"
    if probability >= PROBABLE_AT:
        return "probable"
    return "possible"
