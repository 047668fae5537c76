"""Knot: the whole machine-learning lifecycle in one package.

    import knot
    with knot.start_run(experiment="churn") as run:
        run.log_params({"model": "lgbm"})
        for step in range(100):
            run.log_metric("loss", 1 / (step + 1), step=step)

Names are loaded on first use, so `import knot` and the `knot` CLI start fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from knot._version import __version__

if TYPE_CHECKING:
    from knot.errors import Conflict, Corrupted, Invalid, KnotError, NotFound, SchemaTooNew
    from knot.store.entities import Experiment, MetricPoint, Run, RunStatus
    from knot.tracking.autolog import autolog
    from knot.tracking.compare import compare_runs
    from knot.tracking.fluent import (
        active_run,
        create_experiment,
        download_artifact,
        end_run,
        flush,
        get_experiment_by_name,
        get_metric_history,
        get_run,
        list_artifacts,
        list_experiments,
        log_artifact,
        log_metric,
        log_metrics,
        log_param,
        log_params,
        reset,
        search_runs,
        set_tag,
        set_tags,
        start_run,
    )
    from knot.tracking.run import ActiveRun

__all__ = [
    "ActiveRun",
    "Conflict",
    "Corrupted",
    "Experiment",
    "Invalid",
    "KnotError",
    "MetricPoint",
    "NotFound",
    "Run",
    "RunStatus",
    "SchemaTooNew",
    "__version__",
    "active_run",
    "autolog",
    "compare_runs",
    "create_experiment",
    "download_artifact",
    "end_run",
    "flush",
    "get_experiment_by_name",
    "get_metric_history",
    "get_run",
    "list_artifacts",
    "list_experiments",
    "log_artifact",
    "log_metric",
    "log_metrics",
    "log_param",
    "log_params",
    "reset",
    "search_runs",
    "set_tag",
    "set_tags",
    "start_run",
]

_HOME = {
    "ActiveRun": "knot.tracking.run",
    "Experiment": "knot.store.entities",
    "MetricPoint": "knot.store.entities",
    "Run": "knot.store.entities",
    "RunStatus": "knot.store.entities",
    "Conflict": "knot.errors",
    "Corrupted": "knot.errors",
    "Invalid": "knot.errors",
    "KnotError": "knot.errors",
    "NotFound": "knot.errors",
    "SchemaTooNew": "knot.errors",
    "autolog": "knot.tracking.autolog",
    "compare_runs": "knot.tracking.compare",
}


def __getattr__(name: str) -> Any:
    if name not in __all__:
        raise AttributeError(f"module 'knot' has no attribute {name!r}")
    module = importlib.import_module(_HOME.get(name, "knot.tracking.fluent"))
    value = getattr(module, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
