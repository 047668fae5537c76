"""The live gauges plugin: champion batches counted over the reference's bins give
knot_drift_score per feature; stored monitor results give knot_performance and the
batch tests' drift scores."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from prometheus_client import CollectorRegistry

from knot.monitoring.live import LiveMonitor, factory
from knot.monitoring.results import ResultPoint, save_results
from knot.serving.config import ServeConfig
from knot.serving.plugins import ObservedBatch
from knot.serving.sources import load_source
from tests.monitoring.test_run import _training_frame, churn  # noqa: F401  (fixture)


def _batch(shift: float, role: str = "champion", n: int = 400) -> ObservedBatch:
    rng = np.random.default_rng(5)
    columns = {
        "tenure": rng.normal(20 + shift, 5, n),
        "plan": rng.choice(["basic", "pro"], n).astype(object),
        "seats": rng.integers(1, 10, n),
    }
    served = load_source("models:/churn/1")
    predictions = (columns["tenure"] > 20).astype(np.int64)
    return ObservedBatch(served, role, columns, predictions, [f"r{i}" for i in range(n)])


@pytest.fixture
def live(churn: Path) -> Iterator[tuple[LiveMonitor, CollectorRegistry]]:  # noqa: F811
    registry = CollectorRegistry()
    monitor = LiveMonitor(ServeConfig(model="models:/churn@champion"), registry, 3600)
    yield monitor, registry
    monitor.close()


def _psi(registry: CollectorRegistry, feature: str) -> float | None:
    labels = {"model": "churn", "feature": feature, "test": "psi"}
    return registry.get_sample_value("knot_drift_score", labels)


def test_live_drift_from_counts(live: tuple[LiveMonitor, CollectorRegistry]) -> None:
    monitor, registry = live
    monitor.observe(_batch(0.0))
    quiet = _psi(registry, "tenure")
    monitor.observe(_batch(10.0))  # the same window: counts add up and the shift shows
    shifted = _psi(registry, "tenure")
    assert quiet is not None and shifted is not None
    assert quiet < 0.1 < shifted
    share = registry.get_sample_value("knot_drift_share", {"model": "churn", "version": "1"})
    assert share is not None and share > 0
    plan = {"model": "churn", "feature": "plan", "test": "jensenshannon"}
    assert registry.get_sample_value("knot_drift_score", plan) is not None


def test_shadow_batches_are_not_counted(live: tuple[LiveMonitor, CollectorRegistry]) -> None:
    monitor, registry = live
    monitor.observe(_batch(10.0, role="shadow"))
    assert _psi(registry, "tenure") is None


def test_gauges_from_stored_results(churn: Path) -> None:  # noqa: F811
    registry = CollectorRegistry()
    monitor = factory(ServeConfig(model="models:/churn@champion"), registry)
    monitor.close()
    common = {"model": "churn", "version": 1, "window": "1h", "window_end": 3_600_000}
    save_results(
        [
            ResultPoint(**common, window_start=0, metric="accuracy", value=0.5),
            ResultPoint(
                **common,
                window_start=0,
                metric="drift.tenure",
                value=0.4,
                detail={"test": "wasserstein"},
            ),
            ResultPoint(**common, window_start=0, metric="drift.share", value=0.3),
        ]
    )
    monitor.refresh()
    labels = {"model": "churn", "version": "1", "metric": "accuracy"}
    assert registry.get_sample_value("knot_performance", labels) == 0.5
    drift = {"model": "churn", "feature": "tenure", "test": "wasserstein"}
    assert registry.get_sample_value("knot_drift_score", drift) == 0.4
    share = {"model": "churn", "version": "1", "metric": "drift.share"}
    assert registry.get_sample_value("knot_performance", share) is None


def test_a_version_without_reference_has_no_live_drift(knot_home: Path) -> None:
    import knot
    from tests.serving.models import Threshold

    knot.log_model(Threshold(20.0), registered_model_name="churn", input_example=_training_frame(2))
    registry = CollectorRegistry()
    monitor = LiveMonitor(ServeConfig(model="models:/churn@champion"), registry, 3600)
    monitor.observe(_batch(10.0))
    monitor.close()
    assert monitor._windows == {1: None}
    assert (
        registry.get_sample_value(
            "knot_drift_score", {"model": "churn", "feature": "tenure", "test": "psi"}
        )
        is None
    )
