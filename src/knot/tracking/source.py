"""Capture where a run came from: git commit and dirty flag, command line, versions."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from functools import lru_cache
from importlib import metadata
from pathlib import Path

from knot.tracking.entities import RunSource

__all__ = ["capture_source"]

# Versions worth recording when installed; a full `pip freeze` per run is too slow.
WATCHED_PACKAGES = (
    "knot",
    "numpy",
    "pandas",
    "pyarrow",
    "scikit-learn",
    "scipy",
    "lightgbm",
    "xgboost",
    "torch",
    "onnx",
)


def _git(args: list[str], cwd: Path) -> str | None:
    try:
        done = subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, timeout=5, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def _caller_dir() -> Path:
    script = sys.argv[0] if sys.argv and sys.argv[0] else None
    return _folder_of(script, os.getcwd())


@lru_cache(maxsize=8)
def _folder_of(script: str | None, cwd: str) -> Path:
    # Cached by (argv[0], working folder): resolving the script's path takes a syscall
    # per path component, and a pipeline starts a run per step.
    path = Path(script) if script else None
    if path is not None and path.is_file():
        return path.resolve().parent
    return Path(cwd)


def capture_source() -> RunSource:
    """Everything needed to find the code that ran, read without importing anything heavy."""
    return _capture(_caller_dir())


@lru_cache(maxsize=8)
def _capture(where: Path) -> RunSource:
    # Cached per process: a training script starting 200 runs should not spawn 400 gits.
    commit = _git(["rev-parse", "HEAD"], where)
    dirty = None
    if commit is not None:
        status = _git(["status", "--porcelain", "--untracked-files=no"], where)
        dirty = bool(status) if status is not None else None
    packages: dict[str, str] = {}
    for name in WATCHED_PACKAGES:
        try:
            packages[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    command = " ".join([os.path.basename(sys.executable), *sys.argv]) if sys.argv else None
    return RunSource(
        git_commit=commit,
        git_dirty=dirty,
        command=command,
        python_version=platform.python_version(),
        packages=packages,
    )
