"""The docs are tested: every code block of every page runs (tests/docs/run_page.py),
every YAML block is parsed by Knot's loader, the site builds offline with --strict, the
CLI reference names every command and option, and the settings reference names every
KNOT_* variable the code reads."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import typer

from knot.cli import app

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
PAGES = sorted(DOCS.rglob("*.md"))
BIN = Path(sys.executable).parent


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KNOT_")}
    paths = [str(ROOT / "src"), str(ROOT), env.get("PYTHONPATH", "")]
    env.update(
        KNOT_HOME=str(home),
        KNOT_USER="docs",
        PYTHONPATH=os.pathsep.join(p for p in paths if p),
        PATH=os.pathsep.join([str(BIN), env.get("PATH", "")]),
    )
    return env


@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(DOCS)) for p in PAGES])
def test_every_code_block_of_the_page_runs(page: Path, tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "tests" / "docs" / "run_page.py"), str(page)],
        cwd=tmp_path,
        env=_env(tmp_path / "home"),
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-6000:]


def test_the_site_builds_offline_with_no_warning(tmp_path: Path) -> None:
    done = subprocess.run(
        [str(BIN / "mkdocs"), "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "site" / "reference" / "cli" / "index.html").is_file()


def _commands(group: object, path: tuple[str, ...] = ()) -> list[tuple[str, object]]:
    found: list[tuple[str, object]] = []
    children = getattr(group, "commands", None)
    if children:
        for name, child in sorted(children.items()):
            found += _commands(child, (*path, name))
    elif path:
        found.append(("knot " + " ".join(path), group))
    return found


def test_the_cli_reference_has_every_command_and_option() -> None:
    reference = (DOCS / "reference" / "cli.md").read_text(encoding="utf-8")
    sections = dict(re.findall(r"^## (knot [^\n]+)\n(.*?)(?=^## |\Z)", reference, re.M | re.S))
    missing = []
    for path, command in _commands(typer.main.get_command(app)):
        if path not in sections:
            missing.append(path)
            continue
        for param in getattr(command, "params", []):
            for opt in getattr(param, "opts", []) if param.param_type_name == "option" else []:
                if opt != "--help" and f"`{opt}`" not in sections[path]:
                    missing.append(f"{path} {opt}")
    assert not missing, (
        f"missing from docs/reference/cli.md: {missing}; run scripts/cli_reference.py"
    )


def test_the_settings_reference_names_every_variable_the_code_reads() -> None:
    names = set()
    for source in (ROOT / "src" / "knot").rglob("*.py"):
        names |= set(re.findall(r"KNOT_[A-Z0-9_]*[A-Z0-9]", source.read_text(encoding="utf-8")))
    settings = (DOCS / "reference" / "settings.md").read_text(encoding="utf-8")
    missing = sorted(n for n in names if f"`{n}`" not in settings)
    assert not missing, f"docs/reference/settings.md does not explain {missing}"


def test_every_page_is_in_the_navigation() -> None:
    nav = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    unlisted = [str(p.relative_to(DOCS)) for p in PAGES if str(p.relative_to(DOCS)) not in nav]
    assert not unlisted, f"add {unlisted} to mkdocs.yml's nav"
