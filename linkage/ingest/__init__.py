"""Ingest: agency extracts (CSV, Parquet, per-source YAML mapping) onto the canonical contract."""

from linkage.ingest.errors import ExtractError
from linkage.ingest.reader import IngestResult, read_sources
from linkage.ingest.rejects import Reject, write_reject_report

__all__ = ["ExtractError", "IngestResult", "Reject", "read_sources", "write_reject_report"]
