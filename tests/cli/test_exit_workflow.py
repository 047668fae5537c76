"""The example GitHub workflow blocks a pull request: its `knot check` step, run as
GitHub runs it (`bash -e`, the installed `knot` on PATH), fails when a gate fails and
passes when all pass, and its report step reads the JSON the check left behind."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pandas as pd
import yaml

import knot
from tests.cli.knot_process import ROOT, environment


def _steps() -> dict[str, str]:
    workflow = yaml.safe_load((ROOT / ".github/workflows/knot-check.yml").read_text())
    return {s["name"]: s["run"] for s in workflow["jobs"]["gates"]["steps"] if "run" in s}


def _step(script: str, home: Path, workdir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-e", "-c", script],  # GitHub's default shell for `run` on Linux
        cwd=workdir,
        env=environment(home),
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_workflow_fails_the_job_when_a_gate_fails(knot_home: Path, tmp_path: Path) -> None:
    knot.register_dataset("churn", pd.DataFrame({"age": [25, 47, 63], "plan": ["a", "b", "a"]}))
    knot.reset()
    steps = _steps()
    workdir = tmp_path / "repo"
    (workdir / ".github").mkdir(parents=True)
    rules = tmp_path / "rules.yaml"
    config = {"data": [{"dataset": "churn", "rules": str(rules)}]}
    (workdir / ".github/knot-check.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")

    rules.write_text("columns:\n  age: {min: 18}\n", encoding="utf-8")
    passed = _step(steps["knot check"], knot_home, workdir)
    assert passed.returncode == 0, passed.stdout + passed.stderr

    rules.write_text("columns:\n  age: {max: 40}\n", encoding="utf-8")
    failed = _step(steps["knot check"], knot_home, workdir)
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert failed.stderr.splitlines()[-1] == "failed: 1 of 1 gates failed: data churn@1"
    report = _step(steps["Show the report"], knot_home, workdir)  # `if: always()`
    assert report.returncode == 0, report.stderr
    assert "FAILED  data churn@1" in report.stdout and "age.range" in report.stdout
