"""The fast-load form: a registered skops model's first start unpickles the form the
registry recorded (no skops import, no helper process); a changed blob is refused and
never unpickled, a form for other package versions is skipped, and both fall back to the
skops folder through the helper, as do versions registered without a form."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

import knot
from knot.artifacts._digest import blob_key
from knot.registry.entities import ModelVersion, VersionSource
from knot.registry.fluent import registry
from knot.registry.forms.fast_load import encode, parse
from knot.registry.forms.model_cache import cache_dir, cached_model
from knot.serving.sources import load_source
from knot.tracking.fluent import session

FRAME = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0, 4.0, 5.0], "b": [1.0, 0.0, 1.0, 0.0, 1.0, 0.0]})
TARGET = [0, 0, 0, 1, 1, 1]


@pytest.fixture
def logistic(knot_home: Path) -> ModelVersion:
    model = LogisticRegression().fit(FRAME, TARGET)
    return knot.log_model(model, registered_model_name="lr", input_example=FRAME)


def _blob(digest: str) -> Path:
    return Path(session().artifacts.uri.removeprefix("file://")) / blob_key(digest)


def _same_model_with_form(version: ModelVersion, form: str | None) -> ModelVersion:
    """Version 2 of `lr`: version 1's folder, with fast-load form `form` (or none)."""
    source = VersionSource(
        run_id=version.run_id,
        artifact_path=version.artifact_path,
        artifact_digest=version.artifact_digest,
        flavor=version.flavor,
        signature=version.signature,
        environment=version.environment,
        fast_load_digest=form,
    )
    return registry().create_version("lr", source)


class Touch:
    """Unpickling this creates a file: a stand-in for code a forged pickle would run."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self) -> tuple[Any, ...]:
        return (Path.touch, (self.path,))


PROBE = """
import sys
import pandas as pd
from knot.registry.forms import model_cache
from knot.serving.sources import load_source

def refuse(*args, **kwargs):
    raise AssertionError("the first start went through the skops folder")

model_cache._load_in_helper = model_cache.load_folder = refuse
served = load_source("models:/lr/1")
frame = pd.DataFrame({"a": [0.0, 5.0], "b": [1.0, 0.0]})
print("skops.io" in sys.modules, served.model.model.predict(frame).tolist(), served.version)
"""


def test_registering_a_skops_model_records_its_fast_load_form(logistic: ModelVersion) -> None:
    assert logistic.fast_load_digest is not None
    assert knot.get_model_version("models:/lr/1").fast_load_digest == logistic.fast_load_digest
    header, meta, payload = parse(session().artifacts.get_bytes(logistic.fast_load_digest))
    assert meta.saved.format == "skops" and meta.signature == logistic.signature
    assert header["versions"]["scikit-learn"] is not None
    assert pickle.loads(payload).predict(FRAME).tolist() == TARGET


def test_the_first_start_unpickles_the_form_and_never_imports_skops(
    logistic: ModelVersion,
) -> None:
    assert not cache_dir().exists()  # this machine never served the model
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False [0, 1] 1"
    assert cached_model(logistic.artifact_digest, "x") is not None  # and it is cached now


def test_a_changed_form_is_refused_never_unpickled_and_the_folder_is_served(
    logistic: ModelVersion, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    assert logistic.fast_load_digest is not None
    header, _, _ = parse(session().artifacts.get_bytes(logistic.fast_load_digest))
    marker = tmp_path / "forged-pickle-ran"
    blob = _blob(logistic.fast_load_digest)
    blob.chmod(0o644)
    blob.write_bytes(encode(Touch(marker), header))  # a well-formed form, other bytes
    served = load_source("models:/lr/1")
    assert "refusing the fast-load form" in caplog.text and "is corrupted" in caplog.text
    assert not marker.exists()
    assert served.model.model.predict(FRAME).tolist() == TARGET
    assert cached_model(logistic.artifact_digest, "x") is not None  # written by the helper


def test_a_form_for_other_package_versions_is_skipped(
    logistic: ModelVersion, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    assert logistic.fast_load_digest is not None
    header, _, _ = parse(session().artifacts.get_bytes(logistic.fast_load_digest))
    header["versions"]["scikit-learn"] = "0.0.1"
    marker = tmp_path / "stale-pickle-ran"
    stale = session().artifacts.put_bytes(encode(Touch(marker), header))
    _same_model_with_form(logistic, stale)
    caplog.set_level("INFO", logger="knot.registry")
    served = load_source("models:/lr/2")
    assert "for other versions" in caplog.text and "0.0.1" in caplog.text
    assert not marker.exists()
    assert served.model.model.predict(FRAME).tolist() == TARGET
    entry = json.loads(
        (cache_dir() / f"{logistic.artifact_digest.replace(':', '-')}.json").read_text()
    )
    assert entry["versions"]["scikit-learn"] != "0.0.1"  # the helper's, from the folder


def test_a_blob_that_is_not_a_form_is_skipped(
    logistic: ModelVersion, caplog: pytest.LogCaptureFixture
) -> None:
    _same_model_with_form(logistic, session().artifacts.put_bytes(b"not a fast-load form"))
    served = load_source("models:/lr/2")
    assert "not a Knot fast-load form" in caplog.text
    assert served.model.model.predict(FRAME).tolist() == TARGET


def test_a_version_without_a_form_is_loaded_by_the_helper(logistic: ModelVersion) -> None:
    older = _same_model_with_form(logistic, None)
    assert older.fast_load_digest is None
    probe = PROBE.replace("model_cache._load_in_helper = model_cache.load_folder = refuse", "")
    probe = probe.replace("models:/lr/1", "models:/lr/2")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False [0, 1] 2"  # skops ran in the helper only
