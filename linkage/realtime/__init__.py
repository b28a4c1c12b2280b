"""Real-time matching: one record's demographics and identifiers → candidate persons, scored by
the saved Splink model evaluated directly on indexed candidates (no SQL engine per query)."""

from linkage.realtime.matcher import Candidate, FieldWeight, Matcher

__all__ = ["Candidate", "FieldWeight", "Matcher"]
