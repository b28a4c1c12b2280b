"""Audit: the append-only, tamper-evident trail of every disclosure decision."""
