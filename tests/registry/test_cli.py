"""`knot models ...` through Typer's runner, and one real process for the error path."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import knot
from knot.cli import app
from knot.errors import Conflict, Invalid, NotFound

runner = CliRunner()


@pytest.fixture
def churn(knot_home: Path) -> list[str]:
    """Two registered versions of `churn` (val_auc 0.7 and 0.9); returns their run ids."""
    from sklearn.linear_model import LogisticRegression

    X = pd.DataFrame({"tenure": np.arange(40), "charges": np.linspace(20, 90, 40)})
    y = (X["tenure"] < 20).astype(int)
    runs = []
    for auc in (0.7, 0.9):
        with knot.start_run("train", experiment="churn") as run:
            run.log_metric("val_auc", auc)
            knot.log_model(
                LogisticRegression().fit(X, y), registered_model_name="churn", input_example=X
            )
        runs.append(run.run_id)
    return runs


def ok(*args: str) -> str:
    out = runner.invoke(app, list(args))
    assert out.exit_code == 0, out.output + repr(out.exception)
    return out.output


def test_list_show_and_versions(churn: list[str]) -> None:
    assert [m["latest_version"] for m in json.loads(ok("models", "list", "--json"))] == [2]
    assert "churn" in ok("models", "list")
    shown = json.loads(ok("models", "show", "churn", "--json"))
    assert [v["run_id"] for v in shown["versions"]] == churn and shown["policy"] is None
    assert "no promotion policy" in ok("models", "show", "churn")
    version = json.loads(ok("models", "show", "models:/churn/1", "--json"))
    tenure = version["signature"]["inputs"][0]
    assert tenure == {"name": "tenure", "type": "int64", "shape": None, "nullable": False}
    assert "scikit-learn" in ok("models", "show", "models:/churn")
    assert [v["version"] for v in json.loads(ok("models", "versions", "churn", "--json"))] == [1, 2]


def test_alias_policy_promote_and_approve(churn: list[str]) -> None:
    assert "-> version 1" in ok("models", "alias", "churn", "staging", "1")
    ok("models", "alias", "churn", "staging", "2", "--expect", "1")
    moved = runner.invoke(app, ["models", "alias", "churn", "staging", "1", "--expect", "1"])
    assert isinstance(moved.exception, Conflict) and "points at version 2" in str(moved.exception)
    ok("models", "alias", "churn", "staging", "--delete")
    missing = runner.invoke(app, ["models", "alias", "churn", "staging"])
    assert isinstance(missing.exception, Invalid)

    policy = ok(
        "models", "policy", "churn", "--require", "val_auc >= 0.8", "--approver-role", "approver"
    )
    assert "approver role: approver" in policy and "val_auc" in policy and "0.8" in policy
    blocked = runner.invoke(app, ["models", "promote", "churn", "1", "--to", "champion"])
    assert isinstance(blocked.exception, Conflict) and "val_auc is 0.7" in str(blocked.exception)
    pending = ok("models", "promote", "churn", "2", "--to", "champion")
    request_id = pending.split("request ")[1].split()[0]
    assert "pending approval by role 'approver'" in pending
    rows = json.loads(ok("models", "requests", "churn", "--status", "pending", "--json"))
    assert [r["request_id"] for r in rows] == [request_id]
    os.environ["KNOT_USER"] = "reviewer"  # someone other than the requester approves
    try:
        assert "approved" in ok("models", "approve", request_id, "--comment", "ok")
    finally:
        os.environ["KNOT_USER"] = "tester"
    assert knot.get_model("churn").aliases == {"champion": 2}
    assert "request" in ok("models", "requests", "churn")
    assert "removed" in ok("models", "policy", "churn", "--clear")
    assert "no promotion policy" in ok("models", "policy", "churn")


def test_update_and_card(churn: list[str], tmp_path: Path) -> None:
    ok("models", "update", "churn", "2", "--intended-use", "retention offers")
    card = ok("models", "card", "churn", "2")
    assert "retention offers" in card and "| val_auc | 0.9 |" in card
    html, md = tmp_path / "card.html", tmp_path / "card.md"
    out = runner.invoke(app, ["models", "card", "churn", "2", "--html", str(html), "--md", str(md)])
    assert out.exit_code == 0 and "retention offers" in md.read_text()
    assert "<h1>Model card: churn v2</h1>" in html.read_text()
    unknown = runner.invoke(app, ["models", "card", "churn", "9"])
    assert isinstance(unknown.exception, NotFound)


def test_register_from_a_run(churn: list[str]) -> None:
    assert "registered models:/fraud/1" in ok("models", "register", churn[0], "fraud")


def test_errors_are_one_line_and_exit_2(churn: list[str]) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "from knot.cli import main; main()",
            "models",
            "show",
            "models:/churn@gold",
        ],
        capture_output=True,
        text=True,
        env={**os.environ},
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr.strip() == "error: model 'churn' has no alias 'gold'; it has no aliases " + (
        "yet (set one with `knot models alias churn ALIAS VERSION`)"
    )
