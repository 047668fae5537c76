"""The installed `knot` ends with the documented codes: 0 ok, 1 a check failed (with
`failed: why` on stderr), 2 a usage, input or store error (one `error: ...` line, never a
traceback). Each failing check sits beside its passing twin, so a command that always
exits 0, or always 1, fails here. Models and ModelKits: test_exit_codes_models.py."""

from __future__ import annotations

import json
import socket
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

import knot
from tests.cli.knot_process import (
    assert_check_failed,
    assert_error,
    assert_ok,
    prepared_home,
    run,
)

RULES = "columns:\n  age: {min: 18, max: 120}\n  plan: {allowed: [basic, pro]}\n"
STRICT = "columns:\n  age: {max: 40}\n"


def _customers(n: int, seed: int, shift: bool = False) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    age = rng.integers(20, 80, size=n) + (60 if shift else 0)
    plan = ["enterprise"] * n if shift else rng.choice(["basic", "pro"], size=n).tolist()
    return pd.DataFrame({"age": age, "plan": plan, "tenure": rng.normal(24, 6, size=n)})


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Dataset churn@1 (with RULES) and shifted@1, whose every column moved; the CSVs and
    rule files sit beside the home."""
    with prepared_home(tmp_path_factory, "exit-codes") as home:
        files = home.parent
        _customers(300, seed=0).to_csv(files / "churn.csv", index=False)
        _customers(300, seed=1, shift=True).to_csv(files / "shifted.csv", index=False)
        (files / "rules.yaml").write_text(RULES, encoding="utf-8")
        (files / "strict.yaml").write_text(STRICT, encoding="utf-8")
        knot.register_dataset("churn", files / "churn.csv", rules=files / "rules.yaml")
        knot.register_dataset("shifted", files / "shifted.csv")
        knot.reset()
        yield home


@pytest.mark.parametrize(
    ("args", "message", "see"),
    [
        (["dashboard"], "No such command 'dashboard'", "knot"),
        (["runs", "list", "--bogus"], "No such option: --bogus", "knot runs list"),
        (["runs", "show"], "Missing argument", "knot runs show"),
        (["runs", "list", "--limit", "many"], "Invalid value for '--limit'", "knot runs list"),
    ],
)
def test_usage_errors_are_one_line_with_exit_2(
    home: Path, args: list[str], message: str, see: str
) -> None:
    done = run(home, *args)
    assert_error(done, message, f"(see '{see} --help')")
    assert done.stdout == ""


@pytest.mark.parametrize("group", [[], ["runs"]])
def test_a_bare_group_prints_its_help_and_exits_2(home: Path, group: list[str]) -> None:
    done = run(home, *group)
    path = " ".join(["knot", *group])
    assert f"Usage: {path} [OPTIONS] COMMAND" in done.stdout
    assert done.stderr == f"error: missing command (see '{path} --help')\n"
    assert_error(done)


def test_help_documents_the_exit_codes(home: Path) -> None:
    shown = " ".join(assert_ok(run(home, "--help")).split())  # Rich wraps the epilog
    assert "Exit codes: 0 ok; 1 a check failed" in shown
    assert "2 a usage, input or store error" in shown


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["runs", "show", "0" * 32], "run '00000000000000000000000000000000' not found"),
        (["models", "show", "nope"], "model 'nope' not found"),
        (["data", "show", "churn@9"], "dataset 'churn' has no version 9"),
    ],
)
def test_unknown_names_exit_2(home: Path, args: list[str], message: str) -> None:
    assert_error(run(home, *args), message)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_store_knot_cannot_open_exits_2(home: Path) -> None:
    port = _closed_port()
    server = run(home, "runs", "list", KNOT_STORE=f"http://127.0.0.1:{port}")
    assert_error(server, "cannot reach the Knot server", str(port))
    # the driver's message spans lines; it arrives as one
    database = run(home, "runs", "list", KNOT_STORE=f"postgresql://knot@127.0.0.1:{port}/knot")
    assert_error(database, "cannot open the metadata store", "check KNOT_STORE")
    assert_error(run(home, "runs", "list", KNOT_STORE="bogus://x"), "no supported scheme")


def test_a_file_knot_cannot_write_exits_2(home: Path, tmp_path: Path) -> None:
    assert_error(
        run(home, "data", "profile", "churn@1", "--html", str(tmp_path)),
        f"Is a directory: {tmp_path}",
        "check the path",
    )


def test_data_validate_exits_1_when_a_rule_fails(home: Path) -> None:
    files = home.parent
    passed = assert_ok(
        run(home, "data", "validate", "churn@1", "--rules", str(files / "rules.yaml"))
    )
    assert "churn@1: 4/4 rules passed" in passed
    done = run(home, "data", "validate", "churn@1", "--rules", str(files / "strict.yaml"))
    assert_check_failed(done, "churn@1: 1/2 rules passed", "failed: age.range")


def test_data_register_exits_1_for_a_rejected_version(home: Path) -> None:
    files = home.parent
    rules = str(files / "rules.yaml")
    accepted = run(home, "data", "register", "signups", str(files / "churn.csv"), "-r", rules)
    assert "signups@1 accepted" in assert_ok(accepted)
    rejected = run(home, "data", "register", "signups", str(files / "shifted.csv"), "--json")
    assert json.loads(rejected.stdout)["status"] == "rejected"  # stdout stays JSON
    assert_check_failed(rejected, "signups@2 is stored as rejected", "age.range", "plan.allowed")
    assert knot.get_dataset("signups").ref == "signups@1"  # latest is still the accepted one


def _gates(home: Path, name: str, gates: dict[str, object]) -> str:
    path = home.parent / name
    path.write_text(yaml.safe_dump(gates), encoding="utf-8")
    return str(path)


def test_knot_check_exits_1_on_a_failing_gate_and_2_on_a_bad_config(home: Path) -> None:
    passing = _gates(home, "pass.yaml", {"data": [{"dataset": "churn", "rules": "rules.yaml"}]})
    assert "1/1 gates passed" in assert_ok(run(home, "check", "-c", passing))
    failing = _gates(home, "fail.yaml", {"data": [{"dataset": "churn", "rules": "strict.yaml"}]})
    done = run(home, "check", "-c", failing, "--json")
    assert json.loads(done.stdout)["passed"] is False
    assert_check_failed(done, "1 of 1 gates failed: data churn@1")
    typo = _gates(home, "typo.yaml", {"data": [{"dataset": "churn", "rulez": "rules.yaml"}]})
    assert_error(run(home, "check", "-c", typo), "rulez")


def test_monitor_drift_exits_1_only_with_fail_on_drift(home: Path) -> None:
    same = run(home, "monitor", "drift", "dataset:churn@1", "dataset:churn@1", "--fail-on-drift")
    assert "no dataset drift" in assert_ok(same)
    moved = ["monitor", "drift", "dataset:churn@1", "dataset:shifted@1"]
    assert "dataset drifted" in assert_ok(run(home, *moved))  # a report, not a gate
    assert_check_failed(run(home, *moved, "--fail-on-drift"), "dataset drifted", "age", "plan")


def test_audit_verify_exits_1_on_an_edited_record(knot_home: Path) -> None:
    knot.create_experiment("audited")
    knot.create_experiment("audited-too")
    knot.reset()
    assert "audit log intact" in assert_ok(run(knot_home, "audit", "verify"))
    with sqlite3.connect(knot_home / "knot.db") as db:  # a database writer edits a row
        db.execute("UPDATE audit_log SET actor = 'mallory' WHERE seq = 1")
    db.close()
    done = run(knot_home, "audit", "verify")
    assert_check_failed(done, "the audit log is broken in 1 place: #1 edited")
