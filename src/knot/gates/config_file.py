"""YAML config files (knot-check.yaml, loop.yaml) read into Pydantic models, with
errors that name the file, the key path and the fix."""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from knot.errors import Invalid, NotFound

__all__ = ["load_config", "read_config", "validate_config"]

_M = TypeVar("_M", bound=BaseModel)


def load_config(cls: type[_M], path: str | Path) -> _M:
    """Read `path` as YAML and validate it as `cls`."""
    return validate_config(cls, read_config(path), f"config file {Path(path)}")


def read_config(path: str | Path) -> dict[str, object]:
    """The mapping the YAML file `path` holds; NotFound or Invalid naming the file."""
    import yaml

    file = Path(path)
    origin = f"config file {file}"
    if not file.is_file():
        raise NotFound(f"{origin} does not exist; check the path (--config)", field="config")
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise Invalid(f"{origin} is not valid YAML{where}: {problem}", field="config") from None
    if not isinstance(data, dict):
        raise Invalid(
            f"{origin} must hold a mapping of keys, got {type(data).__name__}", field="config"
        )
    return data


def validate_config(cls: type[_M], data: object, origin: str) -> _M:
    """`data` validated as `cls`; Invalid names `origin`, the key path and the fix."""
    try:
        return cls.model_validate(data)
    except ValidationError as exc:
        raise _explain(cls, exc, origin) from None


def _explain(cls: type[BaseModel], exc: ValidationError, origin: str) -> Invalid:
    problems, first = [], None
    for error in exc.errors()[:5]:
        loc = [str(p) for p in error["loc"] if not str(p).startswith(("function-", "union"))]
        where = ".".join(loc) or "(top level)"
        first = first or where
        if error["type"] == "extra_forbidden":
            parent = ".".join(loc[:-1]) or "(top level)"
            problems.append(f"{parent}: unknown key {loc[-1]!r}{_suggest(cls, loc)}")
        elif error["type"] == "missing":
            problems.append(f"{where}: required key is missing")
        else:
            message = str(error["msg"]).removeprefix("Value error, ")
            text = repr(error.get("input"))
            got = text if len(text) <= 60 else text[:57] + "..."
            problems.append(f"{where}: {message} (got {got})")
    return Invalid(f"{origin}: " + "; ".join(problems), field=first)


def _suggest(cls: type[BaseModel], loc: list[str]) -> str:
    model: type[BaseModel] | None = cls
    for part in loc[:-1]:
        if model is None:
            break
        field = model.model_fields.get(part)
        annotation = field.annotation if field is not None else None
        model = _model_in(annotation)
    if model is None:
        return ""
    known = list(model.model_fields)
    close = difflib.get_close_matches(loc[-1], known, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"{hint}; known keys: {', '.join(known)}"


def _model_in(annotation: object) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _model_in(arg)
        if found is not None:
            return found
    return None
