"""Prometheus metrics of the API (one registry per app, served at /metrics)."""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Histogram


@dataclass
class Metrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        self.requests = Counter(
            "nexo_http_requests",
            "HTTP requests by route template, method and status.",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "nexo_http_request_seconds",
            "Time from request to response start, by route template.",
            ["route"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.02, 0.03, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
            registry=self.registry,
        )
        self.audit = Counter(
            "nexo_audit_entries",
            "Audit entries appended, by decision.",
            ["decision"],
            registry=self.registry,
        )
        self.audit_failures = Counter(
            "nexo_audit_failures",
            "Requests failed because their audit entry could not be written.",
            registry=self.registry,
        )
