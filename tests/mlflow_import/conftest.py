"""MLflow stores written by the real MLflow library, once per session (see write_store.py)."""

from __future__ import annotations

import os
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


def write_stores(*stores: MlflowStore) -> None:
    """Run the writer with this interpreter (the dev virtualenv has mlflow-skinny)."""
    args = []
    for store in stores:
        store.folder.mkdir(parents=True, exist_ok=True)
        args += [str(store.folder), str(store.runs)]
    # only the stores named here: no MLflow setting of this process leaks into the writer
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    done = subprocess.run(
        [sys.executable, str(WRITER), *args], capture_output=True, text=True, check=False, env=env
    )
    assert done.returncode == 0, done.stderr[-3000:]


@pytest.fixture(scope="session")
def mlflow_stores(tmp_path_factory: pytest.TempPathFactory) -> tuple[MlflowStore, MlflowStore]:
    """The two stores below, written by one process."""
    root = tmp_path_factory.mktemp("mlflow")
    stores = MlflowStore(root / "store", RUNS), MlflowStore(root / "small", 4)
    write_stores(*stores)
    return stores


@pytest.fixture(scope="session")
def mlflow_store(mlflow_stores: tuple[MlflowStore, MlflowStore]) -> MlflowStore:
    """200 runs in two experiments and model churn with two versions and two aliases.
    Tests only read it: each one imports it into a store of its own."""
    return mlflow_stores[0]


@pytest.fixture(scope="session")
def small_store(mlflow_stores: tuple[MlflowStore, MlflowStore]) -> MlflowStore:
    """Four runs of the same shape, for tests that damage what they import (and put it
    back as it was)."""
    return mlflow_stores[1]
