"""What became of each scored pair, in one vocabulary for clustering, the index and review.

The values are the strings stored in the index's ``edges.outcome`` column and read by the review
queue, so they are part of the index format: renaming a member is a migration, not a refactor.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["CONSTRAINT_PREFIX", "Outcome", "constraint"]

#: A pair a hard constraint kept apart is stored as ``constraint:<reason>``.
CONSTRAINT_PREFIX = "constraint:"


class Outcome(StrEnum):
    """One pair's outcome (constraints aside: see ``constraint``)."""

    BELOW_THRESHOLD = "below_threshold"
    LINKED = "linked"
    #: One of the pair is a record that fits two people; a reviewer decides.
    HELD_AMBIGUOUS = "held:ambiguous"
    #: Scored high on what a household shares (surname, address) and nothing personal.
    INSUFFICIENT_PERSONAL_EVIDENCE = "insufficient-personal-evidence"
    #: As strong, agreeing on everything but the given name, and nothing in the data shows two
    #: children (no register lists both, neither name is carried by records of its own): one
    #: child under a preferred or middle name, or a twin whose sibling is missing; a reviewer
    #: decides, never the engine alone.
    REVIEW_GIVEN_NAME_ONLY = "review:given-name-only"
    LINKED_NHS_NUMBER_SET_ASIDE = "linked:nhs-number-of-another-child-set-aside"
    # Links made by a rule rather than by the pair's own score.
    LINKED_SAME_RELATIVE = "linked:same-relative"
    LINKED_EXPECTED_BIRTH = "linked:expected-birth"
    LINKED_HOUSEHOLD_PARENT = "linked:household-parent"
    LINKED_PERSON_PROFILE = "linked:person-profile"
    LINKED_ONLY_NAMESAKE_AT_HOUSE = "linked:only-namesake-at-house"
    #: Scored below the link threshold by the model, which read a name typed into the other
    #: box as a disagreement; linked once that name was read as the agreement it is
    #: (``clustering.crossed_name_bits``). The stored probability is the model's own.
    LINKED_NAME_IN_OTHER_BOX = "linked:name-in-the-other-box"


def constraint(reason: str) -> str:
    """The outcome of a pair kept apart by the hard constraint ``reason``."""
    return CONSTRAINT_PREFIX + reason
