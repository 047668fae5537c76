"""The served-model cache: a skops model is loaded through skops once, then unpickled
from KNOT_HOME/cache/served (no download, no skops import); other package versions or a
damaged entry fall back to the real load; models in other formats are not cached."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import knot
from knot.registry.forms import model_cache
from knot.registry.forms.model_cache import cache_dir, cached_model
from knot.serving.sources import load_source

FRAME = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0, 4.0, 5.0], "b": [1.0, 0.0, 1.0, 0.0, 1.0, 0.0]})
TARGET = [0, 0, 0, 1, 1, 1]


@pytest.fixture
def logistic(knot_home: Path) -> str:
    # a pipeline has no numpy form (knot.registry.forms.linear_form): served from the pickle
    model = make_pipeline(StandardScaler(), LogisticRegression()).fit(FRAME, TARGET)
    version = knot.log_model(model, registered_model_name="lr", input_example=FRAME)
    assert knot.get_model_version("models:/lr/1").flavor == "sklearn"
    return version.artifact_digest


def _entry(digest: str, suffix: str) -> Path:
    return cache_dir() / f"{digest.replace(':', '-')}.{suffix}"


def test_the_second_load_comes_from_the_cache_without_the_artifact_store(
    logistic: str, knot_home: Path
) -> None:
    first = load_source("models:/lr/1")
    assert _entry(logistic, "pkl").is_file() and _entry(logistic, "json").is_file()
    shutil.rmtree(knot_home / "artifacts")  # a real load would fail now
    second = load_source("models:/lr/1")
    assert (second.name, second.version, second.digest) == ("lr", 1, logistic)
    assert second.signature == first.signature
    assert hasattr(second.model, "predict_proba")
    assert np.array_equal(second.model.model.predict(FRAME), first.model.model.predict(FRAME))


PROBE = """
import sys
import pandas as pd
from knot.serving.sources import load_source
frame = pd.DataFrame({"a": [0.0, 5.0], "b": [1.0, 0.0]})
first = load_source("models:/lr/1")
again = load_source("models:/lr/1")
print("skops.io" in sys.modules, first.model.model.predict(frame).tolist(), again.version)
"""


def test_the_service_process_never_imports_skops(logistic: str) -> None:
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False [0, 1] 1"  # neither on the first load nor later
    assert _entry(logistic, "pkl").is_file()  # the helper process wrote the entry


def test_without_a_writable_cache_the_model_is_loaded_here(logistic: str, knot_home: Path) -> None:
    (knot_home / "cache").write_text("not a folder")  # the helper cannot write its entry
    served = load_source("models:/lr/1")
    assert served.model.model.predict(FRAME).tolist() == TARGET


def test_other_package_versions_miss_the_cache(logistic: str) -> None:
    load_source("models:/lr/1")
    header = json.loads(_entry(logistic, "json").read_text())
    header["versions"]["numpy"] = "0.0.1"
    _entry(logistic, "json").write_text(json.dumps(header))
    assert cached_model(logistic, "models:/lr/1") is None
    load_source("models:/lr/1")  # the real load writes the entry again
    assert cached_model(logistic, "models:/lr/1") is not None


def test_a_damaged_entry_is_a_miss_and_is_written_again(
    logistic: str, caplog: pytest.LogCaptureFixture
) -> None:
    load_source("models:/lr/1")
    _entry(logistic, "pkl").write_bytes(_entry(logistic, "pkl").read_bytes()[:20])
    assert cached_model(logistic, "models:/lr/1") is None
    assert "ignoring the cached copy" in caplog.text
    served = load_source("models:/lr/1")
    assert served.model.model.predict(FRAME).tolist() == TARGET
    assert cached_model(logistic, "models:/lr/1") is not None


def test_only_the_most_recently_used_entries_are_kept(
    logistic: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(model_cache, "KEEP", 2)
    other = LogisticRegression(C=0.5).fit(FRAME, TARGET)
    third = LogisticRegression(C=0.1).fit(FRAME, TARGET)
    digests = [logistic]
    for model in (other, third):
        digests.append(
            knot.log_model(model, registered_model_name="lr", input_example=FRAME).artifact_digest
        )
    load_source("models:/lr/1")
    load_source("models:/lr/2")
    load_source("models:/lr/1")  # a hit: version 1 is now the most recently used
    load_source("models:/lr/3")
    assert [cached_model(d, "x") is not None for d in digests] == [True, False, True]
    assert len(list(cache_dir().glob("*.pkl"))) == 2


def test_models_in_fast_formats_are_not_cached(churn: Path) -> None:
    load_source("models:/churn/1")
    assert not cache_dir().exists() or not any(cache_dir().iterdir())
