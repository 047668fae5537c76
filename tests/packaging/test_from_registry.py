"""Packing a registered model version: provenance inside the kit, lineage and audit in
the store, and the model loaded back from the kit, locally and from a registry."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import knot
from knot.errors import Corrupted, Invalid
from knot.governance.lineage import edges_from
from knot.packaging import load_model_from_kit
from knot.packaging.from_registry import pack_model_version
from knot.packaging.layout import open_kit_store
from knot.packaging.signing import generate_keys, sign
from knot.packaging.transfer import push
from knot.packaging.unpack import kitfile_of
from tests.packaging.conftest import OciRegistry


@pytest.fixture
def churn(knot_home: Path) -> knot.ModelVersion:
    from sklearn.linear_model import LogisticRegression

    frame = pd.DataFrame({"tenure": np.arange(40.0), "charges": np.linspace(20, 90, 40)})
    frame["churn"] = (frame["tenure"] < 20).astype(int)
    knot.register_dataset("customers", frame)
    with knot.start_run("train", experiment="churn") as run:
        data = knot.load_dataset("customers@1")
        X = data[["tenure", "charges"]]
        run.log_metric("val_auc", 0.91)
        version = knot.log_model(
            LogisticRegression().fit(X, data["churn"]),
            registered_model_name="churn",
            input_example=X.head(),
        )
    return version


def test_pack_carries_provenance(churn: knot.ModelVersion) -> None:
    packed = pack_model_version("models:/churn/1")
    assert packed.reference == "churn:1"
    notes = packed.manifest["annotations"]
    assert notes["ml.knot.run-id"] == churn.run_id
    assert json.loads(notes["ml.knot.metrics"]) == {"val_auc": 0.91}
    store = open_kit_store()
    kitfile = kitfile_of(store, packed.manifest)
    params = kitfile.model.parameters["knot"] if kitfile.model else {}
    assert params["run_id"] == churn.run_id and params["flavor"] == churn.flavor
    assert params["datasets"][0]["ref"] == "customers@1"
    assert params["datasets"][0]["digest"].startswith("sha256:")
    kinds = [layer["mediaType"].split(".")[3] for layer in packed.manifest["layers"]]
    assert kinds == ["model", "dataset", "docs"]
    assert pack_model_version("models:/churn/1", "churn:again").digest == packed.digest
    without = pack_model_version("models:/churn/1", "churn:slim", include_datasets=False)
    assert len(without.manifest["layers"]) == 2


def test_lineage_and_audit(churn: knot.ModelVersion) -> None:
    from knot.governance.audit import verify
    from knot.tracking.fluent import session

    knot.set_alias("churn", "champion", 1)
    packed = pack_model_version("models:/churn@champion")
    assert packed.reference == "churn:1"
    db = session().store.db  # type: ignore[attr-defined]
    with db.read() as conn:
        edges = edges_from(conn, "model_version", "churn/1")
        assert any(e.relation == "packaged" and e.to_id == packed.digest for e in edges)
        from sqlalchemy import select

        from knot.governance.tables import audit_log

        actions = [r.action for r in conn.execute(select(audit_log.c.action))]
        assert "modelkit.pack" in actions
        assert verify(conn) == []


def test_load_model_from_kit(
    churn: knot.ModelVersion, oci_registry: OciRegistry, tmp_path: Path
) -> None:
    pack_model_version("models:/churn/1")
    X = pd.DataFrame({"tenure": [1.0, 30.0], "charges": [25.0, 80.0]})
    expected = knot.load_model("models:/churn/1").predict(X)
    assert (load_model_from_kit("churn:1").predict(X) == expected).all()
    target = f"{oci_registry.address}/serve/churn:1"
    push("churn:1", target)
    loaded = load_model_from_kit(f"oci://{target}", store=open_kit_store(tmp_path / "s"))
    assert (loaded.predict(X) == expected).all()
    generate_keys(tmp_path / "k.key", tmp_path / "k.pub")
    with pytest.raises(Exception, match="is not signed"):
        load_model_from_kit("churn:1", public_key=tmp_path / "k.pub")
    sign("churn:1", tmp_path / "k.key")
    assert load_model_from_kit("churn:1", public_key=tmp_path / "k.pub").flavor == churn.flavor
    generate_keys(tmp_path / "o.key", tmp_path / "o.pub")
    with pytest.raises(Corrupted):
        load_model_from_kit("churn:1", public_key=tmp_path / "o.pub")


def test_kit_without_model(context: Path, knot_home: Path) -> None:
    from knot.packaging.pack import pack_folder

    (context / "Kitfile").write_text("manifestVersion: '1.0'\ndocs: [{path: README.md}]\n")
    pack_folder(context, "docs-only:1")
    with pytest.raises(Invalid, match="holds no model"):
        load_model_from_kit("docs-only:1")
