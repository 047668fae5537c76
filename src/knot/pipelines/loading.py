"""Finding a pipeline by name ("module:function" or "path/to/file.py:function") and
reading its parameters from NAME=VALUE text, as the CLI and the loop config give them."""

from __future__ import annotations

import importlib
import importlib.util
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from knot.errors import Invalid, NotFound
from knot.pipelines.pipeline import Pipeline

__all__ = ["load_pipeline", "parse_params"]

_FORM = "use module:function (e.g. examples.churn.pipeline:retrain) or path/to/file.py:function"


def load_pipeline(target: str) -> Pipeline:
    """Import the @knot.pipeline that `target` names; the current folder is importable."""
    module_name, colon, attr = target.rpartition(":")
    if not colon or not module_name or not attr:
        raise Invalid(f"pipeline {target!r} is malformed; {_FORM}", field="target")
    module = _import(module_name, target)
    found: Any = module
    for part in attr.split("."):
        found = getattr(found, part, None)
        if found is None:
            raise NotFound(
                f"module {module_name!r} has no {attr!r}; {_FORM}, naming a function "
                "marked @knot.pipeline",
                field="target",
            )
    if not isinstance(found, Pipeline):
        raise Invalid(
            f"{target!r} is a {type(found).__name__}, not a @knot.pipeline; mark the "
            "function with @knot.pipeline",
            field="target",
        )
    return found


def _import(module_name: str, target: str) -> Any:
    if module_name.endswith(".py"):
        path = Path(module_name)
        if not path.is_file():
            raise NotFound(f"pipeline file {module_name!r} does not exist; {_FORM}", field="target")
        spec = importlib.util.spec_from_file_location(path.stem, path)
        if spec is None or spec.loader is None:
            raise Invalid(f"cannot load {module_name!r} as Python; {_FORM}", field="target")
        module = importlib.util.module_from_spec(spec)
        # Importable by name too, so process and Ray workers find its steps.
        if str(path.parent.resolve()) not in sys.path:
            sys.path.insert(0, str(path.parent.resolve()))
        sys.modules[path.stem] = module
        try:
            spec.loader.exec_module(module)
        except Exception as exc:
            del sys.modules[path.stem]
            raise Invalid(
                f"running {module_name!r} raised {type(exc).__name__}: {exc}; fix the file",
                field="target",
            ) from exc
        return module
    if "" not in sys.path and str(Path.cwd()) not in sys.path:
        sys.path.insert(0, str(Path.cwd()))
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise NotFound(
            f"cannot import module {module_name!r} for pipeline {target!r} ({exc}); {_FORM}, "
            "run from the folder that contains it, or install its package",
            field="target",
        ) from None
    except Exception as exc:
        raise Invalid(
            f"importing module {module_name!r} for pipeline {target!r} raised "
            f"{type(exc).__name__}: {exc}; fix the module",
            field="target",
        ) from exc


def parse_params(pipeline: Pipeline, items: Sequence[str]) -> dict[str, Any]:
    """NAME=VALUE texts as parameters: VALUE is read as JSON (3, 0.5, true, [1, 2]) unless
    the parameter is annotated `str` or VALUE is not JSON, when it stays text."""
    params: dict[str, Any] = {}
    for item in items:
        name, eq, text = item.partition("=")
        name = name.strip()
        if not eq or not name:
            raise Invalid(f"parameter {item!r} is malformed; write NAME=VALUE", field="param")
        parameter = pipeline.signature.parameters.get(name)
        if parameter is None:
            known = ", ".join(pipeline.signature.parameters) or "none"
            raise Invalid(
                f"pipeline {pipeline.name!r} has no parameter {name!r}; its parameters: {known}",
                field="param",
            )
        if parameter.annotation in (str, "str"):
            params[name] = text
            continue
        try:
            params[name] = json.loads(text)
        except json.JSONDecodeError:
            params[name] = text
    return params
