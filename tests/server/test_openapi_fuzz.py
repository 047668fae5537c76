"""Property tests from the server's own OpenAPI schema (schemathesis): requests that
hypothesis generates for every route never get a 5xx, and documented responses match
their schema."""

from __future__ import annotations

import tempfile

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from knot.server.app import create_app

_root = tempfile.mkdtemp(prefix="knot-fuzz-")
schema = schemathesis.openapi.from_asgi(
    "/openapi.json", create_app(f"sqlite:///{_root}/knot.db", f"file://{_root}/artifacts")
)


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_generated_requests_never_get_a_server_error(case: schemathesis.Case) -> None:
    case.call_and_validate(checks=[not_a_server_error, response_schema_conformance])
