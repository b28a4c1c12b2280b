"""Policies: purpose-based sharing agreements as declarative files, and the decisions made from them."""
