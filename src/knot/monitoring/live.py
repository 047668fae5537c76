"""Live monitoring gauges on a prediction service's /metrics (a serving plugin):

    knot serve models:/churn@champion --plugin knot.monitoring.live:factory

- knot_drift_score{model,feature,test}: drift of the current window's champion traffic,
  from counts over the reference's bins (PSI for numbers, chi-square or Jensen-Shannon
  for categories) updated with every logged batch, no batch job needed; and, refreshed
  from the stored monitor results, the batch tests (ks, wasserstein, ...) of the newest
  window `knot monitor run` computed, including prediction drift as
  feature="prediction" and feature="score" (the logged outputs against the version's
  own outputs on its reference).
- knot_drift_share{model,version}: the share of drifted features of the live window.
- knot_performance{model,version,metric}: the newest stored window's performance.

Gauges are "mostrecent" across worker processes. The reference is the model's
configured one or its training data (as `knot monitor run` finds it); a version with
neither gets no live drift. KNOT_MONITOR_REFRESH sets the seconds between reads of the
stored results (default 15).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import Any

from prometheus_client import CollectorRegistry, Gauge

from knot.monitoring.drift.accumulate import DriftAccumulator
from knot.monitoring.windows import parse_window, window_start
from knot.serving.columns import Columns
from knot.serving.config import ServeConfig
from knot.serving.plugins import ObservedBatch

__all__ = ["LiveMonitor", "factory"]

log = logging.getLogger("knot.monitoring")
_PERFORMANCE_SKIP = ("drift.",)


class LiveMonitor:
    """Counts champion traffic over each version's reference bins; sets the gauges."""

    def __init__(
        self, config: ServeConfig, registry: CollectorRegistry, refresh_seconds: float = 15.0
    ) -> None:
        self.model = _model_name(config.model)
        self.drift = Gauge(
            "knot_drift_score",
            "Drift statistic of a feature's current window against the reference",
            ["model", "feature", "test"],
            registry=registry,
            multiprocess_mode="mostrecent",
        )
        self.drift_share = Gauge(
            "knot_drift_share",
            "Share of drifted features in the current window (live counts)",
            ["model", "version"],
            registry=registry,
            multiprocess_mode="mostrecent",
        )
        self.performance = Gauge(
            "knot_performance",
            "Performance metric of the newest monitored window (knot monitor run)",
            ["model", "version", "metric"],
            registry=registry,
            multiprocess_mode="mostrecent",
        )
        self._lock = threading.Lock()
        self._windows: dict[int, tuple[int, DriftAccumulator] | None] = {}
        self._width: int | None = None
        self._stop = threading.Event()
        self._refresh = threading.Thread(
            target=self._refresh_loop,
            args=(refresh_seconds,),
            name="knot-live-monitor",
            daemon=True,
        )
        self._refresh.start()

    def observe(self, batch: ObservedBatch) -> None:
        from knot.serving.columns import TENSOR

        if batch.role != "champion" or TENSOR in batch.columns:
            return  # champion traffic only (what callers got); tensors have no features
        name, version = batch.served.name, batch.served.version
        self.model = self.model or name
        with self._lock:
            width = self._window_width(name)
            start = window_start(int(time.time() * 1000), width)
            if version in self._windows:
                slot = self._windows[version]
            else:
                slot = self._new_accumulator(name, version, start, _table(batch.columns))
            if slot is None:
                return
            began, acc = slot
            if began != start:  # a new window starts from empty counts
                acc = acc.window()
            # only the counted columns are converted to Arrow
            counted = {n: batch.columns[n] for n in acc.columns if n in batch.columns}
            acc.update(_table(counted or batch.columns))
            self._windows[version] = (start, acc)
            report = acc.report()
        for column in report.columns:
            if column.statistic is not None:
                self.drift.labels(name, column.column, column.test).set(column.statistic)
        self.drift_share.labels(name, str(version)).set(report.share_drifted)

    def _window_width(self, model: str) -> int:
        if self._width is None:
            from knot.monitoring.monitor_config import get_monitor_settings
            from knot.monitoring.monitor_run import DEFAULT_WINDOW

            self._width = parse_window(get_monitor_settings(model).window or DEFAULT_WINDOW)
        return self._width

    def _new_accumulator(
        self, model: str, version: int, start: int, table: Any
    ) -> tuple[int, DriftAccumulator] | None:
        from knot.monitoring.drift.batch import Reference
        from knot.monitoring.drift.samples import comparable_columns, load_table
        from knot.monitoring.monitor_config import get_monitor_settings
        from knot.monitoring.monitor_run import training_reference

        uri = get_monitor_settings(model).reference or training_reference(model, version)
        slot: tuple[int, DriftAccumulator] | None = None
        if uri is None:
            log.warning("no live drift for %s version %d: no reference dataset", model, version)
        else:
            try:
                current = load_table(table, "current")
                reference = load_table(uri, "reference")
                names = comparable_columns(reference, current)
                slot = (start, DriftAccumulator(Reference.from_table(reference, names), names))
            except Exception as exc:  # the service keeps answering without live drift
                log.warning("no live drift for %s version %d: %s", model, version, exc)
        self._windows[version] = slot
        return slot

    def _refresh_loop(self, seconds: float) -> None:
        while not self._stop.is_set():
            if self.model:
                try:
                    self.refresh()
                except Exception as exc:  # a store that is down must not stop the service
                    log.warning("could not read monitor results of %s: %s", self.model, exc)
            self._stop.wait(seconds)

    def refresh(self) -> None:
        """Set the gauges from the newest stored monitor results."""
        from knot.monitoring.results import latest_results

        assert self.model is not None
        newest: dict[tuple[int, str], Any] = {}
        for p in latest_results(self.model):
            key = (p.version, p.metric)
            if key not in newest or p.window_start > newest[key].window_start:
                newest[key] = p
        for (version, metric), p in newest.items():
            if p.value is None:
                continue
            if metric.startswith("drift.") and p.detail and "test" in p.detail:
                feature = metric.removeprefix("drift.")
                self.drift.labels(self.model, feature, p.detail["test"]).set(p.value)
            elif not metric.startswith(_PERFORMANCE_SKIP):
                self.performance.labels(self.model, str(version), metric).set(p.value)

    def close(self) -> None:
        self._stop.set()


def _model_name(uri: str) -> str | None:
    from knot.errors import Invalid
    from knot.refs import parse_model_ref

    try:
        return parse_model_ref(uri).name
    except Invalid:
        return None  # a kit or other source: named by the first batch


def _table(columns: Columns) -> Any:
    """Input columns as the prediction log types them, as a `features` struct."""
    import pyarrow as pa

    from knot.serving.logs.prediction_table import features_array

    return pa.table({"features": features_array(columns)})


def factory(config: ServeConfig, registry: CollectorRegistry) -> LiveMonitor:
    """The plugin entry point: `--plugin knot.monitoring.live:factory`."""
    seconds = float(os.environ.get("KNOT_MONITOR_REFRESH", "15"))
    return LiveMonitor(config, registry, refresh_seconds=max(0.1, seconds))
