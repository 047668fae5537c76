"""Monitor plugins: code that sees every logged batch of predictions, off the hot path.

A plugin is named "module:factory" (`knot serve ... --plugin pkg.mod:factory`, or
`ServeConfig.plugins`); the factory is called once per worker with the service's config
and its Prometheus registry, and returns an object with `observe(batch)`. `observe` runs
on the prediction log's background thread, once for each batch the log writes (one
model version and role); gauges the plugin registers on the registry show on /metrics.
A plugin that raises is logged and kept; it never fails a request.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import numpy as np
from prometheus_client import CollectorRegistry

from knot.errors import Invalid
from knot.serving.columns import Columns
from knot.serving.sources import ServedModel

if TYPE_CHECKING:
    # a ServeConfig checks its plugin names with resolve_factory, so only types point back
    from knot.serving.config import ServeConfig

__all__ = [
    "ObservedBatch",
    "PluginFactory",
    "ServicePlugin",
    "load_plugins",
    "notify",
    "resolve_factory",
]

log = logging.getLogger("knot.serving")


@dataclass(frozen=True)
class ObservedBatch:
    """Logged rows of one model version and role: the checked input columns, the
    predictions, each row's request id (`request_ids[i]` is row i's) and, for a binary
    classifier, the positive class's probabilities the log computed (else None)."""

    served: ServedModel
    role: str
    columns: Columns
    predictions: np.ndarray
    request_ids: list[str]
    scores: np.ndarray | None = None


class ServicePlugin(Protocol):
    def observe(self, batch: ObservedBatch) -> None:
        """Called on the prediction log's thread for every logged batch."""
        ...


PluginFactory = Callable[["ServeConfig", CollectorRegistry], ServicePlugin]


def resolve_factory(spec: str) -> PluginFactory:
    """The callable "module:factory" names; Invalid says what is wrong with the name."""
    module_name, sep, attr = spec.partition(":") if isinstance(spec, str) else ("", "", "")
    if not sep or not module_name or not attr:
        raise Invalid(
            f"plugin {spec!r} is not of the form module:factory; pass e.g. "
            "--plugin knot.monitoring.live:factory",
            field="plugin",
        )
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise Invalid(
            f"plugin {spec!r}: module {module_name!r} cannot be imported ({exc}); install it "
            "or put it on PYTHONPATH",
            field="plugin",
        ) from None
    factory = getattr(module, attr, None)
    if not callable(factory):
        raise Invalid(
            f"plugin {spec!r}: module {module_name!r} has no callable {attr!r}; name the "
            "function that builds the plugin",
            field="plugin",
        )
    return factory


def load_plugins(config: ServeConfig, registry: CollectorRegistry) -> list[ServicePlugin]:
    """Build every plugin the config names, in order."""
    plugins: list[ServicePlugin] = []
    for spec in config.plugins:
        plugin = resolve_factory(spec)(config, registry)
        if not callable(getattr(plugin, "observe", None)):
            raise Invalid(
                f"plugin {spec!r} built {type(plugin).__name__!r}, which has no observe(batch) "
                "method; return an object with one",
                field="plugin",
            )
        plugins.append(plugin)
    return plugins


def notify(plugins: list[ServicePlugin], batch: ObservedBatch) -> None:
    """Give `batch` to every plugin; one that raises is logged, the others still run."""
    for plugin in plugins:
        try:
            plugin.observe(batch)
        except Exception:
            log.exception("monitor plugin %s failed on a batch", type(plugin).__name__)
