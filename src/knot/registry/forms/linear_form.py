"""The numpy form of a linear scikit-learn model: its coefficients, as plain JSON.

Unpickling an estimator imports scikit-learn, and with it scipy and pandas: about a
second and 150 MiB, for a model whose prediction is one matrix product. So when a
version of a plain linear model (LogisticRegression, LinearRegression, Ridge, Lasso,
ElasticNet, SGDClassifier/Regressor, LinearSVC/SVR; no subclass, no pipeline) is
registered, `derive` writes what its predict (and predict_proba) compute from, and keeps
it only if `LinearForm` gives exactly the model's predictions (and its probabilities to
1e-12) on the input example and on synthetic rows built from it, batch and one row at a
time. The form travels in the header of the version's fast-load form
(knot.registry.forms.fast_load: one digest-checked blob), and `knot serve` uses it instead
of the estimator (knot.registry.forms.model_cache), so a service of such a model never
imports scikit-learn.

`parse` reads a form strictly (known keys, dtypes and shapes, finite numbers, no
pickle): one it cannot read is refused with Invalid, and the caller loads the estimator.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from knot.errors import Invalid

__all__ = ["FORMAT", "LinearForm", "derive", "parse"]

FORMAT = "knot-linear/1"
# estimator -> (task, ways its predict_proba may be computed; () when it has none)
_ESTIMATORS: dict[str, tuple[str, tuple[str, ...]]] = {
    "sklearn.linear_model._logistic.LogisticRegression": ("classifier", ("softmax", "ovr")),
    "sklearn.linear_model._stochastic_gradient.SGDClassifier": ("classifier", ("ovr",)),
    "sklearn.svm._classes.LinearSVC": ("classifier", ()),
    "sklearn.linear_model._base.LinearRegression": ("regressor", ()),
    "sklearn.linear_model._ridge.Ridge": ("regressor", ()),
    "sklearn.linear_model._coordinate_descent.Lasso": ("regressor", ()),
    "sklearn.linear_model._coordinate_descent.ElasticNet": ("regressor", ()),
    "sklearn.linear_model._stochastic_gradient.SGDRegressor": ("regressor", ()),
    "sklearn.svm._classes.LinearSVR": ("regressor", ()),
}
_FLOATS = ("float64", "float32")
_MAX_VALUES = 50_000_000  # coefficients in one form: far above any linear model's


class LinearForm:
    """A linear model's predict from its coefficients, with numpy alone. It does what
    scikit-learn's linear models do: X @ coef.T + intercept, then the class of the
    largest score (or of a positive one, for two classes)."""

    knot_numpy_form = True  # knot.serving.inputs.array_input: takes a plain 2-D array

    def __init__(
        self,
        estimator: str,
        coef: np.ndarray,
        intercept: Any,
        classes: np.ndarray | None,
        feature_names: list[str] | None,
    ) -> None:
        self.estimator = estimator
        self.coef_ = coef
        self.intercept_ = intercept
        self.n_features_in_ = int(coef.shape[-1])
        if classes is not None:
            self.classes_ = classes
        if feature_names is not None:
            self.feature_names_in_ = np.array(feature_names, dtype=object)
        self._names = feature_names

    def __repr__(self) -> str:
        return f"<LinearForm of {self.estimator}, {self.n_features_in_} features>"

    def _array(self, X: Any) -> np.ndarray:
        columns = getattr(X, "columns", None)
        if columns is not None and self._names is not None and list(columns) != self._names:
            raise ValueError(
                f"the columns {list(columns)} are not the ones the model was fitted on "
                f"({self._names}); give it those columns in that order"
            )
        X = np.asarray(X)
        if X.dtype.kind not in "biuf":
            X = X.astype(np.float64)
        if X.ndim != 2 or X.shape[1] != self.n_features_in_:
            raise ValueError(
                f"the input has shape {X.shape}; this model takes a 2-D array of "
                f"{self.n_features_in_} features"
            )
        name = self.estimator.rsplit(".", 1)[-1]
        if X.shape[0] == 0:
            raise ValueError(
                f"Found array with 0 sample(s) (shape={X.shape}) while a minimum of 1 is "
                f"required by {name}."
            )
        if X.dtype.kind == "f" and not np.isfinite(X).all():  # refused, as the estimator does
            if np.isnan(X).any():
                raise ValueError(
                    f"Input X contains NaN.\n{name} does not accept missing values encoded "
                    "as NaN natively; impute them or drop those rows before predicting."
                )
            raise ValueError(f"Input X contains infinity or a value too large for {X.dtype!r}.")
        return X

    def decision_function(self, X: Any) -> np.ndarray:
        X = self._array(X)
        coef = self.coef_
        scores: np.ndarray = (X @ coef.T if coef.ndim == 2 else X @ coef) + self.intercept_
        if hasattr(self, "classes_") and scores.ndim == 2 and scores.shape[1] == 1:
            return scores.reshape(-1)
        return scores

    def predict(self, X: Any) -> np.ndarray:
        scores = self.decision_function(X)
        if not hasattr(self, "classes_"):
            return scores
        # two classes: the second where the score is positive; else the largest score
        one = scores.ndim == 1
        indices = (scores > 0).astype(np.intp) if one else np.argmax(scores, axis=1)
        out: np.ndarray = self.classes_.take(indices, axis=0)
        return out


class LinearProbaForm(LinearForm):
    """A linear classifier that also gives class probabilities: the logistic function of
    each score, normalized over the classes ("ovr"), or the softmax of the scores."""

    def __init__(self, *args: Any, proba: str) -> None:
        super().__init__(*args)
        self.proba = proba

    def predict_proba(self, X: Any) -> np.ndarray:
        scores = self.decision_function(X)
        if self.proba == "softmax" and scores.ndim == 2:
            scores = scores - scores.max(axis=1).reshape(-1, 1)
            np.exp(scores, out=scores)
            scores /= scores.sum(axis=1).reshape(-1, 1)
            return scores
        with np.errstate(over="ignore"):  # exp(-score) of a far negative score: 1/inf = 0
            prob = 1.0 / (1.0 + np.exp(-scores))
        if prob.ndim == 1:
            return np.stack([1 - prob, prob], axis=1)
        total = prob.sum(axis=1)
        zero = total == 0
        prob[zero, :] = 1  # all classes scored zero: uniform, as scikit-learn gives
        total[zero] = prob.shape[1]
        prob /= total.reshape(-1, 1)
        return prob


# --- writing -------------------------------------------------------------------------


def _name(model: Any) -> str:
    cls = type(model)
    return f"{cls.__module__}.{cls.__qualname__}"


def _array_json(value: Any) -> dict[str, Any] | None:
    """A float coefficient array (or a float scalar) as JSON; None when it is not one."""
    if isinstance(value, float) and not isinstance(value, np.floating):
        return {"python": value} if math.isfinite(value) else None
    if isinstance(value, np.floating):
        value = np.asarray(value)
        scalar = True
    elif isinstance(value, np.ndarray):
        scalar = False
    else:
        return None  # e.g. a sparse matrix after sparsify()
    if value.dtype.name not in _FLOATS or not np.isfinite(value).all():
        return None
    return {
        "dtype": value.dtype.name,
        "shape": list(value.shape),
        "scalar": scalar,
        "values": [float(v) for v in value.reshape(-1)],
    }


def _classes_json(classes: Any) -> dict[str, Any] | None:
    if not isinstance(classes, np.ndarray) or classes.ndim != 1:
        return None
    if classes.dtype == object:
        if not all(isinstance(c, str) for c in classes):
            return None
        return {"dtype": "object", "values": list(classes)}
    if classes.dtype.kind not in "biuU":
        return None
    return {"dtype": classes.dtype.str, "values": classes.tolist()}


def derive(model: Any, example: Any = None) -> dict[str, Any] | None:
    """The numpy form of `model` as a JSON-able dict, or None when `model` is not a plain
    linear estimator or the form does not predict exactly what it predicts on `example`
    and synthetic rows made from it."""
    name = _name(model)
    if name not in _ESTIMATORS:
        return None
    task, probas = _ESTIMATORS[name]
    coef = _array_json(getattr(model, "coef_", None))
    intercept = _array_json(getattr(model, "intercept_", None))
    names = getattr(model, "feature_names_in_", None)
    if coef is None or intercept is None or coef["scalar"] or len(coef["shape"]) not in (1, 2):
        return None
    if names is not None and not all(isinstance(n, str) for n in names):
        return None
    form: dict[str, Any] = {
        "format": FORMAT,
        "estimator": name,
        "coef": coef,
        "intercept": intercept,
        "feature_names": None if names is None else [str(n) for n in names],
        "classes": None,
        "proba": None,
    }
    if task == "classifier":
        form["classes"] = _classes_json(getattr(model, "classes_", None))
        if form["classes"] is None:
            return None
    has_proba = callable(getattr(model, "predict_proba", None))
    for proba in probas if has_proba else (None,):
        form["proba"] = proba
        try:
            if _same(model, parse(form), example):
                return form
        except Exception:  # a form that cannot even be read back, or predict
            continue
    return None


def _rows(model: Any, example: Any) -> list[Any]:
    """Inputs to compare the form and `model` on: the example, rows around it and far
    out (saturated classes), as arrays, and as DataFrames of the example's columns and
    dtypes when it is one (what `knot predict` gives the model)."""
    width = int(model.coef_.shape[-1])
    base = np.zeros((1, width))
    out: list[Any] = []
    if example is not None:
        given = np.asarray(example)
        if given.ndim == 2 and given.shape[1] == width and given.dtype.kind in "biuf":
            base = given.astype(np.float64)
            out.append(given)
    rng = np.random.default_rng(0)
    spread = np.maximum(np.abs(base).max(axis=0), 1.0)
    out.append(np.vstack([np.zeros(width), np.ones(width), -np.ones(width)]))
    out.append(base[rng.integers(0, len(base), 32)] + rng.normal(size=(32, width)) * spread)
    out.append(rng.normal(size=(8, width)) * spread * 100)
    dtypes = getattr(example, "dtypes", None)
    if dtypes is not None and len(out) == 4:  # a DataFrame of `width` numeric columns
        out += [example, type(example)(out[2], columns=example.columns).astype(dtypes)]
    return out


def _same(model: Any, form: LinearForm, example: Any) -> bool:
    with warnings.catch_warnings():
        # fitted on named columns, given an array: the columns are in the fitted order
        warnings.simplefilter("ignore", UserWarning)
        for X in _rows(model, example):
            # one row at a time too, as a service answering lone requests calls it
            rows = range(2) if isinstance(X, np.ndarray) else range(0)
            for part in [X, *(X[i : i + 1] for i in rows)]:
                want, got = np.asarray(model.predict(part)), form.predict(part)
                if want.dtype != got.dtype or not np.array_equal(want, got):
                    return False
                if isinstance(form, LinearProbaForm):
                    p, q = np.asarray(model.predict_proba(part)), form.predict_proba(part)
                    if p.shape != q.shape or not np.allclose(p, q, rtol=1e-12, atol=1e-12):
                        return False
    return True


# --- reading -------------------------------------------------------------------------


def _bad(what: str) -> Invalid:
    return Invalid(
        f"the numpy form of this model is malformed ({what}); register the model again "
        "to write it, or serve it without the form (it is then loaded with scikit-learn)",
        field="fast_load_digest",
    )


def _read_array(value: Any, what: str) -> Any:
    if not isinstance(value, dict):
        raise _bad(f"{what} is not an object")
    if set(value) == {"python"}:
        number = value["python"]
        if type(number) is not float or not math.isfinite(number):
            raise _bad(f"{what} is not a finite float")
        return number
    if set(value) != {"dtype", "shape", "scalar", "values"}:
        raise _bad(f"{what} has the keys {sorted(value)}")
    dtype, shape, scalar, values = value["dtype"], value["shape"], value["scalar"], value["values"]
    if dtype not in _FLOATS or type(scalar) is not bool:
        raise _bad(f"{what} has dtype {dtype!r}, scalar {scalar!r}")
    if not isinstance(shape, list) or len(shape) > 2 or (scalar and shape):
        raise _bad(f"{what} has shape {shape!r}")
    if any(type(n) is not int or n < 0 for n in shape):
        raise _bad(f"{what} has shape {shape!r}")
    size = math.prod(shape)
    if not isinstance(values, list) or len(values) != size or size > _MAX_VALUES:
        count = len(values) if isinstance(values, list) else "no list of"
        raise _bad(f"{what} holds {count} values for shape {shape}")
    if any(type(v) is not float for v in values):
        raise _bad(f"{what} holds a value that is not a float")
    array = np.array(values, dtype=dtype).reshape(shape)
    if not np.isfinite(array).all():
        raise _bad(f"{what} holds a value that is not finite")
    return array[()] if scalar else array


def _read_classes(value: Any) -> np.ndarray:
    if not isinstance(value, dict) or set(value) != {"dtype", "values"}:
        raise _bad("classes is not an object of dtype and values")
    dtype, values = value["dtype"], value["values"]
    if not isinstance(values, list) or len(values) < 2:
        raise _bad("classes has fewer than two values")
    if dtype == "object":
        if not all(type(v) is str for v in values):
            raise _bad("classes of dtype object hold a value that is not a string")
        out = np.empty(len(values), dtype=object)
        out[:] = values
        return out
    try:
        parsed = np.dtype(dtype) if isinstance(dtype, str) else None
    except TypeError:
        parsed = None
    if parsed is None or parsed.kind not in "biuU":
        raise _bad(f"classes has dtype {dtype!r}")
    allowed = {"b": (bool,), "i": (int,), "u": (int,), "U": (str,)}[parsed.kind]
    if not all(type(v) in allowed for v in values):
        raise _bad(f"classes of dtype {dtype!r} hold a value of another type")
    try:
        return np.array(values, dtype=parsed)
    except (OverflowError, ValueError):
        raise _bad(f"classes do not fit dtype {dtype!r}") from None


def parse(form: Any) -> LinearForm:
    """A LinearForm from a dict written by `derive`; Invalid naming what is wrong."""
    keys = {"format", "estimator", "coef", "intercept", "feature_names", "classes", "proba"}
    if not isinstance(form, dict) or set(form) != keys:
        got = sorted(form) if isinstance(form, dict) else type(form).__name__
        raise _bad(f"expected the keys {sorted(keys)}, got {got}")
    if form["format"] != FORMAT:
        raise _bad(f"format {form['format']!r} is not {FORMAT!r}")
    estimator = form["estimator"]
    if not isinstance(estimator, str) or estimator not in _ESTIMATORS:
        raise _bad(f"estimator {estimator!r} is not one Knot has a numpy form of")
    task, probas = _ESTIMATORS[estimator]
    coef = _read_array(form["coef"], "coef")
    intercept = _read_array(form["intercept"], "intercept")
    if not isinstance(coef, np.ndarray) or coef.ndim not in (1, 2) or coef.shape[-1] < 1:
        raise _bad("coef is not a 1-D or 2-D array of at least one feature")
    outputs = coef.shape[0] if coef.ndim == 2 else 1  # one score per row for 1-D coef
    if isinstance(intercept, np.ndarray) and intercept.shape not in ((), (outputs,)):
        raise _bad(f"intercept has shape {intercept.shape}, coef {coef.shape}")
    names = form["feature_names"]
    if names is not None and (
        not isinstance(names, list)
        or len(names) != coef.shape[-1]
        or not all(type(n) is str for n in names)
    ):
        raise _bad(f"feature_names is not a list of {coef.shape[-1]} strings")
    classes = None
    if task == "classifier":
        classes = _read_classes(form["classes"])
        rows = coef.shape[0] if coef.ndim == 2 else 0
        if not (rows == len(classes) > 2 or (rows == 1 and len(classes) == 2)):
            raise _bad(f"{len(classes)} classes do not match coef of shape {coef.shape}")
    elif form["classes"] is not None:
        raise _bad("a regressor has classes")
    args = (estimator, coef, intercept, classes, names)
    proba = form["proba"]
    if proba is None:
        return LinearForm(*args)
    if proba not in probas:
        raise _bad(f"proba {proba!r} is not one of {list(probas)} for {estimator}")
    return LinearProbaForm(*args, proba=proba)
