"""`monitor_run(model)`: one pass of monitoring. For each window size in use it computes
performance per version over the recent windows (labels keep arriving for past ones),
the drift of each version's newest windows against that version's reference, stores
them as monitor results, and evaluates the alert rules.

A version's reference is the model's configured one (monitor rules file), or else the
dataset its training run read, found in lineage: model version <- run <- dataset.
Prediction drift compares the window's logged `prediction` and `score` with the
version's own outputs on that reference (scored once, cached under KNOT_HOME); see
knot.monitoring.drift.version_reference. A version served from a feature service also
gets training/serving skew per window: the feature values it was served with against
the point-in-time offline values (knot.monitoring.feature_skew).
"""

from __future__ import annotations

import math
import sys
import time
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from knot.errors import Invalid, KnotError
from knot.monitoring.alerts.events import AlertEvent, evaluate, list_alert_rules
from knot.monitoring.drift.report import ColumnDrift, DriftReport
from knot.monitoring.drift.version_reference import Compared, VersionReference, training_reference
from knot.monitoring.feature_skew import FeatureSkewWindow, VersionSkew, skew_points
from knot.monitoring.monitor_config import get_monitor_settings
from knot.monitoring.performance.window_metrics import WindowMetrics, open_logs, performance
from knot.monitoring.results import ResultPoint, read_results, save_results
from knot.monitoring.windows import parse_window, window_start

__all__ = [
    "DEFAULT_WINDOW",
    "MonitorResult",
    "WindowDrift",
    "latest_drift",
    "monitor_run",
    "training_reference",
]

DEFAULT_WINDOW = "1h"


class WindowDrift(BaseModel):
    """Drift of one version's window: the features, `report.prediction` (the logged
    predictions against the version's own predictions on the reference) and `score`
    (the same for a binary classifier's positive-class probability). Neither counts
    towards the share of drifted features."""

    model_config = ConfigDict(frozen=True)

    version: int
    window: str
    window_start: int
    reference: str
    report: DriftReport
    score: ColumnDrift | None = None


class MonitorResult(BaseModel):
    """What one pass computed: performance per window, drift per version's window, the
    alert events it caused, and why drift was skipped where it was."""

    model_config = ConfigDict(frozen=True)

    model: str
    at_ms: int
    windows: list[str]
    performance: list[WindowMetrics]
    drift: list[WindowDrift]
    events: list[AlertEvent]
    stored: int
    notes: list[str] = []
    skew: list[FeatureSkewWindow] = []


def monitor_run(
    model: str,
    *,
    window: str | None = None,
    lookback: int = 24,
    root: Path | None = None,
    now_ms: int | None = None,
) -> MonitorResult:
    """Compute and store the current windows of `model`, then evaluate its alert rules.

    `window` adds a window size to the ones its rules use (default: the configured one,
    else 1h); `lookback` is how many windows back performance is recomputed.
    """
    if isinstance(lookback, bool) or not isinstance(lookback, int) or lookback < 1:
        raise Invalid(
            f"lookback must be a whole number of windows, 1 or more; got {lookback!r}",
            field="lookback",
        )
    settings = get_monitor_settings(model)
    sizes = sorted(
        {r.window for r in list_alert_rules(model)} | {window or settings.window or DEFAULT_WINDOW},
        key=parse_window,
    )
    now = now_ms if now_ms is not None else int(time.time() * 1000)
    points: list[ResultPoint] = []
    perf: list[WindowMetrics] = []
    drifts: list[WindowDrift] = []
    notes: list[str] = []
    references: dict[int, VersionReference] = {}
    skews: list[FeatureSkewWindow] = []
    bound: dict[int, VersionSkew | None] = {}
    logs = open_logs(model, root)  # the files present now, opened once for the whole pass
    for size in sizes:
        width = parse_window(size)
        since = window_start(now, width) - (lookback - 1) * width
        found = performance(model, window=size, since_ms=since, logs=logs)
        perf.extend(found)
        points.extend(_performance_points(found))
        if settings.segment:
            sliced = performance(
                model, window=size, since_ms=since, segment=settings.segment, logs=logs
            )
            points.extend(_performance_points(sliced))
        for version, start in _drift_windows(model, size, found):
            if version not in bound:
                bound[version] = VersionSkew.find(model, version)
            skewed = _skew(model, bound[version], version, size, start, width, logs, notes)
            if skewed is not None:
                skews.append(skewed)
                points.extend(skew_points(model, skewed, width))
            ref = references.get(version)
            if ref is None:
                ref = references[version] = VersionReference.find(
                    model, version, settings.reference
                )
            if ref.error is not None:
                notes.append(ref.error)
                continue
            try:
                compared = ref.compare(model, version, start, start + width, logs.predictions)
            except KnotError as exc:  # one version's bad reference must not stop the pass
                notes.append(f"no drift for {model} version {version}: {exc.message}")
                continue
            if compared is None:
                continue
            drifts.append(_window_drift(version, size, start, ref.uri, compared))
            points.extend(_drift_points(model, version, size, start, width, compared))
    notes.extend(n for ref in references.values() for n in ref.notes)
    stored = save_results(points)
    events = evaluate(model)
    return MonitorResult(
        model=model,
        at_ms=now,
        windows=sizes,
        performance=perf,
        drift=drifts,
        events=events,
        stored=stored,
        notes=sorted(set(notes)),
        skew=skews,
    )


