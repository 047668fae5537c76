"""The flavor interface: a small adapter that saves one kind of model to a folder, loads
it back, and describes its signature. One conformance suite (tests/registry/
test_flavors.py) runs against every flavor."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict

from knot.registry.entities import Signature

__all__ = ["Flavor", "SavedModel"]


class SavedModel(BaseModel):
    """How a flavor wrote a model: the file in the folder, its format, what loading needs
    (options) and which packages the model needs at load time."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    format: str
    file: str
    options: dict[str, Any] = {}
    packages: list[str] = []


@runtime_checkable
class Flavor(Protocol):
    name: str

    def handles(self, model: object) -> bool:
        """Whether this flavor is the natural one for `model` (checked without importing
        libraries the model cannot be from)."""
        ...

    def save(self, model: Any, folder: Path, example: Any) -> SavedModel:
        """Write `model` into the empty folder; raise Invalid if it cannot be saved."""
        ...

    def load(self, folder: Path, saved: SavedModel) -> Any:
        """The object that predicts: it has `predict`, and `predict_proba` if the model
        has one. Only called on a folder whose every file was verified by digest."""
        ...

    def signature(self, model: Any, example: Any) -> Signature | None:
        """The signature from an input example (None without one, unless the model
        describes its own inputs)."""
        ...
