"""The feature store: feature views defined once (Python or YAML), point-in-time
training sets (DuckDB ASOF joins), online stores (SQLite, Redis) materialized by
atomic generation swaps, and the feature services models are served from.

    import knot.features as kf
    kf.apply("features.yaml")
    train = kf.training_set(labels, service="recs")      # no value from after a label
    kf.materialize()
    kf.get_online_features("recs", [{"user_id": 7}])

The SDK functions load on first use, so importing a module of this area stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from knot.features.definitions import Feature, FeatureService, FeatureView
    from knot.features.fluent import (
        apply,
        bind_model,
        feature_store,
        get_online_features,
        materialize,
        training_set,
    )

__all__ = [
    "Feature",
    "FeatureService",
    "FeatureView",
    "apply",
    "bind_model",
    "feature_store",
    "get_online_features",
    "materialize",
    "training_set",
]

_DEFINITIONS = {"Feature", "FeatureService", "FeatureView"}


def __getattr__(name: str) -> Any:
    if name not in __all__:
        raise AttributeError(f"module 'knot.features' has no attribute {name!r}")
    module = "knot.features.definitions" if name in _DEFINITIONS else "knot.features.fluent"
    return getattr(importlib.import_module(module), name)
