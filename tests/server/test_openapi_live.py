"""schemathesis over a real `knot server`, driven by its own /openapi.json: no request it
generates gets a 5xx, every answer is one the document lists (errors included, in
Knot's error shape), requests that break the documented constraints (a boolean for a
number, a size past int64, a malformed name) are refused, and requests that keep them
are accepted. The stateful phase follows the document's links (a created run, then its
status, artifacts, ...)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fuzz import schemathesis
from tests.server.live import live_server

pytestmark = pytest.mark.server

# Rules JSON Schema cannot state: a filter or order_by grammar, a lineage reference or a
# model URI, an age such as 7d, metric and tag keys (Unicode letters: no JSON Schema
# pattern matches them as Python does), columns of one length, a monitor result's window
# that ends after it starts and a monitor config's rule names that differ. A body valid
# by the document may still be a 422 on these operations.
CONFIG = """
[[operations]]
include-path = ["/api/v1/lineage", "/api/v1/models/resolve", "/api/v1/runs/search",
                "/api/v1/audit", "/api/v1/batch", "/api/v1/runs", "/api/v1/models/{name}/policy",
                "/api/v1/monitoring/results", "/api/v1/monitoring/models/{model}/config"]
include-method = ["GET", "POST", "PUT"]
checks.positive_data_acceptance.expected-statuses = ["2xx", "404", "409", "422"]
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("fuzzed-server")
    with live_server(f"sqlite:///{root / 'knot.db'}", f"file://{root / 'artifacts'}") as url:
        yield url


def test_schemathesis_finds_no_server_error_and_nothing_undocumented(
    server: str, tmp_path: Path
) -> None:
    # ensure_resource_availability reads any 404 after a create as the created thing
    # missing; here it is the version the generated promotion names that does not exist
    run = schemathesis(
        server,
        tmp_path,
        examples=40,
        phases="examples,coverage,fuzzing,stateful",
        config=CONFIG,
        exclude=("ensure_resource_availability",),
    )
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    assert "Server error" not in run.stdout
