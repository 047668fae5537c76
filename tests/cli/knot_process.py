"""Run the installed `knot` entry point as a user's shell does, and read how it ended:
the exit code and the last line on stderr (`failed: ...` for 1, `error: ...` for 2)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

import knot

__all__ = [
    "KNOT",
    "ROOT",
    "assert_check_failed",
    "assert_error",
    "assert_ok",
    "environment",
    "prepared_home",
    "run",
]

KNOT = str(Path(sys.executable).parent / "knot")
ROOT = Path(__file__).resolve().parents[2]
_UNSET = ("KNOT_STORE", "KNOT_ARTIFACTS", "KNOT_EXPERIMENT", "KNOT_TOKEN", "KNOT_AUTH")


def environment(home: Path, **env: str) -> dict[str, str]:
    """This process's environment with KNOT_HOME=home, no store or token settings, and
    the installed `knot` first on PATH."""
    environ = {k: v for k, v in os.environ.items() if k not in _UNSET}
    # the repository root lets a loop.yaml name tests.loop.loop_pipelines
    path = [p for p in environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    environ.update(
        KNOT_HOME=str(home),
        KNOT_USER="tester",
        PYTHONPATH=os.pathsep.join([*path, str(ROOT)]),
        PATH=os.pathsep.join([str(Path(KNOT).parent), environ.get("PATH", "")]),
        **env,
    )
    return environ


def run(home: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`knot ARGS` with KNOT_HOME=home, run in home's parent (so no knot.toml is read)."""
    return subprocess.run(
        [KNOT, *args],
        cwd=home.parent,
        env=environment(home, **env),
        capture_output=True,
        text=True,
        check=False,
    )


def _shown(done: subprocess.CompletedProcess[str]) -> str:
    return f"exit {done.returncode}\nstdout:\n{done.stdout}\nstderr:\n{done.stderr}"


def assert_ok(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 0, _shown(done)
    assert "Traceback" not in done.stderr, _shown(done)
    return done.stdout


def assert_error(
    done: subprocess.CompletedProcess[str], *needles: str, narrated: bool = False
) -> str:
    """Exit 2 with one line on stderr, `error: ...` naming every needle; a command that
    narrates its progress on stderr (`narrated`) ends it with that line."""
    assert done.returncode == 2, _shown(done)
    assert "Traceback" not in done.stderr, _shown(done)
    lines = done.stderr.splitlines()
    assert lines and (narrated or len(lines) == 1), _shown(done)
    assert lines[-1].startswith("error: "), _shown(done)
    for needle in needles:
        assert needle in lines[-1], _shown(done)
    return lines[-1]


def assert_check_failed(done: subprocess.CompletedProcess[str], *needles: str) -> str:
    """Exit 1 with `failed: ...` naming every needle as the last line on stderr."""
    assert done.returncode == 1, _shown(done)
    assert "Traceback" not in done.stderr, _shown(done)
    last = done.stderr.splitlines()[-1] if done.stderr.strip() else ""
    assert last.startswith("failed: "), _shown(done)
    for needle in needles:
        assert needle in last, _shown(done)
    return last


@contextmanager
def prepared_home(factory: pytest.TempPathFactory, name: str) -> Iterator[Path]:
    """A fresh KNOT_HOME for set-up done in this process (module fixtures), restored after."""
    home = factory.mktemp(name) / "home"
    with pytest.MonkeyPatch.context() as env:
        env.setenv("KNOT_HOME", str(home))
        for unset in _UNSET:
            env.delenv(unset, raising=False)
        env.setenv("KNOT_USER", "tester")
        knot.reset()
        try:
            yield home
        finally:
            knot.reset()
