"""The one table of model quality metrics: the task each one measures, which direction
is better, and whether it needs the positive-class score. Held-out evaluation
(knot.gates.evaluate_metrics), live performance (model_metrics), alert rules and
the retrain loop's canary all read it, so a metric means the same thing everywhere and a
rule naming one can be checked against the model's task (knot.registry.task)."""

from __future__ import annotations

from dataclasses import dataclass

from knot.errors import Invalid
from knot.registry.task import Task

__all__ = [
    "METRIC_TABLE",
    "MetricInfo",
    "check_metric_task",
    "metric_info",
    "metrics_for",
    "task_noun",
]


@dataclass(frozen=True)
class MetricInfo:
    name: str
    task: Task
    higher_is_better: bool
    needs_score: bool = False  # the positive-class probability of a binary classifier

    def better_by(self, challenger: float, champion: float) -> float:
        """How much better `challenger` is than `champion` (negative when worse)."""
        delta = challenger - champion
        return delta if self.higher_is_better else -delta


METRIC_TABLE: dict[str, MetricInfo] = {
    m.name: m
    for m in (
        MetricInfo("accuracy", "classification", True),
        MetricInfo("error_rate", "classification", False),
        MetricInfo("precision", "classification", True),
        MetricInfo("recall", "classification", True),
        MetricInfo("f1", "classification", True),
        MetricInfo("roc_auc", "classification", True, needs_score=True),
        MetricInfo("log_loss", "classification", False, needs_score=True),
        MetricInfo("mae", "regression", False),
        MetricInfo("mse", "regression", False),
        MetricInfo("rmse", "regression", False),
        MetricInfo("r2", "regression", True),
    )
}


def metrics_for(task: Task) -> tuple[str, ...]:
    """The metrics that measure models of `task`, in table order."""
    return tuple(m.name for m in METRIC_TABLE.values() if m.task == task)


def metric_info(name: str, field: str = "metric") -> MetricInfo:
    """The metric called `name`, or Invalid naming the known ones."""
    found = METRIC_TABLE.get(name)
    if found is None:
        known = ", ".join(sorted(METRIC_TABLE))
        raise Invalid(f"{field} {name!r} is not a known metric; use one of: {known}", field=field)
    return found


def task_noun(task: Task) -> str:
    return "a classifier" if task == "classification" else "a regressor"


def check_metric_task(
    name: str, task: Task | None, *, where: str, model: str, also: str = ""
) -> None:
    """Invalid when metric `name` does not measure models of `task`, naming the rule
    (`where`), the metric, the model and its task, and the metrics that do apply
    (`also`: other names the rule could use, e.g. counts). An unknown task, or a name
    outside the table (a count, a drift metric), is not refused here."""
    info = METRIC_TABLE.get(name)
    if info is None or task is None or info.task == task:
        return
    fits = ", ".join(metrics_for(task)) + (f", {also}" if also else "")
    raise Invalid(
        f"{where}: metric {name!r} measures {info.task}, but {model} is {task_noun(task)} "
        f"({task}); use one of: {fits}",
        field=where,
    )
