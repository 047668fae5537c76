"""Write MLflow stores with the real MLflow library (mlflow-skinny 3.x), as a user's
training code would: `python write_store.py FOLDER RUNS [FOLDER RUNS ...]` writes
FOLDER/mlflow.db and the artifacts under FOLDER/mlruns for each pair (one process, so
MLflow and scikit-learn are imported once).

Two experiments share the runs; every run has params, tags, metrics with a history
(and one metric logged twice at a step), a file and a folder of artifacts; some runs
are nested, failed or killed, one is deleted (never imported). Model "churn" gets two
versions logged with mlflow.sklearn.log_model, alias champion -> 2, challenger -> 1.
It runs in its own process so MLflow's global state never leaks into the tests.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import mlflow
import numpy as np
import sklearn
from mlflow.entities import Metric, Param, RunTag
from sklearn.linear_model import LogisticRegression


def main(folder: Path, total: int) -> None:
    os.chdir(folder)  # MLflow puts new experiments' artifacts in ./mlruns
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    mlflow.set_tracking_uri(uri)
    client = mlflow.MlflowClient(tracking_uri=uri)
    churn = client.create_experiment("churn", tags={"mlflow.note.content": "churn models"})
    forecast = client.create_experiment("forecast")
    shared = folder / "shared"
    shared.mkdir()
    (shared / "schema.json").write_text('{"columns": ["age", "plan"]}')
    base = 1_700_000_000_000
    parent: str | None = None
    runs: list[str] = []
    for i in range(total):
        experiment = churn if i % 4 else forecast
        tags = {"team": "growth", "mlflow.runName": f"trial-{i}"}
        if i % 20 == 1 and parent is not None:
            tags["mlflow.parentRunId"] = parent
        run = client.create_run(experiment, start_time=base + i * 1000, tags=tags)
        run_id = run.info.run_id
        runs.append(run_id)
        if i % 20 == 0:
            parent = run_id
        now = base + i * 1000
        metrics = [Metric("loss", 1.0 / (s + 1) + i * 1e-3, now + s, s) for s in range(12)]
        metrics += [Metric("auc", 0.5 + s * 0.01 + i * 1e-4, now + s, s) for s in range(12)]
        # the same step twice: the import keeps both points
        metrics += [Metric("lr", 0.1, now, 0), Metric("lr", 0.05, now + 1, 0)]
        params = [Param("depth", str(i % 7)), Param("alpha", f"{i * 0.01:.2f}")]
        client.log_batch(run_id, metrics=metrics, params=params, tags=[RunTag("seed", str(i))])
        notes = folder / "notes.txt"
        notes.write_text(f"run {i}\n" * (i % 5 + 1))
        client.log_artifact(run_id, str(notes))
        client.log_artifacts(run_id, str(shared), "plots")
        status = "FAILED" if i % 50 == 7 else "KILLED" if i % 50 == 9 else "FINISHED"
        client.set_terminated(run_id, status, end_time=now + 500)
    gone = client.create_run(churn, tags={"mlflow.runName": "deleted"})
    client.delete_run(gone.info.run_id)
    _models(client, runs, churn)
    print(f"wrote {total} runs to {uri}")


def _models(client: mlflow.MlflowClient, runs: list[str], experiment: str) -> None:
    rng = np.random.default_rng(0)
    x = rng.random((40, 3))
    y = (x[:, 0] > 0.5).astype(int)
    pins = [f"scikit-learn=={sklearn.__version__}"]
    for run_id in (runs[1], runs[2]):
        model = LogisticRegression(C=1.0 + len(run_id) % 3).fit(x, y)
        with mlflow.start_run(run_id=run_id):
            mlflow.sklearn.log_model(
                model,
                name="model",
                registered_model_name="churn",
                input_example=x[:2],
                pip_requirements=pins,
            )
    client.update_registered_model("churn", description="who leaves next month")
    client.set_registered_model_alias("churn", "champion", "2")
    client.set_registered_model_alias("churn", "challenger", "1")


if __name__ == "__main__":
    pairs = sys.argv[1:]
    for folder, runs in zip(pairs[::2], pairs[1::2], strict=True):
        main(Path(folder).resolve(), int(runs))
