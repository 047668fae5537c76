"""Run every code block of one docs page in order, as a reader would, in the current
folder: ```python blocks in one namespace, ```bash blocks with bash (the installed
`knot` on PATH), ```yaml and ```toml blocks parsed by the loader of the file their first
line names (`# rules.yaml`, `# monitor.yaml`, `# loop.yaml`, `# knot-check.yaml`,
`# Kitfile`, `# features.yaml`, `# knot.toml`), ```json parsed; ```text blocks are
output and not run.

    python tests/docs/run_page.py docs/guide/data.md

Exits 1 naming the page, the block's first line and what went wrong.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FENCE = re.compile(r"^```([\w-]*)[^\n]*\n(.*?)^```\s*$", re.MULTILINE | re.DOTALL)
RUN = {"python", "bash", "yaml", "toml", "json"}
SHOWN = {"text"}


@dataclass(frozen=True)
class Block:
    lang: str
    code: str
    line: int

    @property
    def where(self) -> str:
        return f"line {self.line}"


def blocks(text: str) -> Iterator[Block]:
    for match in FENCE.finditer(text):
        yield Block(match.group(1), match.group(2), text.count("\n", 0, match.start()) + 1)


def _rules(text: str) -> Any:
    from knot.data.rules.ruleset import RuleSet

    return RuleSet.from_yaml(text, "docs rules")


def _yaml_file(load: Callable[[Path], Any], name: str) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        path = Path(name)
        path.write_text(text, encoding="utf-8")
        return load(path)

    return parse


def _loaders() -> dict[str, Callable[[str], Any]]:
    from knot.features.loading import load_definitions
    from knot.gates.check import load_check_config
    from knot.loop.config import load_loop_config
    from knot.monitoring.monitor_config import load_config
    from knot.packaging.kitfile import parse_kitfile

    return {
        "rules.yaml": _rules,
        "monitor.yaml": _yaml_file(load_config, "monitor.yaml"),
        "loop.yaml": _yaml_file(load_loop_config, "loop.yaml"),
        "knot-check.yaml": _yaml_file(load_check_config, "knot-check.yaml"),
        "Kitfile": lambda text: parse_kitfile(text, "docs Kitfile"),
        "features.yaml": _yaml_file(load_definitions, "features.yaml"),
    }


def _file_named(block: Block) -> str:
    first = block.code.splitlines()[0] if block.code.strip() else ""
    if not first.startswith("#"):
        raise ValueError(
            f"the {block.lang} block at {block.where} does not say which file it is; start "
            "it with a comment such as `# rules.yaml`"
        )
    return first.lstrip("#").strip().split()[0]


def _toml(block: Block) -> None:
    data = tomllib.loads(block.code)
    if _file_named(block) == "knot.toml":
        from knot.config import KNOWN_KEYS

        unknown = set(data.get("knot", data)) - set(KNOWN_KEYS)
        if unknown:
            raise ValueError(f"knot.toml keys {sorted(unknown)} are not read by Knot")


def run_block(block: Block, namespace: dict[str, Any]) -> None:
    if block.lang == "python":
        exec(compile(block.code, f"<docs {block.where}>", "exec"), namespace)
    elif block.lang == "bash":
        subprocess.run(["bash", "-euo", "pipefail", "-c", block.code], check=True)
    elif block.lang == "yaml":
        name = _file_named(block)
        loaders = _loaders()
        if name not in loaders:
            raise ValueError(f"no loader for {name!r}; known: {', '.join(loaders)}")
        loaders[name](block.code)
    elif block.lang == "toml":
        _toml(block)
    elif block.lang == "json":
        json.loads(block.code)


def run_page(page: Path) -> int:
    namespace: dict[str, Any] = {"__name__": "__docs__"}
    for block in blocks(page.read_text(encoding="utf-8")):
        if block.lang in SHOWN:
            continue
        if block.lang not in RUN:
            print(
                f"{page}: the block at {block.where} has language {block.lang!r}; use one "
                f"of {', '.join(sorted(RUN | SHOWN))}",
                file=sys.stderr,
            )
            return 1
        try:
            run_block(block, namespace)
        except Exception as exc:  # any failure of a block fails the page, said plainly
            first = block.code.splitlines()[0] if block.code else ""
            traceback.print_exc()
            print(
                f"{page}: the {block.lang} block at {block.where} ({first!r}) failed: {exc}",
                file=sys.stderr,
            )
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(run_page(Path(sys.argv[1]).resolve()))
