"""Monitor plugins for the tests (importable by service subprocesses through PYTHONPATH)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Gauge

from knot.serving.config import ServeConfig
from knot.serving.plugins import ObservedBatch


class RowCounter:
    """Keeps every batch it observes and counts their rows in a gauge."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.batches: list[ObservedBatch] = []
        self.rows = Gauge(
            "knot_test_plugin_rows",
            "Rows the test plugin observed",
            registry=registry,
            multiprocess_mode="max",
        )

    def observe(self, batch: ObservedBatch) -> None:
        self.batches.append(batch)
        self.rows.inc(len(batch.predictions))


class Broken:
    def observe(self, batch: ObservedBatch) -> None:
        raise RuntimeError("this plugin always fails")


def factory(config: ServeConfig, registry: CollectorRegistry) -> RowCounter:
    return RowCounter(registry)


def broken(config: ServeConfig, registry: CollectorRegistry) -> Broken:
    return Broken()


def no_observe(config: ServeConfig, registry: CollectorRegistry) -> object:
    return 42
