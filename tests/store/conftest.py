"""The tracking store conformance suite runs once per backend of tests/backends.py:
SQLite, PostgreSQL and the HTTP client talking to the session's live `knot server`."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from knot.backends import open_tracking_store
from knot.tracking.protocol import TrackingStore
from tests.backends import StoreBackend


@pytest.fixture
def tracking_store(store_backend: StoreBackend) -> Iterator[TrackingStore]:
    store = open_tracking_store(store_backend.uri)
    yield store
    store.close()
