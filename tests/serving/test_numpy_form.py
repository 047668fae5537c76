"""The numpy form of a linear scikit-learn model (knot.registry.forms.linear_form): written at
registration only for the linear estimators it predicts exactly, served in place of the
estimator (same predictions, probabilities to 1e-12), read strictly; a malformed form in
the registered blob or in the local cache falls back to the estimator with a warning."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge, SGDClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeClassifier

import knot
from knot.errors import Invalid
from knot.registry.entities import ModelVersion, VersionSource
from knot.registry.flavors import sklearn as sklearn_flavor
from knot.registry.fluent import registry
from knot.registry.forms.fast_load import LINEAR, encode, parse
from knot.registry.forms.linear_form import LinearForm, derive
from knot.registry.forms.linear_form import parse as parse_form
from knot.registry.forms.model_cache import cache_dir
from knot.serving.sources import load_source
from knot.tracking.fluent import session

RNG = np.random.default_rng(7)
X = pd.DataFrame(RNG.normal(size=(80, 4)) * [1.0, 3.0, 0.5, 10.0], columns=["a", "b", "c", "d"])
SCORE = X["a"] - 0.3 * X["b"] + X["c"]
BINARY = (SCORE > 0).astype(int)
THREE = pd.cut(SCORE, [-np.inf, -0.5, 0.5, np.inf], labels=["low", "mid", "high"]).astype(str)
AMOUNT = 2.0 * X["a"] + 0.1 * X["d"] + RNG.normal(size=80)

LINEAR_MODELS = {
    "binary": lambda: LogisticRegression().fit(X, BINARY),
    "three-classes": lambda: LogisticRegression(max_iter=1000).fit(X, THREE),
    "regression": lambda: LinearRegression().fit(X, AMOUNT),
    "ridge": lambda: Ridge().fit(X, AMOUNT),
    "sgd-hinge": lambda: SGDClassifier(random_state=0).fit(X, THREE),
}
OTHER_MODELS = {
    "pipeline": lambda: make_pipeline(StandardScaler(), LogisticRegression()).fit(X, BINARY),
    "tree": lambda: DecisionTreeClassifier(max_depth=2).fit(X, BINARY),
    "modified-huber": lambda: SGDClassifier(loss="modified_huber").fit(X, THREE),
}


def _header(version: ModelVersion) -> dict[str, Any]:
    assert version.fast_load_digest is not None
    header, _, _ = parse(session().artifacts.get_bytes(version.fast_load_digest))
    return header


@pytest.mark.parametrize("kind", LINEAR_MODELS)
def test_registering_a_linear_model_writes_a_numpy_form_that_predicts_like_it(
    kind: str, knot_home: Path
) -> None:
    model = LINEAR_MODELS[kind]()
    version = knot.log_model(model, registered_model_name="m", input_example=X.head(5))
    form = parse_form(_header(version)[LINEAR])
    predicted = form.predict(X.to_numpy())
    assert predicted.dtype == model.predict(X).dtype
    assert np.array_equal(predicted, model.predict(X))
    if hasattr(model, "predict_proba"):
        assert np.allclose(form.predict_proba(X), model.predict_proba(X), rtol=0, atol=1e-12)
    else:
        assert not hasattr(form, "predict_proba")


@pytest.mark.parametrize("kind", OTHER_MODELS)
def test_other_models_get_no_numpy_form(kind: str, knot_home: Path) -> None:
    model = OTHER_MODELS[kind]()
    version = knot.log_model(model, registered_model_name="m", input_example=X.head(5))
    assert LINEAR not in _header(version)  # the pickle alone, as before
    served = load_source("models:/m/1")
    assert type(served.model.model) is type(model)


def test_the_service_gets_the_form_and_load_model_the_estimator(knot_home: Path) -> None:
    model = LINEAR_MODELS["three-classes"]()
    knot.log_model(model, registered_model_name="m", input_example=X.head(5))
    for _ in range(2):  # the first load fills the cache, the second reads it
        served = load_source("models:/m/1")
        assert isinstance(served.model.model, LinearForm)
        assert served.model.predict(X).tolist() == model.predict(X).tolist()
        assert np.allclose(served.model.predict_proba(X), model.predict_proba(X), atol=1e-12)
    assert isinstance(knot.load_model("models:/m/1").model, LogisticRegression)


def _form(model: Any) -> dict[str, Any]:
    form = derive(model, X.head(5))
    assert form is not None
    return json.loads(json.dumps(form))


BAD_FORMS = {
    "keys": (lambda f: f.pop("proba"), "expected the keys"),
    "format": (lambda f: f.update(format="knot-linear/9"), "'knot-linear/9'"),
    "estimator": (lambda f: f.update(estimator="os.system"), "'os.system'"),
    "dtype": (lambda f: f["coef"].update(dtype="object"), "dtype 'object'"),
    "count": (lambda f: f["coef"]["values"].pop(), "coef holds 3 values for shape [1, 4]"),
    "shape": (lambda f: f["coef"].update(shape=[2, 2]), "intercept has shape (1,), coef (2, 2)"),
    "not a float": (lambda f: f["coef"]["values"].__setitem__(0, "1.0"), "not a float"),
    "infinite": (lambda f: f["intercept"]["values"].__setitem__(0, 1e400), "not finite"),
    "classes": (lambda f: f["classes"]["values"].append(2), "3 classes"),
    "class type": (lambda f: f["classes"].update(values=["x", "y"]), "another type"),
    "proba": (lambda f: f.update(proba="exec"), "proba 'exec'"),
    "names": (lambda f: f.update(feature_names=["a"]), "feature_names"),
}


@pytest.mark.parametrize("case", BAD_FORMS)
def test_a_malformed_form_is_refused_naming_what_is_wrong(case: str) -> None:
    form = _form(LogisticRegression().fit(X, BINARY))
    change, message = BAD_FORMS[case]
    change(form)
    with pytest.raises(Invalid) as raised:
        parse_form(form)
    assert message in str(raised.value) and "register the model again" in str(raised.value)


def _with_fast_load_blob(version: ModelVersion, blob: bytes) -> ModelVersion:
    """Version 2 of `m`: version 1's folder, with fast-load form `blob`."""
    source = VersionSource(
        run_id=version.run_id,
        artifact_path=version.artifact_path,
        artifact_digest=version.artifact_digest,
        flavor=version.flavor,
        signature=version.signature,
        environment=version.environment,
        fast_load_digest=session().artifacts.put_bytes(blob),
    )
    return registry().create_version("m", source)


