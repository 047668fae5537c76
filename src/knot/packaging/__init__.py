"""ModelKits: a model version with its code, datasets and docs packed as one OCI artifact
in the KitOps format (Kitfile, reproducible layer tars, OCI image manifest), kept in a
local OCI image layout under KNOT_HOME and pushed to or pulled from any OCI registry.

`load_model_from_kit(ref)` loads the model inside a ModelKit (local or remote reference)
with the registry's flavors, so serving can accept `oci://REGISTRY/REPO:TAG`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from knot.packaging.loading import load_model_from_kit

__all__ = ["load_model_from_kit"]


def __getattr__(name: str) -> Any:
    # lazy, so `import knot.packaging.layout` stays light for the CLI
    if name == "load_model_from_kit":
        from knot.packaging.loading import load_model_from_kit

        return load_model_from_kit
    raise AttributeError(f"module 'knot.packaging' has no attribute {name!r}")
