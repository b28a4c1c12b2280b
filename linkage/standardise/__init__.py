"""Standardisation: identifiers, names, dates, postcodes and sex codes to one form each."""
