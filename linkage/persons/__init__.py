"""Persons: pairwise scores to people, under hard constraints, with a grade for every link."""