def test_a_registered_form_that_does_not_parse_serves_the_estimator(
    knot_home: Path, caplog: pytest.LogCaptureFixture
) -> None:
    model = LINEAR_MODELS["binary"]()
    first = knot.log_model(model, registered_model_name="m", input_example=X.head(5))
    header = _header(first)
    header[LINEAR]["coef"]["shape"] = [1, 3]
    _with_fast_load_blob(first, encode(model, header))
    served = load_source("models:/m/2")
    assert "not using the numpy form" in caplog.text and "shape [1, 3]" in caplog.text
    assert isinstance(served.model.model, LogisticRegression)
    assert served.model.predict(X).tolist() == model.predict(X).tolist()


def test_a_cache_entry_with_a_changed_form_serves_the_estimator(
    knot_home: Path, caplog: pytest.LogCaptureFixture
) -> None:
    model = LINEAR_MODELS["regression"]()
    version = knot.log_model(model, registered_model_name="m", input_example=X.head(5))
    load_source("models:/m/1")  # fills the cache from the registered form
    entry = cache_dir() / f"{version.artifact_digest.replace(':', '-')}.json"
    header = json.loads(entry.read_text())
    header[LINEAR]["intercept"] = {"python": "NaN"}
    entry.write_text(json.dumps(header))
    served = load_source("models:/m/1")
    assert "not using the numpy form" in caplog.text and "intercept" in caplog.text
    assert isinstance(served.model.model, LinearRegression)
    assert served.model.predict(X).tolist() == model.predict(X).tolist()


@pytest.mark.filterwarnings("ignore:X does not have valid feature names")
@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_the_form_refuses_what_the_estimator_refuses(value: float) -> None:
    model = LINEAR_MODELS["regression"]()
    form = parse_form(_form(model))
    rows = X.to_numpy().copy()
    rows[3, 1] = value
    with pytest.raises(ValueError) as theirs:
        model.predict(rows)
    with pytest.raises(ValueError) as ours:
        form.predict(rows)
    assert str(ours.value).splitlines()[0] == str(theirs.value).splitlines()[0]
    with pytest.raises(ValueError, match="shape"):
        form.predict(rows[:, :2])
    with pytest.raises(ValueError) as theirs:
        model.predict(rows[:0])
    with pytest.raises(ValueError) as ours:
        form.predict(rows[:0])
    assert str(ours.value) == str(theirs.value)


PROBE = """
import json, sys
import numpy as np
from knot.serving.columns import model_input
from knot.serving.service import load_and_warm
from knot.serving.sources import parse_source
served = load_and_warm(parse_source("models:/m/1"))
rows = json.loads(sys.argv[1])
columns = {k: np.asarray(v) for k, v in rows.items()}
given = model_input(served.signature, columns, as_array=served.takes_array)
predicted = served.model.model.predict(given).tolist()
print(json.dumps([predicted, sorted(m for m in ("pandas", "sklearn") if m in sys.modules)]))
"""


def test_a_model_of_int_and_float_columns_is_served_without_pandas(knot_home: Path) -> None:
    mixed = X.assign(d=(X["d"] * 10).round().astype("int64"))
    model = LogisticRegression(max_iter=1000).fit(mixed, THREE)
    knot.log_model(model, registered_model_name="m", input_example=mixed.head(5))
    rows = {c: mixed[c].tolist() for c in mixed.columns}
    out = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(rows)], capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    predicted, imported = json.loads(out.stdout)
    assert imported == []  # the columns became one float block, not a DataFrame
    assert predicted == model.predict(mixed).tolist()


def test_a_model_saved_as_a_pickle_gets_the_form_for_serving_only(
    knot_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sklearn_flavor, "_try_skops", lambda model, path: None)  # no skops
    model = LINEAR_MODELS["binary"]()
    version = knot.log_model(model, registered_model_name="m", input_example=X.head(5))
    header = _header(version)
    assert header["meta"]["saved"]["format"] == "pickle" and LINEAR in header
    again = knot.register_model(version.run_id, version.artifact_path, "again")
    assert again.fast_load_digest is None  # the folder's pickle is not unpickled to see
    assert isinstance(knot.load_model("models:/m/1").model, LogisticRegression)
    rows = {c: X[c].tolist() for c in X.columns}
    out = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(rows)], capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == [model.predict(X).tolist(), []]
    other = OTHER_MODELS["pipeline"]()
    logged = knot.log_model(other, registered_model_name="p", input_example=X.head(5))
    assert logged.fast_load_digest is None  # a pickle with no numpy form: no form, as before
