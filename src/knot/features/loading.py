"""Feature definitions from a file: YAML (`views:` and `services:` lists, or documents
with `kind: view|service`) or a Python module whose top-level FeatureView and
FeatureService values are collected."""

from __future__ import annotations

import runpy
from pathlib import Path
from typing import Any

import yaml

from knot.errors import Invalid
from knot.features.definitions import FeatureService, FeatureView

__all__ = ["load_definitions"]

Definition = FeatureView | FeatureService


def load_definitions(path: Path) -> list[Definition]:
    if not path.is_file():
        raise Invalid(
            f"feature definitions {str(path)!r} is not a file; give a .yaml or .py file",
            field="file",
        )
    if path.suffix == ".py":
        return _from_python(path)
    if path.suffix not in (".yaml", ".yml", ".json"):
        raise Invalid(
            f"feature definitions {str(path)!r} must be .yaml, .yml, .json or .py",
            field="file",
        )
    try:
        documents = [d for d in yaml.safe_load_all(path.read_text()) if d is not None]
    except yaml.YAMLError as exc:
        raise Invalid(f"{str(path)!r} is not valid YAML: {exc}", field="file") from exc
    out: list[Definition] = []
    for doc in documents:
        out.extend(_from_document(doc, path))
    if not out:
        raise Invalid(
            f"{str(path)!r} defines no feature view or service; add `views:`", field="file"
        )
    return out


def _from_document(doc: Any, path: Path) -> list[Definition]:
    if not isinstance(doc, dict):
        raise Invalid(f"{str(path)!r}: each document must be a mapping, got {doc!r}", field="file")
    if "kind" in doc:
        kind = doc["kind"]
        if kind == "view":
            return [FeatureView.from_spec(doc, path.parent)]
        if kind == "service":
            return [FeatureService.from_spec(doc)]
        raise Invalid(f"{str(path)!r}: kind {kind!r} is neither view nor service", field="kind")
    unknown = sorted(set(doc) - {"views", "services"})
    if unknown:
        raise Invalid(
            f"{str(path)!r} has top-level keys {unknown}; use views: [...] and services: [...]",
            field=unknown[0],
        )
    views, services = doc.get("views") or [], doc.get("services") or []
    for what, items in (("views", views), ("services", services)):
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            raise Invalid(f"{str(path)!r}: {what} must be a list of mappings", field=what)
    out: list[Definition] = [FeatureView.from_spec(v, path.parent) for v in views]
    out += [FeatureService.from_spec(s) for s in services]
    return out


def _from_python(path: Path) -> list[Definition]:
    try:
        namespace = runpy.run_path(str(path))
    except Exception as exc:
        raise Invalid(f"{str(path)!r} raised {type(exc).__name__}: {exc}", field="file") from exc
    found = [v for v in namespace.values() if isinstance(v, FeatureView | FeatureService)]
    if not found:
        raise Invalid(
            f"{str(path)!r} defines no FeatureView or FeatureService at top level", field="file"
        )
    return [d.check() for d in found]
