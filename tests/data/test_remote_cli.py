"""The installed `knot data ...` entry point with KNOT_STORE=http://... against the live
server, in a clean environment whose own artifact store is empty: registering uploads
to the server, and exit codes are 0 ok, 1 check failed, 2 usage or store error."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from tests.backends import StoreBackend

pytestmark = pytest.mark.server

KNOT = str(Path(sys.executable).parent / "knot")


def _knot(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [KNOT, "data", *args], env=env, capture_output=True, text=True, timeout=300, check=False
    )


@pytest.fixture
def env(remote_backend: StoreBackend, tmp_path: Path) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("KNOT_")}
    return {**clean, "KNOT_HOME": str(tmp_path / "home"), "KNOT_STORE": remote_backend.uri}


def test_register_list_show_validate_over_a_server(
    env: dict[str, str], frame: pd.DataFrame, tmp_path: Path
) -> None:
    csv = tmp_path / "churn.csv"
    frame.to_csv(csv, index=False)
    done = _knot(env, "register", "churn", str(csv), "--tag", "team=ml")
    assert done.returncode == 0, done.stderr
    assert "churn@1 accepted: 200 rows, 7 columns" in done.stdout
    listed = _knot(env, "list", "--json")
    assert listed.returncode == 0, listed.stderr
    assert [(d["name"], d["versions"], d["latest"]) for d in json.loads(listed.stdout)] == [
        ("churn", 1, 1)
    ]
    shown = _knot(env, "show", "churn@1", "--json")
    assert shown.returncode == 0 and json.loads(shown.stdout)["tags"] == {"team": "ml"}
    assert not list((tmp_path / "home").rglob("blobs/sha256/*/*"))  # nothing stored here

    rules = tmp_path / "rules.yaml"
    rules.write_text("columns:\n  age: {min: 18, max: 120}\n")
    passed = _knot(env, "validate", "churn@1", "--rules", str(rules))
    assert passed.returncode == 0 and "2/2 rules passed" in passed.stdout
    rules.write_text("columns:\n  age: {max: 40}\n")
    failed = _knot(env, "validate", "churn@1", "--rules", str(rules), "--json")
    assert failed.returncode == 1, failed.stderr
    [result] = [r for r in json.loads(failed.stdout)["results"] if r["name"] == "age.range"]
    assert result["failing"] > 0 and result["examples"]


def test_errors_exit_2_naming_the_problem(
    env: dict[str, str], frame: pd.DataFrame, tmp_path: Path
) -> None:
    csv = tmp_path / "churn.csv"
    frame.head(10).to_csv(csv, index=False)
    missing = _knot(env, "show", "nothing@1")
    assert missing.returncode == 2 and "dataset 'nothing' not found" in missing.stderr
    bad_name = _knot(env, "register", "a b", str(csv))
    assert bad_name.returncode == 2 and "dataset name 'a b' is not allowed" in bad_name.stderr
    assert "Traceback" not in missing.stderr + bad_name.stderr
    away = {**env, "KNOT_STORE": "http://127.0.0.1:9"}
    unreachable = _knot(away, "list")
    assert unreachable.returncode == 2
    assert "cannot reach the Knot server at http://127.0.0.1:9" in unreachable.stderr
