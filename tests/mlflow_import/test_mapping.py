"""How MLflow things map onto Knot's, in-process: where a logged model's files go on
its run, where a version's files are found, and what an MLmodel file says."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from knot.errors import Invalid, NotFound
from knot.mlflow_import.model_meta import read_mlmodel
from knot.mlflow_import.models import ModelCopier
from knot.mlflow_import.runs import logged_model_paths
from knot.mlflow_import.source import LoggedModelInfo
from knot.mlflow_import.summary import Summary


def _logged(model_id: str, name: str) -> LoggedModelInfo:
    return LoggedModelInfo(model_id, name, "r" * 32, f"/mlruns/1/models/{model_id}/artifacts")


def test_a_logged_model_takes_its_name_unless_an_artifact_or_another_model_has_it() -> None:
    paths = logged_model_paths(
        [_logged("m-2", "model"), _logged("m-1", "model"), _logged("m-3", "plots")],
        ["plots", "notes.txt"],
    )
    assert paths == {"m-1": "model", "m-2": "models/m-2", "m-3": "models/m-3"}


def _copier(
    model_paths: dict[str, tuple[str, str]],
    roots: dict[str, str],
    unlisted: frozenset[str] = frozenset(),
) -> ModelCopier:
    runs = SimpleNamespace(
        source=None, model_paths=model_paths, artifact_uris=roots, unlisted=set(unlisted)
    )
    return ModelCopier(runs, registry=None, summary=Summary())  # type: ignore[arg-type]


def _version(source: str, run_id: str | None = "a" * 32) -> SimpleNamespace:
    return SimpleNamespace(source=source, run_id=run_id, name="churn", version="3")


def test_a_version_finds_its_files_by_its_source() -> None:
    run = "a" * 32
    copier = _copier({"m-9": ("b" * 32, "model")}, {run: f"file:///mlruns/1/{run}/artifacts"})
    assert copier._files(_version("models:/m-9")) == ("b" * 32, "model")
    assert copier._files(_version(f"runs:/{run}/clf")) == (run, "clf")
    assert copier._files(_version(f"file:///mlruns/1/{run}/artifacts/clf")) == (run, "clf")
    # anywhere else: copied onto the run under a path of its own
    assert copier._files(_version("s3://bucket/elsewhere")) == (run, "registered/churn/3")
    with pytest.raises(NotFound, match="has no run"):
        copier._files(_version("s3://bucket/elsewhere", run_id=None))


def test_a_logged_model_of_a_run_not_listed_waits_for_the_next_import() -> None:
    run = "a" * 32
    copier = _copier({}, {run: f"file:///mlruns/1/{run}/artifacts"}, frozenset({run}))
    # its path on the run depends on the run's other artifacts: no stand-in path
    with pytest.raises(NotFound, match="could not be listed"):
        copier._files(_version("models:/m-9"))
    # a logged model of a listed run that has none: copied under a path of its own
    assert _copier({}, {})._files(_version("models:/m-9")) == (run, "registered/churn/3")


def test_an_mlmodel_file_gives_the_flavor_environment_and_signature(tmp_path: Path) -> None:
    (tmp_path / "MLmodel").write_text(
        "flavors:\n"
        "  python_function: {python_version: 3.11.4, loader_module: mlflow.sklearn}\n"
        "  sklearn: {sklearn_version: 1.9.1, serialization_format: skops}\n"
        "signature:\n"
        '  inputs: \'[{"type": "double", "name": "age", "required": true},'
        ' {"type": "string", "name": "plan", "required": false}]\'\n'
        '  outputs: \'[{"type": "tensor", "tensor-spec": {"dtype": "int64", "shape": [-1]}}]\'\n'
    )
    (tmp_path / "requirements.txt").write_text("mlflow==3.18.0\nscikit-learn==1.9.1\ncloudpickle\n")
    meta = read_mlmodel(tmp_path)
    assert meta.flavor == "mlflow.sklearn"
    assert meta.environment.python == "3.11.4"
    assert meta.environment.packages == {
        "mlflow": "3.18.0",
        "scikit-learn": "1.9.1",
        "cloudpickle": "",
    }
    assert meta.signature is not None and meta.signature.input_kind == "dataframe"
    assert meta.signature.columns == ["age", "plan"]
    assert [c.nullable for c in meta.signature.inputs] == [False, True]
    assert meta.signature.outputs[0].shape == [-1]


def test_a_folder_without_an_mlmodel_or_a_flavor_is_refused(tmp_path: Path) -> None:
    with pytest.raises(Invalid, match="no MLmodel file"):
        read_mlmodel(tmp_path)
    (tmp_path / "MLmodel").write_text("artifact_path: model\n")
    with pytest.raises(Invalid, match="names no flavor"):
        read_mlmodel(tmp_path)
    (tmp_path / "MLmodel").write_text("flavors: [unclosed\n")
    with pytest.raises(Invalid, match="not YAML"):
        read_mlmodel(tmp_path)
