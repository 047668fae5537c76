"""Write docs/reference/cli.md from the Typer app: every command with its help, its
arguments and its options. `make docs` runs it; tests/docs/test_cli_reference.py fails
when a command or option is missing from the file, so run it after changing the CLI:

    .venv/bin/python scripts/cli_reference.py
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import typer

from knot.cli import app

OUT = Path(__file__).resolve().parents[1] / "docs" / "reference" / "cli.md"


# Typer carries its own copy of click, so commands and parameters are told apart by what
# they have, not by class
Command = Any


def commands(group: Command, path: tuple[str, ...] = ()) -> Iterator[tuple[str, Command]]:
    """Every command below `group`, as ("knot data register", command), sorted."""
    if getattr(group, "commands", None):
        for name in sorted(group.commands):
            yield from commands(group.commands[name], (*path, name))
    elif path:
        yield "knot " + " ".join(path), group


def _param(p: Any) -> str:
    if p.param_type_name == "argument":
        return f"| `{(p.metavar or p.name).upper()}` | argument | {_help(p)} |"
    names = ", ".join(f"`{o}`" for o in [*p.opts, *p.secondary_opts])
    default = "" if p.default in (None, False, (), []) or p.is_flag else f" (default: {p.default})"
    return f"| {names} | option | {_help(p)}{default} |"


def _help(p: Any) -> str:
    text = getattr(p, "help", None) or ""
    return " ".join(text.split()).replace("|", "\\|")


def render() -> str:
    root = typer.main.get_command(app)
    lines = [
        "# Command line reference",
        "",
        "Generated from the Typer app by `scripts/cli_reference.py` (`make docs` runs it).",
        "Exit codes of every command: 0 ok, 1 a check failed, 2 a usage or store error,",
        "130 interrupted (see [exit codes](exit-codes.md)).",
        "",
    ]
    for path, command in commands(root):
        lines += [f"## {path}", ""]
        if command.help:
            lines += [" ".join(command.help.split()), ""]
        params = [p for p in command.params if p.name != "help"]
        if params:
            lines += ["| name | kind | meaning |", "|---|---|---|", *map(_param, params), ""]
    return "\n".join(lines)


if __name__ == "__main__":
    OUT.write_text(render(), encoding="utf-8")
    print(f"wrote {OUT}", file=sys.stderr)
