"""The registry SDK through `knot.*`: log, register, load by URI, promote, model cards,
lineage, and what happens to a tampered model; locally and through a real server."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from tests.backends import StoreBackend

import knot
from knot.artifacts._digest import blob_key
from knot.config import settings
from knot.errors import Conflict, Corrupted, Invalid, NotFound
from knot.governance.identity import acting_as
from knot.governance.lineage import Edge, add_edges, edges_from, edges_to
from knot.store.database import Database
from knot.tracking.fluent import session


def fitted() -> tuple[object, pd.DataFrame]:
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(1)
    X = pd.DataFrame({"tenure": rng.integers(0, 72, 200), "charges": rng.normal(70, 20, 200)})
    y = (X["tenure"] < 24).astype(int)
    return LogisticRegression(max_iter=500).fit(X, y), X


def train(name: str = "churn", auc: float = 0.9) -> knot.ModelVersion:
    model, X = fitted()
    with knot.start_run("train", experiment="churn") as run:
        run.log_params({"C": 1.0})
        run.log_metric("val_auc", auc)
        return knot.log_model(model, "model", registered_model_name=name, input_example=X.head())


def test_log_load_and_resolve(knot_home: Path) -> None:
    model, X = fitted()
    first, second = train(), train()
    assert (first.version, second.version) == (1, 2) and first.run_id != second.run_id
    knot.set_alias("churn", "challenger", 1)
    for uri, number in [
        ("models:/churn@challenger", 1),
        ("models:/churn/2", 2),
        ("models:/churn", 2),
    ]:
        loaded = knot.load_model(uri)
        assert loaded.source == f"models:/churn/{number}"
        assert np.array_equal(loaded.predict(X), model.predict(X))  # type: ignore[attr-defined]
    assert knot.get_model_version("models:/churn@challenger") == knot.get_model_version("churn", 1)
    assert [v.version for v in knot.list_model_versions("churn")] == [1, 2]
    assert knot.get_model("churn").aliases == {"challenger": 1}
    with pytest.raises(NotFound, match="registered models: churn"):
        knot.load_model("models:/fraud")
    with pytest.raises(Invalid, match="use models:/NAME@ALIAS"):
        knot.load_model("churn@champion")


def test_an_unregistered_model_loads_by_run_and_registers_later(knot_home: Path) -> None:
    model, X = fitted()
    with knot.start_run("train") as run:
        logged = knot.log_model(model, "clf", input_example=X.head())
        run.log_text("not a model", "notes/readme.txt")
        (knot_home / "plain").mkdir()
        (knot_home / "plain" / "weights.bin").write_bytes(b"\x00")
        run.log_artifact(knot_home / "plain", "plain")
    assert logged.uri == f"runs:/{run.run_id}/clf"
    assert np.array_equal(knot.load_model(logged.uri).predict(X), model.predict(X))  # type: ignore[attr-defined]
    version = knot.register_model(run.run_id, "clf", "churn")
    assert (version.version, version.artifact_digest) == (1, logged.artifact_digest)
    assert version.signature == logged.signature
    with pytest.raises(Invalid, match=r"no logged model at 'notes/readme\.txt'"):
        knot.register_model(run.run_id, "notes/readme.txt", "churn")
    with pytest.raises(Invalid, match="not a Knot model"):
        knot.register_model(run.run_id, "plain", "churn")
    with pytest.raises(Invalid, match="no artifact 'nope'; its artifacts: clf, notes"):
        knot.load_model(f"runs:/{run.run_id}/nope")


def test_a_tampered_model_blob_is_refused_before_loading(knot_home: Path) -> None:
    version = train()
    store = session().artifacts
    (entry,) = [
        e
        for e in store.read_manifest(version.artifact_digest).entries
        if e.path.startswith("model.")
    ]
    root = Path(settings().artifacts_uri.removeprefix("file://"))
    blob = root / blob_key(entry.digest)
    blob.chmod(0o644)
    blob.write_bytes(blob.read_bytes()[:-3] + b"bad")
    with pytest.raises(Corrupted, match=f"blob {entry.digest}"):
        knot.load_model("models:/churn/1")


def test_promotion_through_the_policy(knot_home: Path) -> None:
    weak, strong = train(auc=0.7), train(auc=0.91)
    knot.set_promotion_policy("churn", ["val_auc >= 0.8"], approver_role="approver")
    with pytest.raises(Conflict, match=r"val_auc is 0\.7"):
        knot.promote("churn", weak.version)
    pending = knot.promote("churn", strong.version, comment="beats v1")
    assert pending.status == "pending"
    with acting_as("lead"):
        knot.approve(pending.request_id, "ok", roles={"approver"})
    assert knot.load_model("models:/churn@champion").source == "models:/churn/2"
    assert [r.status for r in knot.list_promotion_requests("churn", "approved")] == ["approved"]
    with pytest.raises(Invalid, match="status 'done' is not one of"):
        knot.list_promotion_requests("churn", "done")
    knot.delete_promotion_policy("churn")
    assert knot.get_promotion_policy("churn") is None


def test_lineage_runs_from_dataset_to_model_version(knot_home: Path) -> None:
    db = Database(settings().store_uri)
    model, X = fitted()
    with knot.start_run("train") as run:
        with db.write() as conn:
            add_edges(conn, [Edge("dataset", "telco@2", "input", "run", run.run_id)])
        version = knot.log_model(model, registered_model_name="churn", input_example=X.head())
    assert version.datasets == ["telco@2"]
    with db.read() as conn:
        (upstream,) = edges_to(conn, "run", run.run_id)
        (downstream,) = edges_from(conn, "run", run.run_id)
    db.close()
    assert (upstream.from_kind, upstream.from_id) == ("dataset", "telco@2")
    assert (downstream.relation, downstream.to_kind, downstream.to_id) == (
        "produced",
        "model_version",
        "churn/1",
    )


def test_model_card(knot_home: Path, tmp_path: Path) -> None:
    version = train()
    knot.update_model_version(
        "churn", 1, intended_use="Rank customers by churn risk", limitations="US data only"
    )
    knot.promote("churn", 1, to="champion", comment="first model")
    text = knot.model_card("churn", 1, html=tmp_path / "card.html", markdown=tmp_path / "card.md")
    assert (tmp_path / "card.md").read_text() == text
    for expected in [
        "# Model card: churn v1",
        "aliases: champion",
        "Rank customers by churn risk",
        "US data only",
        "| val_auc | 0.9 |",
        "| C | 1.0 |",
        "| tenure | int64 |",
        f"from run {version.run_id}",
        "| scikit-learn |",
        "| champion | applied |",
        "No dataset version is recorded",
    ]:
        assert expected in text, expected
    page = (tmp_path / "card.html").read_text()
    assert "<h2>Intended use</h2>" in page and "plotly" in page and "val_auc" in page
    with pytest.raises(NotFound, match="no version 4"):
        knot.model_card("churn", 4)
    with pytest.raises(Invalid, match="status 'gone' is not one of: ready, archived"):
        knot.update_model_version("churn", 1, status="gone")


@pytest.mark.server
def test_the_sdk_works_through_a_server(
    knot_home: Path, remote_backend: StoreBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    remote_backend.use(monkeypatch)
    model, X = fitted()
    name = f"remote-{knot_home.parent.name[-12:]}".replace("_", "-")
    version = train(name)
    knot.set_promotion_policy(name, ["val_auc >= 0.8"])
    assert knot.promote(name, version.version).status == "applied"
    loaded = knot.load_model(f"models:/{name}@champion")
    assert np.array_equal(loaded.predict(X), model.predict(X))  # type: ignore[attr-defined]
    assert "| val_auc | 0.9 |" in knot.model_card(name, version.version)
