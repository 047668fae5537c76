"""MLflow's registry calls against a live `knot server`: registered models, versions and
aliases are Knot's, `mlflow.sklearn.log_model(..., registered_model_name=...)` makes a
Knot version that `knot serve` serves, and MLflow's pyfunc loads what Knot registered."""

from __future__ import annotations

from pathlib import Path

import httpx
import numpy as np
import pytest
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from sklearn.linear_model import LogisticRegression

from knot.governance.audit_query import AuditQuery, query
from knot.governance.lineage import edges_to
from knot.registry.entities import MetricThreshold, PromotionPolicy
from knot.registry.protocol import RegistryStore
from knot.store.database import Database
from knot.tracking.sql_store import SqlTrackingStore
from tests.backends import KnotServer
from tests.serving.live import knot_env, knot_serve

mlflow = pytest.importorskip("mlflow")
sklearn = pytest.importorskip("sklearn")
pytestmark = pytest.mark.server

X = np.array([[0.0, 1.0], [1.0, 0.0], [0.2, 0.9], [0.9, 0.1], [0.4, 0.7], [0.8, 0.3]])
Y = np.array([0, 1, 0, 1, 0, 1])
# a pinned requirement: MLflow then skips inferring one in a subprocess
REQUIREMENTS = [f"scikit-learn=={sklearn.__version__}"]


def _log_sklearn(name: str | None, **kwargs: object) -> str:
    """Log a fitted model with MLflow's sklearn flavor in a new run; the run id."""
    with mlflow.start_run() as run:
        mlflow.log_param("C", 1.0)
        mlflow.log_metric("auc", 0.9)
        mlflow.sklearn.log_model(
            LogisticRegression().fit(X, Y),
            name="model",
            registered_model_name=name,
            input_example=X[:2],
            pip_requirements=REQUIREMENTS,
            **kwargs,
        )
    return run.info.run_id


def test_mlflow_sklearn_model_is_a_knot_version_knot_serves(
    mlflow_url: str,
    knot_server: KnotServer,
    knot_registry: RegistryStore,
    knot_tracking: SqlTrackingStore,
) -> None:
    mlflow.set_experiment("churn")
    run_id = _log_sklearn("churn")
    version = knot_registry.get_version("churn", 1)
    assert (version.run_id, version.artifact_path, version.flavor) == (run_id, "model", "sklearn")
    assert version.environment.packages["scikit-learn"] == sklearn.__version__
    folder = {r.path: r for r in knot_tracking.list_artifacts(run_id)}["model"]
    assert folder.kind == "folder" and folder.digest == version.artifact_digest
    db = Database(knot_server.store_uri)
    try:
        with db.read() as conn:
            made = [(r.action, r.entity_kind, r.entity_id) for r in query(conn, AuditQuery())]
            edges = edges_to(conn, "model_version", "churn/1")
    finally:
        db.close()
    assert ("create", "model_version", "churn/1") in made
    assert [(e.from_kind, e.from_id) for e in edges] == [("run", run_id)]

    env = knot_env()
    env.update(KNOT_STORE=knot_server.url, KNOT_ARTIFACTS=knot_server.artifacts_uri)
    with pytest.MonkeyPatch.context() as patch:
        for key, value in env.items():
            patch.setenv(key, value)
        with knot_serve("models:/churn/1") as (url, _process):
            answer = httpx.post(f"{url}/predict", json={"inputs": X.tolist()}, timeout=60)
    assert answer.status_code == 200, answer.text
    expected = LogisticRegression().fit(X, Y).predict(X).tolist()
    assert answer.json()["predictions"] == expected


