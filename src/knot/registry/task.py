"""Whether a model classifies or regresses: the one place Knot decides it, so the metric
rules of evaluation, the canary, alert rules and `knot check` are all held to the same
answer.

Nothing is recorded about the task when a model is logged, so it is read off the model
itself, strongest evidence first:
1. what scikit-learn (and the XGBoost and LightGBM estimators, which follow it) says the
   estimator is: "classifier" or "regressor" (a Pipeline answers for its last step);
2. a `predict_proba` or a `classes_` attribute: only classifiers have them;
3. the type of the signature's output: text, booleans or categories are classes,
   floating-point numbers are a regressor's answers. Whole numbers could be classes or
   counts, so they decide nothing: the task is then unknown (None) and no rule is refused.
"""

from __future__ import annotations

from contextlib import suppress
from typing import Any

from knot.errors import NotFound
from knot.metrics import TASKS, Task

__all__ = ["TASKS", "Task", "model_task", "task_of"]


# pandas names ("string", "category", "object") and NumPy's ("bool", "str96", "bytes8")
_CLASS_TYPES = ("bool", "str", "object", "category", "bytes")


def task_of(model: Any) -> Task | None:
    """The task of a loaded model (what knot.load_model returns, or the raw estimator)."""
    from knot.registry.model_folder import LoadedModel

    inner = model.model if isinstance(model, LoadedModel) else model
    kind = _estimator_type(inner)
    if kind == "classifier":
        return "classification"
    if kind == "regressor":
        return "regression"
    if callable(getattr(inner, "predict_proba", None)) or hasattr(inner, "classes_"):
        return "classification"
    signature = getattr(model, "signature", None)
    outputs = signature.outputs if signature is not None else []
    if len(outputs) == 1:
        kind = outputs[0].type
        if kind.startswith("float"):
            return "regression"
        if kind.startswith(_CLASS_TYPES):
            return "classification"
    return None


def _estimator_type(estimator: Any) -> str | None:
    tags = getattr(estimator, "__sklearn_tags__", None)
    if callable(tags):
        with suppress(Exception):  # an estimator whose tags cannot be built says nothing
            found = getattr(tags(), "estimator_type", None)
            if found is not None:
                return str(found)
    legacy = getattr(estimator, "_estimator_type", None)  # scikit-learn before 1.6
    return legacy if isinstance(legacy, str) else None


def model_task(model: str, version: int | str | None = None) -> tuple[str, Task | None] | None:
    """("NAME/VERSION", its task) for `model` at `version` (a number or an alias; by
    default the champion, else the latest version), loading that version; None when the
    model has no such version yet (nothing to check a rule against)."""
    from knot.registry.fluent import get_model_version, load_model

    if version is None:
        candidates = [f"models:/{model}@champion", f"models:/{model}"]
    elif isinstance(version, int) or str(version).isdigit():
        candidates = [f"models:/{model}/{int(version)}"]
    else:
        candidates = [f"models:/{model}@{version}"]
    for uri in candidates:
        try:
            found = get_model_version(uri)
        except NotFound:
            continue
        return f"{found.name}/{found.version}", task_of(load_model(found.uri))
    return None
