"""The service's Prometheus metrics, on a registry of its own (one per app)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

__all__ = ["CONTENT_TYPE", "ServiceMetrics"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_LATENCY = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0)
_SIZES = (1, 2, 4, 8, 16, 32, 64, 128, 256, 1024, 4096, 16384, 65536)


class ServiceMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        labels = ["model", "version", "role"]
        self.requests = Counter(
            "knot_requests", "Prediction requests answered", labels, registry=self.registry
        )
        self.errors = Counter(
            "knot_request_errors",
            "Prediction requests that failed, by HTTP status",
            [*labels, "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "knot_request_latency_seconds",
            "Time from request to response",
            labels,
            buckets=_LATENCY,
            registry=self.registry,
        )
        self.batch_rows = Histogram(
            "knot_batch_rows",
            "Rows per model predict call (micro-batches)",
            ["model", "version"],
            buckets=_SIZES,
            registry=self.registry,
        )
        self.batch_requests = Histogram(
            "knot_batch_requests",
            "Requests grouped into one model predict call",
            ["model", "version"],
            buckets=_SIZES,
            registry=self.registry,
        )
        self.queue_depth = Gauge(
            "knot_queue_depth", "Requests waiting for the model", ["role"], registry=self.registry
        )
        self.in_flight = Gauge(
            "knot_requests_in_flight", "Prediction requests being answered", registry=self.registry
        )
        self.swaps = Counter(
            "knot_model_swaps", "Hot swaps to a new model version", ["role"], registry=self.registry
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