def _skew(
    model: str,
    found: VersionSkew | None,
    version: int,
    size: str,
    start: int,
    width: int,
    logs: Any,
    notes: list[str],
) -> FeatureSkewWindow | None:
    if found is None:
        return None
    try:
        return found.compare(version, size, start, start + width, logs.predictions)
    except KnotError as exc:  # e.g. a view's source gone: drift and the rest still run
        notes.append(f"no skew for {model} version {version}: {exc.message}")
        return None


def latest_drift(model: str, window: str, root: Path | None = None) -> WindowDrift | None:
    """Drift of the newest stored window, for the version that served most of it (what
    reports draw); None before the first monitor run or without a reference."""
    served = read_results(model, metric="served_rows", window=window)
    if not served:
        return None
    start = max(p.window_start for p in served)
    top = max((p for p in served if p.window_start == start), key=lambda p: p.value or 0)
    ref = VersionReference.find(model, top.version, get_monitor_settings(model).reference)
    if ref.error is not None:
        return None
    from knot.serving.logs.predictions import prediction_log_dataset

    log = prediction_log_dataset(model, root)
    compared = ref.compare(model, top.version, start, top.window_end, log)
    if compared is None:
        return None
    return _window_drift(top.version, window, start, ref.uri, compared)


def _window_drift(version: int, size: str, start: int, uri: str, found: Compared) -> WindowDrift:
    return WindowDrift(
        version=version,
        window=size,
        window_start=start,
        reference=uri,
        report=found.report,
        score=found.score,
    )


def _performance_points(found: list[WindowMetrics]) -> list[ResultPoint]:
    out = []
    for m in found:
        segment = f"{m.segment}={m.segment_value}" if m.segment is not None else ""
        values: dict[str, float | None] = {
            **m.metrics,
            "rows": float(m.rows),
            "served_rows": float(m.served_rows),
            "labeled": float(m.labeled),
        }
        for metric, value in values.items():
            out.append(
                ResultPoint(
                    model=m.model,
                    version=m.version or 0,
                    window=m.window,
                    window_start=m.window_start,
                    window_end=m.window_end,
                    metric=metric,
                    segment=segment,
                    value=value,
                )
            )
    return out


def _drift_windows(model: str, size: str, found: list[WindowMetrics]) -> list[tuple[int, int]]:
    """(version, window start) pairs whose drift is due: each version's newest window
    (still filling), and any recent window with no drift stored yet."""
    have = {
        (p.version, p.window_start) for p in read_results(model, metric="drift.share", window=size)
    }
    newest: dict[int, int] = {}
    for m in found:
        if m.version is not None:
            newest[m.version] = max(newest.get(m.version, m.window_start), m.window_start)
    due = {
        (m.version, m.window_start)
        for m in found
        if m.version is not None
        and ((m.version, m.window_start) not in have or newest[m.version] == m.window_start)
    }
    return sorted(due)


def _drift_points(
    model: str, version: int, size: str, start: int, width: int, found: Compared
) -> list[ResultPoint]:
    """drift.share and drift.dataset over the features, drift.<feature> (the statistic)
    and drift.<feature>.drifted (1 when its test rejected, else 0) per feature, and the
    same for drift.prediction / drift.score, the outputs (stored last, so they win over a
    feature of the same name). Each point's detail names the test that produced it."""
    report = found.report

    def point(
        metric: str, value: float | None, detail: dict[str, Any] | None = None
    ) -> ResultPoint:
        return ResultPoint(
            model=model,
            version=version,
            window=size,
            window_start=start,
            window_end=start + width,
            metric=metric,
            value=value,
            detail=detail,
        )

    out = [
        point("drift.share", report.share_drifted, {"drifted": report.drifted_columns}),
        point("drift.dataset", 1.0 if report.dataset_drifted else 0.0),
    ]
    outputs = [("prediction", report.prediction), ("score", found.score)]
    for name, c in [*((c.column, c) for c in report.columns), *outputs]:
        if c is None:
            continue
        detail = {
            "test": c.test,
            "p_value": c.p_value,
            "threshold": c.threshold,
            "drifted": c.drifted,
            "kind": c.kind,
        }
        out.append(point(f"drift.{name}", _finite(c.statistic), detail))
        # the verdict of the test beside its statistic, so a rule can alert on 0/1
        out.append(point(f"drift.{name}.drifted", 1.0 if c.drifted else 0.0, detail))
    return out


def _finite(value: float | None) -> float | None:
    """Infinite statistics (a category the reference never saw) as the largest float,
    so a rule on them still fires."""
    if value is None or math.isnan(value):
        return None
    return max(-sys.float_info.max, min(value, sys.float_info.max))
