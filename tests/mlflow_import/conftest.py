"""MLflow stores written by the real MLflow library, once per session (see write_store.py)."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

WRITER = Path(__file__).with_name("write_store.py")
#: the runs of the store every import test copies (the issue asks for 200)
RUNS = 200


@dataclass(frozen=True)
class MlflowStore:
    folder: Path
    runs: int

    @property
    def uri(self) -> str:
        return f"sqlite:///{self.folder / 'mlflow.db'}"


def write_store(folder: Path, runs: int) -> MlflowStore:
    """Run the writer with this interpreter (the dev virtualenv has mlflow-skinny)."""
    folder.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        [sys.executable, str(WRITER), str(folder), str(runs)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return MlflowStore(folder, runs)


@pytest.fixture(scope="session")
def mlflow_store(tmp_path_factory: pytest.TempPathFactory) -> MlflowStore:
    """200 runs in two experiments and model churn with two versions and two aliases.
    Tests only read it: each one imports it into a store of its own."""
    return write_store(tmp_path_factory.mktemp("mlflow") / "store", RUNS)


@pytest.fixture(scope="session")
def small_store(tmp_path_factory: pytest.TempPathFactory) -> MlflowStore:
    """A few runs of the same shape, for tests that damage what they import."""
    return write_store(tmp_path_factory.mktemp("mlflow-small") / "store", 4)
