"""`knot serve` (the installed entry point, over real HTTP) of a linear model registered
with its numpy form answers exactly what it answers from the estimator, and never
imports scikit-learn: Python's own import log (PYTHONPROFILEIMPORTTIME) of the server
names every module it imported, and the same check sees scikit-learn once the form is
taken out of the served-model cache."""

from __future__ import annotations

import json
import subprocess
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

import knot
from knot.registry.forms.fast_load import LINEAR
from knot.registry.forms.model_cache import cache_dir
from tests.servers import free_port
from tests.serving.live import KNOT, REPO, knot_env
from tests.serving.test_numpy_form import LINEAR_MODELS, X

ROWS = {"inputs": {c: X[c].tolist() for c in X.columns}}


@contextmanager
def _serve(imports: Path) -> Iterator[str]:
    """`knot serve models:/m/1`, its import log written to `imports`, once ready."""
    port = free_port()
    with imports.open("w") as log:
        process = subprocess.Popen(
            [KNOT, "serve", "models:/m/1", "--port", str(port)],
            env={**knot_env(), "PYTHONPROFILEIMPORTTIME": "1"},
            cwd=REPO,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"knot serve exited: {imports.read_text()[-2000:]}")
            try:
                if httpx.get(f"{url}/ready", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        yield url
    finally:
        process.terminate()
        process.wait()


def _predictions(url: str) -> Any:
    answer = httpx.post(f"{url}/predict", json=ROWS, timeout=30)
    assert answer.status_code == 200, answer.text
    return answer.json()["predictions"]


def _imported(log: Path) -> set[str]:
    lines = [line.split("|") for line in log.read_text().splitlines()]
    return {p[2].strip() for p in lines if len(p) == 3 and p[0].startswith("import time:")}


@pytest.mark.server
@pytest.mark.parametrize("kind", ["binary", "three-classes", "regression"])
def test_knot_serve_answers_the_same_without_importing_scikit_learn(
    kind: str, knot_home: Path, tmp_path: Path
) -> None:
    model = LINEAR_MODELS[kind]()
    version = knot.log_model(model, registered_model_name="m", input_example=X.head(5))
    with _serve(tmp_path / "lean.log") as url:
        lean = _predictions(url)
    modules = _imported(tmp_path / "lean.log")
    assert "knot.registry.forms.linear_form" in modules
    assert not {m for m in modules if m.split(".")[0] in ("sklearn", "scipy")}
    # the served-model cache entry the start wrote, without its form: the estimator
    entry = cache_dir() / f"{version.artifact_digest.replace(':', '-')}.json"
    header = json.loads(entry.read_text())
    del header[LINEAR]
    entry.write_text(json.dumps(header))
    with _serve(tmp_path / "estimator.log") as url:
        assert _predictions(url) == lean
    assert "sklearn" in _imported(tmp_path / "estimator.log")
    # what the model itself gives for the block of rows the service hands it
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # an array for named columns
        assert lean == model.predict(np.ascontiguousarray(X.to_numpy())).tolist()
