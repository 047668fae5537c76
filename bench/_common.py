"""Shared helpers for the side-by-side benchmarks: results, the Rich table, environment checks.

Benchmarks report ratios (Knot against MLflow measured in the same process run), because
absolute times drift with the machine. Nothing here asserts a time.
"""

from __future__ import annotations

import importlib.util
import json
import os
import platform
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

RESULTS_DIR = Path(__file__).resolve().parent / "results"
console = Console(width=None if sys.stdout.isatty() else 150)

# MLflow phones home by default; this machine (and CI) has no network but the registries.
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "true")
# Nor print (and fetch the run for) a "View run at" link after every run over HTTP.
os.environ.setdefault("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "true")


@dataclass
class Result:
    """One row: the same scenario measured for MLflow and for Knot."""

    scenario: str
    unit: str  # "points/s", "s", "MB"
    higher_is_better: bool
    mlflow: float | None = None
    knot: float | None = None
    n_mlflow: int | None = None
    n_knot: int | None = None
    goal_ratio: float | None = None  # Knot must be at least this many times better
    goal_abs: float | None = None  # Knot's own value must be under this (or over, if higher)
    note: str = ""
    error: str = ""

    @property
    def ratio(self) -> float | None:
        """How many times better Knot is (speed ratio, or MLflow/Knot for times and sizes)."""
        if not self.mlflow or not self.knot:
            return None
        return self.knot / self.mlflow if self.higher_is_better else self.mlflow / self.knot

    @property
    def goal(self) -> str:
        parts = []
        if self.goal_ratio is not None:
            parts.append(f">= {self.goal_ratio:g}x")
        if self.goal_abs is not None:
            op = ">" if self.higher_is_better else "<"
            parts.append(f"{op} {fmt(self.goal_abs, self.unit)}")
        return ", ".join(parts) or "-"

    @property
    def met(self) -> bool | None:
        if self.goal_ratio is None and self.goal_abs is None:
            return None
        if self.knot is None:
            return False
        ok = True
        if self.goal_ratio is not None:
            ok = ok and self.ratio is not None and self.ratio >= self.goal_ratio
        if self.goal_abs is not None:
            over = self.knot > self.goal_abs
            ok = ok and (over if self.higher_is_better else self.knot < self.goal_abs)
        return ok

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "ratio": self.ratio, "goal": self.goal, "met": self.met}


def fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "points/s":
        return f"{value:,.0f} pts/s"
    if unit == "s":
        return f"{value * 1000:,.1f} ms" if value < 1 else f"{value:,.2f} s"
    if unit == "MB":
        return f"{value:,.0f} MB"
    return f"{value:,.3g} {unit}"


def _n(value: int | None) -> str:
    return "-" if value is None else f"{value:,}"


def print_table(title: str, results: list[Result]) -> None:
    table = Table(title=title, title_justify="left")
    for name, justify in [
        ("scenario", "left"),
        ("n mlflow / knot", "right"),
        ("mlflow", "right"),
        ("knot", "right"),
        ("ratio", "right"),
        ("goal", "right"),
        ("met", "center"),
    ]:
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for r in results:
        ratio = "-" if r.ratio is None else f"{r.ratio:,.1f}x"
        met = {None: "-", True: "[green]met[/]", False: "[red]not met[/]"}[r.met]
        knot = fmt(r.knot, r.unit) if not r.error or r.knot is not None else "[red]error[/]"
        mlflow = fmt(r.mlflow, r.unit)
        table.add_row(
            r.scenario, f"{_n(r.n_mlflow)} / {_n(r.n_knot)}", mlflow, knot, ratio, r.goal, met
        )
    console.print(table)
    for r in results:
        if r.note:
            console.print(f"  [dim]{r.scenario}: {r.note}[/]")
    for r in results:
        if r.error:
            console.print(f"  [red]{r.scenario}: {r.error}[/]")


def write_json(name: str, results: list[Result], **meta: Any) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / name
    doc = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        **meta,
        "results": [r.as_json() for r in results],
    }
    path.write_text(json.dumps(doc, indent=2) + "\n")
    return path


def require_mlflow() -> str:
    """Return MLflow's version, or exit with a message saying how to get it."""
    if importlib.util.find_spec("mlflow") is None:
        console.print(
            "[red]MLflow is not installed in this environment.[/] The benchmarks compare Knot "
            "with MLflow side by side; run [bold]make bench[/] (it installs the `bench` "
            "extra, mlflow==3.17.*), or `pip install -e '.\\[bench]'` and run this again."
        )
        sys.exit(2)
    from importlib.metadata import version

    found = version("mlflow")
    if not found.startswith("3.17."):
        console.print(f"[yellow]warning: measuring MLflow {found}; the goals were set on 3.17[/]")
    return found


def venv_script(name: str) -> str:
    """The console script `name` installed next to this interpreter (the venv's own)."""
    import shutil

    beside = Path(sys.executable).with_name(name)
    if beside.exists():
        return str(beside)
    found = shutil.which(name)
    if found is None:
        raise FileNotFoundError(f"no `{name}` script beside {sys.executable} or on PATH")
    return found
