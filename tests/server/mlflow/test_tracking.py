"""MLflow's fluent API and MlflowClient log to a live `knot server`, and what they wrote
is Knot's own experiments, runs, metric history, params, tags and artifacts."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from mlflow import MlflowClient
from mlflow.entities import Metric, Param, RunTag

from knot.artifacts import ArtifactStore
from knot.tracking.sql_store import SqlTrackingStore

mlflow = pytest.importorskip("mlflow")
pytestmark = pytest.mark.server


def test_fluent_logging_lands_in_knot_runs(
    mlflow_url: str, knot_tracking: SqlTrackingStore
) -> None:
    experiment = mlflow.set_experiment("churn")
    with mlflow.start_run(run_name="baseline") as run:
        mlflow.log_param("model", "lgbm")
        mlflow.log_params({"depth": 6, "lr": 0.1})
        mlflow.log_metric("auc", 0.81)
        mlflow.log_metric("auc", 0.84, step=1)
        mlflow.log_metrics({"loss": 0.3, "acc": 0.9}, step=2)
        mlflow.set_tag("team", "growth")
    got = MlflowClient().get_run(run.info.run_id)
    assert got.info.run_name == "baseline"
    assert got.info.status == "FINISHED" and got.info.end_time is not None
    assert got.data.params == {"model": "lgbm", "depth": "6", "lr": "0.1"}
    assert got.data.metrics == {"auc": 0.84, "loss": 0.3, "acc": 0.9}
    assert got.data.tags["team"] == "growth"

    knot_run = knot_tracking.get_run(run.info.run_id)  # the same run, in Knot's tables
    assert knot_run.experiment_id == experiment.experiment_id
    assert knot_tracking.get_experiment(experiment.experiment_id).name == "churn"
    assert knot_run.status.value == "FINISHED"
    assert knot_run.params == got.data.params
    assert knot_run.metrics["auc"].latest == 0.84 and knot_run.metrics["auc"].count == 2
    assert knot_run.tags["team"] == "growth"


def test_log_batch_and_metric_history(mlflow_url: str, knot_tracking: SqlTrackingStore) -> None:
    client = MlflowClient()
    experiment_id = client.create_experiment("batches")
    run = client.create_run(experiment_id)
    points = [Metric("loss", 1.0 / (i + 1), 1_700_000_000_000 + i, i) for i in range(50)]
    client.log_batch(
        run.info.run_id,
        metrics=[*points, Metric("odd", math.nan, 1_700_000_000_000, 0)],
        params=[Param("optimizer", "adam")],
        tags=[RunTag("stage", "dev")],
    )
    history = client.get_metric_history(run.info.run_id, "loss")
    assert [(m.step, m.value) for m in history] == [(p.step, p.value) for p in points]
    assert math.isnan(client.get_metric_history(run.info.run_id, "odd")[0].value)
    stored = knot_tracking.get_metric_history(run.info.run_id, "loss")
    assert [p.value for p in stored] == [p.value for p in points]
    assert knot_tracking.get_run(run.info.run_id).params == {"optimizer": "adam"}
    client.set_terminated(run.info.run_id, "FAILED")
    assert knot_tracking.get_run(run.info.run_id).status.value == "FAILED"


def test_artifacts_are_knot_run_artifacts(
    mlflow_url: str,
    tmp_path: Path,
    knot_tracking: SqlTrackingStore,
    knot_artifacts: ArtifactStore,
) -> None:
    (tmp_path / "report.txt").write_text("auc 0.84\n")
    folder = tmp_path / "plots"
    (folder / "roc").mkdir(parents=True)
    (folder / "roc" / "curve.csv").write_text("fpr,tpr\n0,0\n1,1\n")
    (folder / "summary.json").write_text('{"ok": true}')
    mlflow.set_experiment("artifacts")
    with mlflow.start_run() as run:
        mlflow.log_artifact(str(tmp_path / "report.txt"))
        mlflow.log_artifacts(str(folder), artifact_path="plots")
        mlflow.log_text("hello", "notes/hello.txt")
    client = MlflowClient()
    run_id = run.info.run_id
    assert [(f.path, f.is_dir) for f in client.list_artifacts(run_id)] == [
        ("notes", True),
        ("plots", True),
        ("report.txt", False),
    ]
    assert [f.path for f in client.list_artifacts(run_id, "plots")] == [
        "plots/roc",
        "plots/summary.json",
    ]
    out = Path(mlflow.artifacts.download_artifacts(run_id=run_id, dst_path=str(tmp_path / "dl")))
    assert (out / "plots" / "roc" / "curve.csv").read_text() == "fpr,tpr\n0,0\n1,1\n"
    assert (out / "report.txt").read_text() == "auc 0.84\n"
    assert mlflow.artifacts.load_text(f"runs:/{run_id}/notes/hello.txt") == "hello"

    records = {r.path: r for r in knot_tracking.list_artifacts(run_id)}
    assert set(records) == {
        "report.txt",
        "plots/roc/curve.csv",
        "plots/summary.json",
        "notes/hello.txt",
    }
    assert knot_artifacts.get_bytes(records["report.txt"].digest) == b"auc 0.84\n"


def test_search_runs_with_filters_and_order(mlflow_url: str) -> None:
    experiment = mlflow.set_experiment("search")
    for i, (model, auc) in enumerate([("lgbm", 0.7), ("xgb", 0.9), ("lgbm", 0.8), ("lgbm", 0.6)]):
        with mlflow.start_run(run_name=f"r{i}"):
            mlflow.log_param("model", model)
            mlflow.log_metric("auc", auc)
            mlflow.set_tag("fold", str(i % 2))
    ids = [experiment.experiment_id]
    found = mlflow.search_runs(
        ids,
        filter_string="metrics.auc > 0.65 and params.model = 'lgbm'",
        order_by=["metrics.auc DESC"],
    )
    assert list(found["metrics.auc"]) == [0.8, 0.7]
    client = MlflowClient()
    runs = client.search_runs(ids, "tags.fold = '1'", order_by=["attributes.run_name ASC"])
    assert [r.info.run_name for r in runs] == ["r1", "r3"]
    quoted = client.search_runs(ids, 'metrics."auc" <= 0.7 and attributes.status = "FINISHED"')
    assert sorted(r.data.metrics["auc"] for r in quoted) == [0.6, 0.7]
    liked = client.search_runs(ids, "params.model LIKE 'lg%'", order_by=["metrics.auc ASC"])
    assert [r.data.metrics["auc"] for r in liked] == [0.6, 0.7, 0.8]

    first = client.search_runs(ids, max_results=3, order_by=["metrics.auc DESC"])
    second = client.search_runs(
        ids, max_results=3, page_token=first.token, order_by=["metrics.auc DESC"]
    )
    assert [r.data.metrics["auc"] for r in [*first, *second]] == [0.9, 0.8, 0.7, 0.6]

    client.delete_run(runs[0].info.run_id)
    assert len(client.search_runs(ids)) == 3
    deleted = client.search_runs(ids, run_view_type=mlflow.entities.ViewType.DELETED_ONLY)
    assert [r.info.run_id for r in deleted] == [runs[0].info.run_id]
    assert deleted[0].info.lifecycle_stage == "deleted"
    client.restore_run(runs[0].info.run_id)
    assert len(client.search_runs(ids)) == 4


@pytest.mark.parametrize(
    ("filter_string", "named"),
    [
        ("metrics.auc IS NULL", "IS NULL"),
        ("datasets.name = 'train'", "datasets"),
        ("attributes.artifact_uri = 'x'", "artifact_uri"),
        ("metrics.auc >", "a value is missing"),
        ("params.model > 'a'", "supports"),
    ],
)
def test_unsupported_filters_say_so(mlflow_url: str, filter_string: str, named: str) -> None:
    experiment = mlflow.set_experiment("filters")
    with pytest.raises(mlflow.exceptions.MlflowException, match=named) as caught:
        MlflowClient().search_runs([experiment.experiment_id], filter_string)
    assert caught.value.error_code == "INVALID_PARAMETER_VALUE"


def test_experiments_through_mlflow(mlflow_url: str, knot_tracking: SqlTrackingStore) -> None:
    client = MlflowClient()
    made = client.create_experiment("exp-a", tags={"mlflow.note.content": "about a"})
    client.create_experiment("exp-b")
    assert knot_tracking.get_experiment(made).description == "about a"
    assert client.get_experiment_by_name("exp-a").experiment_id == made
    assert client.get_experiment_by_name("missing") is None
    names = [
        e.name
        for e in client.search_experiments(
            filter_string="name LIKE 'exp-%'", order_by=["name DESC"]
        )
    ]
    assert names == ["exp-b", "exp-a"]
    with mlflow.start_run() as run:  # no experiment set: MLflow's "0" is Knot's Default
        mlflow.log_metric("x", 1.0)
    default = knot_tracking.get_experiment_by_name("Default")
    assert default is not None
    assert knot_tracking.get_run(run.info.run_id).experiment_id == default.experiment_id
