"""Linkage: agency extracts to a shared child identifier and a shared family identifier.

Stages, each in its own subpackage: ``ingest`` (read extracts, reject report), ``standardise``
(identifiers, names, dates, postcodes), ``model`` (the Splink model: settings, training, report),
``persons`` (prediction, constrained clustering, grades), ``families`` (households), ``index`` (the
identity index store) and ``synth`` (synthetic populations with known truth).
"""
