"""Prometheus metrics for operators: traffic, latency, decisions, audit writes.

Labels are route templates, HTTP methods and statuses, purpose codes and decision outcomes — codes
from the sharing agreement, never a person, an identifier or a value from a request. A label with
unbounded values (a raw path) would also be a memory leak, so routes are templates or
``unmatched``.

Several uvicorn workers are several processes, and a scrape reaches one of them: with
``PROMETHEUS_MULTIPROC_DIR`` set (``kinlink serve --workers N`` sets it), every worker writes its
values to files there and ``/metrics`` adds them up across workers.
"""

from __future__ import annotations

import os

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

__all__ = ["GatewayMetrics"]

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class GatewayMetrics:
    """One set of metrics per application (a registry each, so tests and workers never mix)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "kinlink_http_requests_total", "HTTP requests answered.",
            ["method", "route", "status"], registry=self.registry)
        self.latency = Histogram(
            "kinlink_http_request_seconds", "Time to answer, by route.", ["route"],
            buckets=_LATENCY_BUCKETS, registry=self.registry)
        self.decisions = Counter(
            "kinlink_policy_decisions_total", "Sharing decisions, by purpose and outcome.",
            ["purpose", "outcome"], registry=self.registry)
        self.audit_write = Histogram(
            "kinlink_audit_write_seconds", "Time to write an audit batch durably.",
            buckets=_LATENCY_BUCKETS, registry=self.registry)
        self.audit_failures = Counter(
            "kinlink_audit_write_failures_total", "Audit writes that failed (the request got 503).",
            registry=self.registry)
        self.review_queue = Gauge(
            "kinlink_review_queue_length", "Uncertain pairs in the current index awaiting review.",
            registry=self.registry, multiprocess_mode="max")
        self.match_grades = Counter(
            "kinlink_match_candidates_total", "Candidates returned by identity resolution, by grade.",
            ["grade"], registry=self.registry)

    def exposition(self) -> bytes:
        """The text a scrape gets: this process's metrics, or every worker's added up."""
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            combined = CollectorRegistry()
            MultiProcessCollector(combined)
            return generate_latest(combined)
        return generate_latest(self.registry)
