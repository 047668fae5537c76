"""The registry records a version's fast-load form (knot.registry.forms.fast_load): the digest
round-trips on every backend and is audited; log_model and register_model write the form
for skops models only."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sqlalchemy import select
from tests.registry.conftest import Backend
from tests.serving.models import Threshold

import knot
from knot.errors import Invalid
from knot.governance.tables import audit_log
from knot.registry.forms.fast_load import parse, runtime_versions
from knot.tracking.fluent import session

X = [[0.0, 1.0], [1.0, 0.0], [2.0, 1.0], [3.0, 0.0]]
Y = [0, 0, 1, 1]
FORM = "sha256:" + "ab" * 32


def test_the_form_digest_round_trips_and_is_audited(backend: Backend, model_name: str) -> None:
    source = backend.model_run().model_copy(update={"fast_load_digest": FORM})
    created = backend.registry.create_version(model_name, source)
    assert created.fast_load_digest == FORM
    assert backend.registry.get_version(model_name, 1).fast_load_digest == FORM
    plain = backend.registry.create_version(model_name, backend.model_run())
    assert plain.fast_load_digest is None
    with backend.db.read() as conn:
        rows = conn.execute(
            select(audit_log.c.entity_id, audit_log.c.after).where(
                audit_log.c.entity_kind == "model_version"
            )
        ).all()
    after = {r.entity_id: json.loads(r.after) for r in rows}
    assert after[f"{model_name}/1"]["fast_load_digest"] == FORM
    assert "fast_load_digest" not in after[f"{model_name}/2"]


def test_log_and_register_write_the_form_of_a_skops_model(knot_home: Path) -> None:
    model = LogisticRegression().fit(X, Y)
    logged = knot.log_model(model, registered_model_name="lr", input_example=X)
    assert logged.fast_load_digest is not None
    registered = knot.register_model(logged.run_id, logged.artifact_path, "lr-again")
    assert registered.fast_load_digest == logged.fast_load_digest  # the same bytes
    header, meta, payload = parse(session().artifacts.get_bytes(logged.fast_load_digest))
    assert header["versions"] == runtime_versions(meta.saved.packages)
    assert pickle.loads(payload).predict(X).tolist() == Y


def test_models_that_load_fast_get_no_form(knot_home: Path) -> None:
    example = pd.DataFrame({"tenure": [1.0, 20.0]})
    plain = knot.log_model(Threshold(10.0), registered_model_name="plain", input_example=example)
    assert plain.flavor == "python" and plain.fast_load_digest is None


def test_a_blob_that_is_not_a_form_is_invalid() -> None:
    with pytest.raises(Invalid, match="not a Knot fast-load form") as info:
        parse(b"pickle bytes")
    assert info.value.field == "fast_load_digest"
    with pytest.raises(Invalid, match="header of this fast-load form is malformed"):
        parse(b'knot-fast-load/1\n{"versions": {}}\n')
