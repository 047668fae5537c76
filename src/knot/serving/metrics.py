"""The service's Prometheus metrics, in one process or summed over several workers.

Every Service registers its metrics on a registry of its own (`ServiceMetrics.registry`;
monitor plugins get the same registry to register theirs on), so several in-process apps
never collide. With one worker /metrics renders that registry. With several,
`knot serve` calls `use_multiprocess(folder)` before the workers start: every value then
lives in a per-process file of that folder (prometheus_client's multiprocess mode) and
/metrics on any worker reads all the files, so counts are totals over the workers.
Gauges say how they combine: queue depth, requests in flight and workers are summed over
the live workers; a plugin's gauge should pass `multiprocess_mode="mostrecent"` or
"max". `worker_exited(pid)` drops a dead worker's live gauges; its counts stay.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

__all__ = [
    "CONTENT_TYPE",
    "MULTIPROC_ENV",
    "ServiceMetrics",
    "multiprocess_dir",
    "use_multiprocess",
    "worker_exited",
]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
_LATENCY = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0)
_SIZES = (1, 2, 4, 8, 16, 32, 64, 128, 256, 1024, 4096, 16384, 65536)


def use_multiprocess(folder: Path) -> None:
    """Keep this process's (and its forked workers') metric values in files under
    `folder`, an empty folder owned by one service. Call it before any Service exists."""
    from prometheus_client import values

    os.environ[MULTIPROC_ENV] = str(folder)
    # prometheus_client picks the value class when it is first imported; pick again
    values.ValueClass = values.MultiProcessValue()


def multiprocess_dir() -> str | None:
    """The folder of the service's metric files, when its workers share them."""
    return os.environ.get(MULTIPROC_ENV) or None


def worker_exited(pid: int) -> None:
    """Forget the live gauges of worker `pid` (its counters and histograms still count)."""
    folder = multiprocess_dir()
    if folder is not None:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid, folder)


class ServiceMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._exposed = self.registry
        folder = multiprocess_dir()
        if folder is not None:
            from prometheus_client import multiprocess

            self._exposed = CollectorRegistry()
            multiprocess.MultiProcessCollector(self._exposed, path=folder)
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
            "knot_queue_depth",
            "Requests waiting for the model",
            ["role"],
            registry=self.registry,
            multiprocess_mode="livesum",
        )
        self.in_flight = Gauge(
            "knot_requests_in_flight",
            "Prediction requests being answered",
            registry=self.registry,
            multiprocess_mode="livesum",
        )
        self.swaps = Counter(
            "knot_model_swaps", "Hot swaps to a new model version", ["role"], registry=self.registry
        )
        self.workers = Gauge(
            "knot_workers",
            "Worker processes answering requests",
            registry=self.registry,
            multiprocess_mode="livesum",
        )
        self.workers.set(1)
        self._children: dict[tuple[int, tuple[str, ...]], Any] = {}

    def child(self, metric: Any, *labels: str) -> Any:
        """`metric.labels(*labels)`, looked up once: `labels` validates and locks on every
        call, which a request pays several times. Made on first use, as `labels` does."""
        key = (id(metric), labels)
        found = self._children.get(key)
        if found is None:
            found = self._children[key] = metric.labels(*labels)
        return found

    def render(self) -> bytes:
        """The exposition text: this process's metrics, or every worker's."""
        return generate_latest(self._exposed)
