"""The environment a model needs: this Python and the exact versions of the packages its
flavor names, read from installed metadata (no dependency resolution, so a few ms)."""

from __future__ import annotations

import functools
import platform
from collections.abc import Iterable
from importlib import metadata

from knot.registry.entities import Environment

__all__ = ["capture_environment"]

# A package that ships under more than one distribution name (same import, same API).
_DISTRIBUTIONS = {"xgboost": ("xgboost", "xgboost-cpu")}


@functools.cache
def _version(package: str) -> tuple[str, str] | None:
    # Cached per process: reading metadata scans sys.path (ms per package), and a package
    # upgraded on disk later does not change the version this process has imported.
    for dist in _DISTRIBUTIONS.get(package, (package,)):
        try:
            return dist, metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    return None


def capture_environment(packages: Iterable[str]) -> Environment:
    """Python's version and each installed package's version (absent ones are left out)."""
    found = {}
    for package in sorted({"knot", "numpy", *packages}):
        hit = _version(package)
        if hit is not None:
            found[hit[0]] = hit[1]
    return Environment(python=platform.python_version(), packages=found)
