"""Opt-in autologging for scikit-learn: `knot.autolog()` before calling fit().

Every estimator's fit() then records its parameters, training metrics and the
fitted model (as an artifact) on the active run, or on a run it starts itself.
Fits nested inside another autologged fit (a Pipeline's steps, a grid search's
candidates) are not logged separately.
"""

from __future__ import annotations

import functools
import pickle
import tempfile
import threading
from pathlib import Path
from typing import Any

from knot.tracking.validate import MAX_PARAM_VALUE

__all__ = ["autolog"]

_patched: dict[type, Any] = {}
_state = threading.local()


def autolog(*, log_models: bool = True, disable: bool = False) -> None:
    """Patch (or with disable=True restore) fit() on every scikit-learn estimator."""
    from sklearn.utils import all_estimators

    if disable:
        for cls, original in _patched.items():
            setattr(cls, "fit", original)  # noqa: B010
        _patched.clear()
        return
    for _, cls in all_estimators():
        original = cls.__dict__.get("fit")
        if original is None or cls in _patched:
            continue
        _patched[cls] = original
        setattr(cls, "fit", _wrap(original, log_models))  # noqa: B010


def _wrap(fit: Any, log_models: bool) -> Any:
    @functools.wraps(fit)
    def patched(self: Any, *args: Any, **kwargs: Any) -> Any:
        if getattr(_state, "depth", 0) > 0:
            return fit(self, *args, **kwargs)
        _state.depth = 1
        try:
            return _fit_and_log(fit, self, args, kwargs, log_models)
        finally:
            _state.depth = 0

    return patched


def _fit_and_log(fit: Any, est: Any, args: Any, kwargs: Any, log_models: bool) -> Any:
    from knot.tracking.fluent import active_run, start_run

    X = args[0] if args else kwargs.get("X")
    y = args[1] if len(args) > 1 else kwargs.get("y")
    own_run = active_run() is None
    run = active_run() or start_run(type(est).__name__)
    try:
        params = {k: _short(v) for k, v in est.get_params(deep=True).items()}
        run.log_params(params)
        run.set_tag("estimator", f"{type(est).__module__}.{type(est).__name__}")
        result = fit(est, *args, **kwargs)
        if X is not None and y is not None:
            run.log_metrics(training_metrics(est, X, y))
        if log_models:
            _log_model(run, est)
    except BaseException:
        if own_run:
            run.end("FAILED")
        raise
    if own_run:
        run.end()
    return result


def training_metrics(est: Any, X: Any, y: Any) -> dict[str, float]:
    """The metrics MLflow's autolog reports on the training data."""
    from sklearn import metrics
    from sklearn.base import is_classifier, is_regressor

    out: dict[str, float] = {}
    if not (is_classifier(est) or is_regressor(est)):
        return out
    pred = est.predict(X)
    if is_classifier(est):
        out["training_accuracy_score"] = float(metrics.accuracy_score(y, pred))
        average = "binary" if len(set(y)) == 2 else "weighted"
        kw: dict[str, Any] = {"average": average, "zero_division": 0}
        if average == "binary":
            kw["pos_label"] = est.classes_[1]
        out["training_precision_score"] = float(metrics.precision_score(y, pred, **kw))
        out["training_recall_score"] = float(metrics.recall_score(y, pred, **kw))
        out["training_f1_score"] = float(metrics.f1_score(y, pred, **kw))
        if average == "binary" and hasattr(est, "predict_proba"):
            proba = est.predict_proba(X)[:, 1]
            out["training_roc_auc"] = float(metrics.roc_auc_score(y, proba))
            out["training_log_loss"] = float(metrics.log_loss(y, est.predict_proba(X)))
    else:
        out["training_r2_score"] = float(metrics.r2_score(y, pred))
        out["training_mean_absolute_error"] = float(metrics.mean_absolute_error(y, pred))
        out["training_root_mean_squared_error"] = float(metrics.mean_squared_error(y, pred) ** 0.5)
    return out


def _log_model(run: Any, est: Any) -> None:
    import json

    import sklearn

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "model"
        folder.mkdir()
        (folder / "model.pkl").write_bytes(pickle.dumps(est, protocol=5))
        meta = {
            "flavor": "sklearn",
            "format": "pickle",
            "estimator": f"{type(est).__module__}.{type(est).__name__}",
            "sklearn_version": sklearn.__version__,
        }
        (folder / "knot-model.json").write_text(json.dumps(meta, indent=2))
        run.log_artifact(folder, "model")


def _short(value: Any) -> str:
    text = str(value)
    return text if len(text) <= MAX_PARAM_VALUE else text[: MAX_PARAM_VALUE - 3] + "..."
