"""Logging and registering a model, Knot against MLflow 3.17, side by side in one process.

    python bench/registry.py [--quick] [--sides mlflow,knot]

Each side logs a fitted scikit-learn LogisticRegression with an input example and
registers it as the next version of a model (`mlflow.sklearn.log_model(...,
registered_model_name=...)` vs `knot.log_model(..., registered_model_name=...)`), on a
local SQLite store and artifact folder, then loads it back by models:/ URI. The first
call is timed on its own (imports and first use included); the steady rows are medians of
the calls after it. Both sides record the environment the model needs: MLflow infers pip
requirements, Knot reads installed versions of the flavor's packages. Results also go to
bench/results/registry.json. Nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import logging
import os
import statistics
import sys
import tempfile
import time
import traceback
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.progress import Progress

from _common import Result, console, print_table, require_mlflow, write_json

os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")

Side = Callable[[Path, Any, Any, int, Progress], tuple[float, list[float], float, str]]


def training_data() -> tuple[Any, Any]:
    """A LogisticRegression on 5,000 rows x 12 columns (fitted once, logged by both)."""
    import numpy as np
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(7)
    X = pd.DataFrame(rng.normal(size=(5000, 12)), columns=[f"f{i}" for i in range(12)])
    y = (X["f0"] + 0.5 * X["f1"] - X["f2"] > 0).astype(int)
    return LogisticRegression(max_iter=1000).fit(X, y), X


def timed(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def mlflow_side(
    home: Path, model: Any, X: Any, n: int, progress: Progress
) -> tuple[float, list[float], float, str]:
    import mlflow
    import mlflow.sklearn

    mlflow.set_tracking_uri(f"sqlite:///{home / 'mlflow.db'}")
    experiment = mlflow.create_experiment("bench", artifact_location=(home / "art").as_uri())
    mlflow.set_experiment(experiment_id=experiment)
    task = progress.add_task("mlflow log_model + register", total=n)

    def log() -> None:
        # MLflow prints "Successfully registered model ..." on every call; keep the table clean
        with (
            contextlib.redirect_stdout(io.StringIO()),
            contextlib.redirect_stderr(io.StringIO()),
            mlflow.start_run(),
        ):
            mlflow.sklearn.log_model(
                model, name="model", registered_model_name="churn", input_example=X.head()
            )
        progress.advance(task)

    first = timed(log)
    steady = [timed(log) for _ in range(n - 1)]
    load = timed(lambda: mlflow.sklearn.load_model("models:/churn/1").predict(X.head()))
    requirements = Path(
        mlflow.artifacts.download_artifacts("models:/churn/1", dst_path=str(home / "dl"))
    )
    recorded = (requirements / "requirements.txt").read_text().split()
    return first, steady, load, ", ".join(recorded)


def knot_side(
    home: Path, model: Any, X: Any, n: int, progress: Progress
) -> tuple[float, list[float], float, str]:
    os.environ["KNOT_HOME"] = str(home)
    for name in ("KNOT_STORE", "KNOT_ARTIFACTS"):
        os.environ.pop(name, None)
    import knot

    knot.reset()
    task = progress.add_task("knot log_model + register", total=n)
    versions = []

    def log() -> None:
        with knot.start_run("bench", experiment="bench"):
            versions.append(
                knot.log_model(
                    model, "model", registered_model_name="churn", input_example=X.head()
                )
            )
        progress.advance(task)

    first = timed(log)
    steady = [timed(log) for _ in range(n - 1)]
    load = timed(lambda: knot.load_model("models:/churn/1").predict(X.head()))
    env = versions[0].environment
    recorded = [f"python {env.python}", *(f"{k}=={v}" for k, v in env.packages.items())]
    knot.reset()
    return first, steady, load, ", ".join(recorded)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer calls (smoke test)")
    parser.add_argument("--sides", default="mlflow,knot", help="comma list: mlflow,knot")
    args = parser.parse_args(argv)
    sides: dict[str, tuple[Side, int]] = {
        "mlflow": (mlflow_side, 3 if args.quick else 5),
        "knot": (knot_side, 5 if args.quick else 30),
    }
    chosen = [s for s in sides if s in args.sides.split(",")]
    mlflow_version = require_mlflow()
    import mlflow  # noqa: F401  (configures its loggers on import; quiet them afterwards)

    for name in ("mlflow", "alembic"):
        logging.getLogger(name).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore")
    console.print(f"MLflow {mlflow_version} vs Knot; ratio = how many times faster Knot is")
    model, X = training_data()
    first = Result(
        "log_model + register: first call",
        "s",
        False,
        note="imports, store creation and first use included; the side measured second finds "
        "scikit-learn (and skops) already imported",
    )
    steady = Result("log_model + register: median of the rest", "s", False, goal_ratio=40)
    load = Result("load_model('models:/churn/1') + predict", "s", False)
    with (
        tempfile.TemporaryDirectory(prefix="knot-bench-", ignore_cleanup_errors=True) as tmp,
        Progress(console=console, transient=True) as progress,
    ):
        os.chdir(tmp)  # MLflow's default ./mlruns and any knot.toml lookup stay in here
        for side in chosen:
            fn, n = sides[side]
            home = Path(tmp) / side
            home.mkdir()
            try:
                t_first, t_steady, t_load, recorded = fn(home, model, X, n, progress)
            except Exception as exc:
                traceback.print_exc()
                steady.error += f"{side}: {type(exc).__name__}: {exc}  "
                continue
            setattr(first, side, t_first)
            setattr(steady, side, statistics.median(t_steady))
            setattr(steady, f"n_{side}", len(t_steady))
            setattr(load, side, t_load)
            steady.note += f"{side} recorded: {recorded[:160]}; "
    results = [first, steady, load]
    print_table("Registry: Knot vs MLflow (same process run)", results)
    path = write_json("registry.json", results, mlflow_version=mlflow_version, quick=args.quick)
    console.print(f"[dim]wrote {path}[/]")
    return 1 if any(r.error for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
