"""One import of an MLflow store into Knot's stores: experiments and their runs first,
then registered models, whose versions point at those runs."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from knot.artifacts import ArtifactStore
from knot.mlflow_import.models import ModelCopier
from knot.mlflow_import.runs import RunCopier
from knot.mlflow_import.source import LoggedModelInfo, MlflowSource
from knot.mlflow_import.summary import Summary
from knot.registry.protocol import RegistryStore
from knot.tracking.protocol import TrackingStore

__all__ = ["Plan", "import_mlflow", "plan_import"]


@dataclass
class Plan:
    """What the source holds, read before anything is copied so progress has a total."""

    experiments: list[tuple[Any, list[Any]]]  # (experiment, its runs parent-first)
    logged: dict[str, list[LoggedModelInfo]]  # run id -> its logged models
    models: list[Any]

    @property
    def runs(self) -> int:
        return sum(len(runs) for _, runs in self.experiments)


def plan_import(source: MlflowSource) -> Plan:
    experiments = [(e, source.runs(e.experiment_id)) for e in source.experiments()]
    logged: dict[str, list[LoggedModelInfo]] = defaultdict(list)
    for experiment, _ in experiments:
        for model in source.logged_models(experiment.experiment_id):
            logged[model.run_id].append(model)
    return Plan(experiments, dict(logged), source.registered_models())


def import_mlflow(
    source: MlflowSource,
    plan: Plan,
    tracking: TrackingStore,
    registry: RegistryStore,
    artifacts: ArtifactStore,
    advance: Callable[[str], None] = lambda _what: None,
) -> Summary:
    """Copy everything `plan` lists from `source`; `advance` is called after each run
    and each registered model. Nothing already in Knot is written again."""
    summary = Summary()
    runs = RunCopier(source, tracking, artifacts, summary)
    for experiment, experiment_runs in plan.experiments:
        experiment_id = runs.experiment(experiment)
        for run in experiment_runs:
            if experiment_id is None:
                why = f"its experiment {experiment.name!r} could not be imported"
                summary.add("runs", "failed", f"run {run.info.run_id}", why)
            else:
                runs.run(run, experiment_id, plan.logged.get(run.info.run_id, []))
            advance("runs")
    models = ModelCopier(runs, registry, summary)
    for model in plan.models:
        models.model(model)
        advance("models")
    return summary