def test_registered_models_versions_and_aliases(
    mlflow_url: str, knot_registry: RegistryStore
) -> None:
    mlflow.set_experiment("registry")
    client = MlflowClient()
    client.create_registered_model("fraud", description="card fraud")
    with pytest.raises(MlflowException) as taken:
        client.create_registered_model("fraud")
    assert taken.value.error_code == "RESOURCE_ALREADY_EXISTS"
    first = _log_sklearn("fraud")
    second = _log_sklearn(None)
    made = mlflow.register_model(f"runs:/{second}/model", "fraud")  # from a run's files
    assert made.version == "2" and made.run_id == second
    assert knot_registry.get_version("fraud", 2).run_id == second

    client.set_registered_model_alias("fraud", "champion", "1")
    client.set_registered_model_alias("fraud", "challenger", "2")
    assert knot_registry.get_model("fraud").aliases == {"champion": 1, "challenger": 2}
    assert client.get_model_version_by_alias("fraud", "champion").run_id == first
    assert client.get_registered_model("fraud").aliases == {"champion": "1", "challenger": "2"}
    client.delete_registered_model_alias("fraud", "challenger")
    assert knot_registry.get_model("fraud").aliases == {"champion": 1}
    with pytest.raises(MlflowException) as gone:
        client.get_model_version_by_alias("fraud", "challenger")
    assert gone.value.error_code == "RESOURCE_DOES_NOT_EXIST"

    client.update_model_version("fraud", "2", description="retrained")
    assert knot_registry.get_version("fraud", 2).description == "retrained"
    with pytest.warns(FutureWarning):  # MLflow deprecates stages; Knot answers stage "None"
        assert [v.version for v in client.get_latest_versions("fraud")] == ["2"]
    found = client.search_model_versions("name = 'fraud'")
    assert sorted(v.version for v in found) == ["1", "2"]
    assert [m.name for m in client.search_registered_models("name LIKE 'fr%'")] == ["fraud"]
    assert client.search_registered_models("name = 'other'") == []
    uri = client.get_model_version_download_uri("fraud", "1")
    assert uri.endswith(f"/{first}/artifacts/model")
    loaded = mlflow.pyfunc.load_model("models:/fraud@champion")
    assert loaded.predict(X).tolist() == LogisticRegression().fit(X, Y).predict(X).tolist()


def test_policy_guarded_alias_is_refused(mlflow_url: str, knot_registry: RegistryStore) -> None:
    mlflow.set_experiment("guarded")
    _log_sklearn("guarded")
    policy = PromotionPolicy(thresholds=[MetricThreshold.parse("auc >= 0.5")])
    knot_registry.set_policy("guarded", policy)
    with pytest.raises(MlflowException, match="promote") as refused:
        MlflowClient().set_registered_model_alias("guarded", "champion", "1")
    assert refused.value.error_code in ("INVALID_STATE", "PERMISSION_DENIED")
    assert knot_registry.get_model("guarded").aliases == {}


def test_pyfunc_loads_a_model_knot_registered(
    mlflow_url: str, knot_server: KnotServer, knot_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import knot

    monkeypatch.setenv("KNOT_STORE", knot_server.url)
    monkeypatch.setenv("KNOT_ARTIFACTS", knot_server.artifacts_uri)
    model = LogisticRegression().fit(X, Y)
    with knot.start_run(experiment="knot-made"):
        version = knot.log_model(model, registered_model_name="knot-made", input_example=X[:2])
    knot.set_alias("knot-made", "champion", version.version)
    loaded = mlflow.pyfunc.load_model("models:/knot-made@champion")
    assert loaded.predict(X).tolist() == model.predict(X).tolist()
    assert mlflow.sklearn.load_model("models:/knot-made/1").predict(X).tolist() == (
        model.predict(X).tolist()
    )


def test_pyfunc_loads_a_knot_model_saved_without_mlmodel(
    mlflow_url: str,
    knot_server: KnotServer,
    knot_home: Path,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """A model folder Knot logged before it wrote MLmodel files: the artifact proxy shows
    one, made from its knot-model.json, so MLflow's client still loads it."""
    import knot
    from knot.registry.model_folder import save

    monkeypatch.setenv("KNOT_STORE", knot_server.url)
    monkeypatch.setenv("KNOT_ARTIFACTS", knot_server.artifacts_uri)
    model = LogisticRegression().fit(X, Y)
    folder = tmp_path / "model"
    folder.mkdir()
    save(model, folder, flavor=None, input_example=X[:2])
    (folder / "MLmodel").unlink()
    with knot.start_run(experiment="older") as run:
        knot.log_artifact(folder, "model")
    knot.register_model(run.run_id, "model", "older")
    files = [f.path for f in MlflowClient().list_artifacts(run.run_id, "model")]
    assert "model/MLmodel" in files and "model/knot-model.json" in files
    loaded = mlflow.pyfunc.load_model("models:/older/1")
    assert loaded.predict(X).tolist() == model.predict(X).tolist()


def test_log_model_outside_a_run_gets_a_knot_run(
    mlflow_url: str, knot_registry: RegistryStore, knot_tracking: SqlTrackingStore
) -> None:
    mlflow.set_experiment("no-run")
    info = mlflow.sklearn.log_model(
        LogisticRegression().fit(X, Y),
        name="solo",
        registered_model_name="solo",
        pip_requirements=REQUIREMENTS,
    )
    version = knot_registry.get_version("solo", 1)
    run = knot_tracking.get_run(version.run_id)  # Knot keeps a model's files on a run
    assert (run.name, version.artifact_path) == ("solo", "solo")
    assert f"mlflow.knot.model.{info.model_id}" in run.tags  # the logged model's record
    assert mlflow.pyfunc.load_model(info.model_uri).predict(X).tolist() == (
        LogisticRegression().fit(X, Y).predict(X).tolist()
    )
