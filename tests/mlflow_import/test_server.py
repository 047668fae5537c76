"""`knot import mlflow` into a live `knot server` (KNOT_STORE=http://...): the same
writes over HTTP, the artifacts into the store the server shares."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.backends import open_backend
from tests.cli.knot_process import assert_ok, run
from tests.mlflow_import.compare import assert_same
from tests.mlflow_import.conftest import MlflowStore


@pytest.mark.server
def test_an_import_into_a_knot_server(
    small_store: MlflowStore, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    backend = open_backend("remote", request, tmp_path)
    home = tmp_path / "home"
    stores = {"KNOT_STORE": backend.uri, "KNOT_ARTIFACTS": backend.artifacts_uri}
    done = run(home, "import", "mlflow", "--from", small_store.uri, "--json", **stores)
    assert_ok(done)
    assert json.loads(done.stdout)["counts"]["versions"]["imported"] == 2
    assert assert_same(small_store.uri, backend.uri, backend.artifacts_uri) == 4
