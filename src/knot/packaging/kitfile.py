"""The Kitfile: what a ModelKit holds (KitOps' manifestVersion 1.0 schema).

It is read from YAML with unknown keys refused (as kit does), and written into the
ModelKit's config blob as compact JSON in kit's field order, each entry carrying the
`digest` and `diffId` of its layer.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from knot.errors import Invalid

__all__ = [
    "Code",
    "DataSet",
    "Docs",
    "KitPackage",
    "Kitfile",
    "Model",
    "ModelPart",
    "Prompt",
    "config_json",
    "parse_kitfile",
    "read_kitfile",
    "to_yaml",
]


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class _Layer(_Entry):
    # filled in when packing; never read from a user's YAML
    digest: str | None = None
    diffId: str | None = None


class KitPackage(_Entry):
    name: str | None = None
    version: str | None = None
    description: str | None = None
    license: str | None = None
    authors: list[str] | None = None


class ModelPart(_Layer):
    name: str | None = None
    path: str | None = None
    license: str | None = None
    type: str | None = None


class Model(_Layer):
    name: str | None = None
    path: str | None = None
    license: str | None = None
    framework: str | None = None
    format: str | None = None
    version: str | None = None
    description: str | None = None
    parts: list[ModelPart] | None = None
    parameters: Any = None


class Code(_Layer):
    path: str | None = None
    description: str | None = None
    license: str | None = None


class DataSet(_Layer):
    name: str | None = None
    path: str | None = None
    description: str | None = None
    license: str | None = None
    parameters: Any = None


class Docs(_Layer):
    path: str
    description: str | None = None


class Prompt(_Layer):
    path: str
    description: str | None = None


class Kitfile(_Entry):
    manifestVersion: str
    package: KitPackage = KitPackage()
    model: Model | None = None
    code: list[Code] | None = None
    datasets: list[DataSet] | None = None
    docs: list[Docs] | None = None
    prompts: list[Prompt] | None = None

    def layer_paths(self) -> list[str]:
        """Every path a layer is made of, in kit's layer order."""
        paths = []
        if self.model is not None:
            if self.model.path:
                paths.append(self.model.path)
            paths.extend(p.path for p in self.model.parts or [] if p.path)
        for group in (self.code, self.datasets, self.docs):
            paths.extend(e.path for e in group or [] if e.path)
        return paths


def _where(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(p) for p in loc) or "(top level)"


def parse_kitfile(text: str, source: str = "Kitfile") -> Kitfile:
    """Parse Kitfile YAML; a misspelt or unknown key is Invalid, naming the key."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise Invalid(
            f"{source} is not valid YAML ({exc}); fix the syntax", field="kitfile"
        ) from None
    if not isinstance(data, dict):
        raise Invalid(
            f"{source} must be a YAML mapping with at least `manifestVersion: 1.0`, "
            f"got {type(data).__name__}",
            field="kitfile",
        )
    for key in ("digest", "diffId"):
        _refuse_layer_info(data, key, source)
    try:
        return Kitfile.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = _where(error["loc"])
        if error["type"] == "extra_forbidden":
            raise Invalid(
                f"{source} has an unknown key {where!r}; kit's Kitfile keys are manifestVersion, "
                "package, model, code, datasets, docs and prompts (check the spelling)",
                field="kitfile",
            ) from None
        raise Invalid(f"{source} is invalid at {where}: {error['msg']}", field="kitfile") from None


def _refuse_layer_info(data: Any, key: str, source: str) -> None:
    # digests are computed when packing; a Kitfile that claims one would be a lie
    if isinstance(data, dict):
        if key in data:
            raise Invalid(
                f"{source} has an unknown key {key!r}: layer digests are computed when packing; "
                "remove it",
                field="kitfile",
            )
        for value in data.values():
            _refuse_layer_info(value, key, source)
    elif isinstance(data, list):
        for value in data:
            _refuse_layer_info(value, key, source)


def read_kitfile(path: Path) -> Kitfile:
    if not path.is_file():
        raise Invalid(
            f"no Kitfile at {path}; write one (manifestVersion: 1.0, model: {{path: ...}}) "
            "or pass a folder that has one",
            field="kitfile",
        )
    return parse_kitfile(path.read_text(encoding="utf-8"), str(path))


def _go_json(value: Any) -> str:
    # Go's encoding/json escapes these for HTML safety; kit's config bytes do too
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    for char, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
        text = text.replace(char, escaped)
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def _sorted(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _sorted(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [_sorted(v) for v in value]
    return value


def _layer_info_last(entry: dict[str, Any]) -> dict[str, Any]:
    # Go inlines LayerInfo after an entry's own fields
    head = {k: v for k, v in entry.items() if k not in ("digest", "diffId")}
    tail = {k: entry[k] for k in ("digest", "diffId") if k in entry}
    return head | tail


def config_json(kitfile: Kitfile) -> bytes:
    """The config blob: the Kitfile as compact JSON, empty fields left out, `package`
    always present, parameters with sorted keys (as Go writes them)."""
    data = kitfile.model_dump(exclude_none=True)
    data.setdefault("package", {})
    for holder in [data.get("model", {}), *data.get("datasets", [])]:
        if "parameters" in holder:
            holder["parameters"] = _sorted(holder["parameters"])
    if "model" in data:
        model = data["model"]
        if "parts" in model:
            model["parts"] = [_layer_info_last(p) for p in model["parts"]]
        data["model"] = _layer_info_last(model)
    for group in ("code", "datasets", "docs", "prompts"):
        if group in data:
            data[group] = [_layer_info_last(e) for e in data[group]]
    return _go_json(data).encode("utf-8")


def to_yaml(kitfile: Kitfile) -> str:
    """The Kitfile as YAML, without layer digests (what a user would write)."""
    data = kitfile.model_dump(exclude_none=True)
    return yaml.safe_dump(_strip_layer_info(data), sort_keys=False)


def _strip_layer_info(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_layer_info(v) for k, v in value.items() if k not in ("digest", "diffId")}
    if isinstance(value, list):
        return [_strip_layer_info(v) for v in value]
    return value
