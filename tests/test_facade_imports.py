"""No module of the package imports the `knot` facade, except the facade itself and the
CLI: an area that calls `knot.load_model` hides an arrow to every area the facade names,
which the layer contracts then cannot place. Every module is parsed with `ast`, so
imports inside functions count too. (pyproject.toml's "protected" import-linter
contract says the same; this test also names the line and the fix.)"""

from __future__ import annotations

import ast
import pkgutil
from pathlib import Path

import pytest

import knot

PACKAGE = Path(knot.__file__).parent
#: what `from knot import X` may name: a module or package of knot, never a facade name
SUBMODULES = frozenset(m.name for m in pkgutil.iter_modules([str(PACKAGE)]))


def _package_of(path: Path) -> list[str]:
    """The dotted package a module file lives in, as parts: knot/loop/state.py ->
    ["knot", "loop"]."""
    return ["knot", *path.relative_to(PACKAGE).parent.parts]


def facade_imports(source: str, package: list[str]) -> list[str]:
    """Each import of the facade in `source` (a module of `package`), as 'line N: code'."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names if a.name == "knot"]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: from .. import x inside knot/area/mod.py
                base = package[: len(package) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            names = [a.name for a in node.names if module == "knot" and a.name not in SUBMODULES]
        elif isinstance(node, ast.Call):  # importlib.import_module("knot"), __import__("knot")
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            first = node.args[0] if node.args else None
            is_knot = isinstance(first, ast.Constant) and first.value == "knot"
            names = ["knot"] if name in ("import_module", "__import__") and is_knot else []
        else:
            continue
        found += [f"line {node.lineno}: {ast.unparse(node)}" for _ in names[:1]]
    return found


def _modules() -> list[Path]:
    """Every module of the package but the facade (knot/__init__.py) and the CLI."""
    return sorted(
        path
        for path in PACKAGE.rglob("*.py")
        if path != PACKAGE / "__init__.py" and path.relative_to(PACKAGE).parts[0] != "cli"
    )


def test_no_module_imports_the_facade() -> None:
    offenders = [
        f"{path.relative_to(PACKAGE.parent)} {hit}"
        for path in _modules()
        for hit in facade_imports(path.read_text(encoding="utf-8"), _package_of(path))
    ]
    assert not offenders, (
        "these modules import the knot facade; import the function from the area module "
        "that defines it (e.g. knot.registry.fluent.load_model) instead:\n" + "\n".join(offenders)
    )


def test_every_area_is_scanned() -> None:
    """The scan reaches the areas, nested packages included, and skips only what it may."""
    scanned = {path.relative_to(PACKAGE).as_posix() for path in _modules()}
    assert {"loop/controller.py", "gates/check.py", "pipelines/steps.py"} <= scanned
    assert "__init__.py" not in scanned
    assert not any(name.startswith("cli/") for name in scanned)
    assert any(name.count("/") >= 2 for name in scanned)  # e.g. store/migrations/versions


@pytest.mark.parametrize(
    ("source", "package", "hits"),
    [
        ("import knot\n", ["knot", "loop"], 1),
        ("def f():\n    import knot as k\n    return k.load_model\n", ["knot", "gates"], 1),
        ("from knot import load_model, errors\n", ["knot", "gates"], 1),
        ("from .. import load_model\n", ["knot", "loop"], 1),
        ("from . import step\n", ["knot"], 1),
        ("import importlib\nimportlib.import_module('knot')\n", ["knot", "serving"], 1),
        ("__import__('knot')\n", ["knot", "serving"], 1),
        # submodules are fine, however they are named
        ("from knot import errors, config\n", ["knot", "loop"], 0),
        ("import knot.errors\nfrom knot.registry.fluent import load_model\n", ["knot"], 0),
        ("from .. import errors\nfrom . import state\n", ["knot", "loop"], 0),
        ("from ..registry import fluent\n", ["knot", "loop"], 0),
        ("import importlib\nimportlib.import_module('knot.errors')\n", ["knot"], 0),
    ],
)
def test_facade_imports_are_recognised(source: str, package: list[str], hits: int) -> None:
    assert len(facade_imports(source, package)) == hits
