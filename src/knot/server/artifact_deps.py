"""The server's artifact store, opened on first use and kept on the app, for the routes
that move blobs (blob_routes) and the areas that read them (data_routes). Kept apart
from deps.py so that shared module stays as it is."""

from __future__ import annotations

import threading

from fastapi import Request

from knot.artifacts import ArtifactStore, open_blob_store
from knot.config import settings

__all__ = ["get_artifacts"]

_lock = threading.Lock()
_KEY = "knot_artifacts"


def get_artifacts(request: Request) -> ArtifactStore:
    """FastAPI dependency: the artifact store the server was started with (--artifacts,
    default KNOT_ARTIFACTS)."""
    state = request.app.state
    store: ArtifactStore | None = getattr(state, _KEY, None)
    if store is not None:
        return store
    with _lock:
        store = getattr(state, _KEY, None)
        if store is None:
            uri = getattr(state, "artifacts_uri", None) or settings().artifacts_uri
            store = open_blob_store(uri)
            setattr(state, _KEY, store)
        return store
