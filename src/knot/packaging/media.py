"""The media types and annotation keys of a KitOps ModelKit (kit's pkg/lib/constants)."""

from __future__ import annotations

__all__ = [
    "ARTIFACT_TYPE",
    "CLI_VERSION",
    "CONFIG_TYPE",
    "LAYER_KINDS",
    "MANIFEST_TYPE",
    "layer_kind",
    "layer_media_type",
]

MANIFEST_TYPE = "application/vnd.oci.image.manifest.v1+json"
ARTIFACT_TYPE = "application/vnd.kitops.modelkit.manifest.v1+json"
CONFIG_TYPE = "application/vnd.kitops.modelkit.config.v1+json"
CLI_VERSION = "ml.kitops.modelkit.cli-version"
LAYER_KINDS = ("model", "modelpart", "code", "dataset", "docs")
_PREFIX = "application/vnd.kitops.modelkit."


def layer_media_type(kind: str, compression: str) -> str:
    base = f"{_PREFIX}{kind}.v1.tar"
    return base if compression == "none" else f"{base}+{compression}"


def layer_kind(media_type: str) -> str | None:
    """`model`, `dataset`, ... for a ModelKit layer media type; None for anything else."""
    if not media_type.startswith(_PREFIX):
        return None
    kind = media_type[len(_PREFIX) :].split(".v1.tar", 1)[0]
    return kind if kind in LAYER_KINDS and ".v1.tar" in media_type else None
