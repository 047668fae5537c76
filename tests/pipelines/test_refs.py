"""Datasets and model versions flow between steps by reference, with their lineage."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import knot
from knot.data.entities import DatasetVersion
from knot.registry.entities import ModelVersion


@knot.step
def make_rows(n: int) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    x = rng.normal(size=n)
    return pd.DataFrame({"x": x, "y": (x > 0).astype(int)})


@knot.step(cache=False)
def register_rows(rows: pd.DataFrame) -> DatasetVersion:
    return knot.register_dataset("pipeline_rows", rows)


@knot.step
def fit(dataset: DatasetVersion) -> ModelVersion:
    from sklearn.linear_model import LogisticRegression

    rows = knot.load_dataset(dataset.ref)
    model = LogisticRegression().fit(rows[["x"]], rows["y"])
    knot.log_metric("train_rows", len(rows))
    return knot.log_model(model, registered_model_name="pipe_model", input_example=rows[["x"]])


@knot.step
def describe(version: ModelVersion) -> str:
    return f"{version.uri} from run {version.run_id}"


@knot.pipeline
def train(n: int = 200) -> Any:
    version = fit(register_rows(make_rows(n)))
    return {"version": version, "text": describe(version)}


def test_versions_pass_by_reference_with_lineage(knot_home: Path) -> None:
    result = train()
    version = result.output["version"]
    assert isinstance(version, ModelVersion) and version.uri == "models:/pipe_model/1"
    fit_run = result["fit"].run_id
    assert version.run_id == fit_run  # the step's run was active while it logged the model
    assert result.output["text"] == f"models:/pipe_model/1 from run {fit_run}"
    assert result["register_rows"].output_kind == "dataset"
    assert result["fit"].output_kind == "model_version"
    graph = knot.lineage("models:/pipe_model/1", direction="up", depth=6)
    keys = {n.key for n in graph.nodes}
    assert {f"run:{fit_run}", "dataset:pipeline_rows@1"} <= keys
    assert f"artifact:{result['make_rows'].output_digest}" in keys  # back to the raw rows
    # the same rows register as the same version: the model step is a cache hit
    again = train()
    assert again["register_rows"].status == "ran" and again["fit"].status == "cached"
    assert again.output["version"].version == 1
    assert knot.list_model_versions("pipe_model")[-1].version == 1
