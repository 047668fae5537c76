"""The remote client: Knot's store interfaces implemented over a Knot server's REST API,
so code written against a local store runs unchanged with KNOT_STORE=http://host:port."""

from __future__ import annotations

__all__ = ["RestTrackingStore"]


def __getattr__(name: str) -> object:
    # lazy, so importing knot.client does not import httpx until it is used
    if name == "RestTrackingStore":
        from knot.client.rest_store import RestTrackingStore

        return RestTrackingStore
    raise AttributeError(f"module 'knot.client' has no attribute {name!r}")
