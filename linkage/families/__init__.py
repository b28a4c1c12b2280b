"""Families: people grouped into households from relationships and co-residence."""
