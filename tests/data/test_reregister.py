"""Registering content a version already holds: the same rules (or none) give that
version back; other rules are refused, since the version was checked once and its
status cannot follow them, and the refusal changes nothing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import func, select

from knot.data.entities import VersionStatus
from knot.data.tables import dataset_versions
from knot.errors import Conflict
from tests.data.conftest import DataBackend

STRICT = {"columns": {"age": {"min": 18, "max": 30}}}
LOOSE = {"columns": {"age": {"min": 18, "max": 120}}}
KNOT = str(Path(sys.executable).parent / "knot")


def _versions(backend: DataBackend) -> int:
    with backend.db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(dataset_versions)).scalar() or 0)


def test_other_rules_for_held_content_are_refused(
    data_backend: DataBackend, frame: pd.DataFrame
) -> None:
    store = data_backend.store
    first = store.register("churn", frame, rules=STRICT)
    assert first.status is VersionStatus.REJECTED
    assert store.register("churn", frame.copy(), rules=STRICT) == first  # same rules: same
    assert store.register("churn", frame.copy()) == first  # no rules given: same
    with pytest.raises(Conflict, match=r"churn@1 already holds this content, checked against"):
        store.register("churn", frame.copy(), rules=LOOSE)
    assert _versions(data_backend) == 1
    kept = store.rules("churn")
    assert kept is not None and kept.columns["age"].max == 30  # the loose rules not attached
    assert store.validate("churn@1", LOOSE).passed  # the way the message names


def test_rules_for_content_registered_without_them_are_refused(
    data_backend: DataBackend, frame: pd.DataFrame
) -> None:
    store = data_backend.store
    store.register("plain", frame)
    with pytest.raises(Conflict, match=r"plain@1 already holds this content, checked without"):
        store.register("plain", frame.copy(), rules=LOOSE)
    assert store.rules("plain") is None and _versions(data_backend) == 1


def test_the_cli_refuses_with_exit_2_and_the_fix(frame: pd.DataFrame, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KNOT_")}
    env.update(KNOT_HOME=str(tmp_path / "home"), KNOT_STORE=f"sqlite:///{tmp_path}/knot.db")
    csv, strict, loose = tmp_path / "c.csv", tmp_path / "strict.yaml", tmp_path / "loose.yaml"
    frame.to_csv(csv, index=False)
    strict.write_text("columns:\n  age: {min: 18, max: 30}\n")
    loose.write_text("columns:\n  age: {min: 18, max: 120}\n")

    def knot(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [KNOT, "data", *args], env=env, capture_output=True, text=True, timeout=300
        )

    assert knot("register", "churn", str(csv), "--rules", str(strict)).returncode == 1
    again = knot("register", "churn", str(csv), "--rules", str(loose))
    assert again.returncode == 2, again.stdout + again.stderr
    assert "knot data validate churn@1 --rules FILE" in again.stderr
    assert "Traceback" not in again.stderr
    listed = knot("list", "--json")
    assert listed.returncode == 0 and '"versions": 1' in listed.stdout
