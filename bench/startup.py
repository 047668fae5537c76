"""Start-up time, Knot against MLflow 3.17: `import knot` vs `import mlflow`, `knot --help` vs
`mlflow --version`, each the median of several fresh processes in one run.

    python bench/startup.py [--runs N]

Both run with byte code compiled once beforehand (a warm-up run per command, into a private
PYTHONPYCACHEPREFIX, so nothing is written into the source tree), as after a normal install.
The goal is absolute: `knot --help` answers in under 0.3 s. Results also go to
bench/results/startup.json. Nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

from _common import Result, console, print_table, require_mlflow, venv_script, write_json

HELP_GOAL_S = 0.3


def run_once(cmd: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        raise RuntimeError(f"`{' '.join(cmd[-2:])}` exited {done.returncode}: {' | '.join(tail)}")
    return elapsed


def median_time(cmd: list[str], env: dict[str, str], runs: int) -> tuple[float, float]:
    """(median, min) over `runs` fresh processes, after one warm-up run."""
    run_once(cmd, env)
    times = [run_once(cmd, env) for _ in range(runs)]
    return statistics.median(times), min(times)


def slowest_imports(code: str, env: dict[str, str], top: int = 8) -> list[tuple[str, float]]:
    """Top-level modules by cumulative import time (python -X importtime) while running code."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    found: list[tuple[str, float]] = []
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        _, cumulative, name = line.split("|", 2)
        name = name.rstrip()
        if name.strip() and name[1:2] != " " and cumulative.strip().isdigit():  # top level only
            found.append((name.strip(), int(cumulative) / 1e6))
    return sorted(found, key=lambda item: -item[1])[:top]


def measure(row: Result, side: str, cmd: list[str], env: dict[str, str], runs: int) -> float | None:
    console.print(f"[dim]{row.scenario}: {side} ...[/]", end=" ")
    try:
        med, best = median_time(cmd, env, runs)
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
        console.print("[red]error[/]")
        row.error += f"{side}: {exc}  "
        return None
    console.print(f"median {med * 1000:,.0f} ms (min {best * 1000:,.0f} ms)")
    setattr(row, side, med)
    setattr(row, f"n_{side}", runs)
    return med


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="fresh processes per command")
    args = parser.parse_args(argv)
    mlflow_version = require_mlflow()
    py = sys.executable
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="knot-bench-pyc-") as pyc:
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["PYTHONPYCACHEPREFIX"] = pyc
        env.pop("KNOT_STORE", None)  # the CLI must not need a store to answer --help

        bare = Result("python -c pass (the interpreter alone)", "s", False)
        measure(bare, "knot", [py, "-c", "pass"], env, args.runs)
        bare.mlflow, bare.n_mlflow = bare.knot, bare.n_knot
        results.append(bare)

        imports = Result("python -c 'import mlflow' / 'import knot'", "s", False)
        measure(imports, "mlflow", [py, "-c", "import mlflow"], env, args.runs)
        measure(imports, "knot", [py, "-c", "import knot"], env, args.runs)
        results.append(imports)

        cli = Result("`mlflow --version` / `knot --help`", "s", False, goal_abs=HELP_GOAL_S)
        try:
            mlflow_cmd, knot_cmd = [venv_script("mlflow"), "--version"], [venv_script("knot")]
        except FileNotFoundError as exc:
            cli.error = str(exc)
        else:
            measure(cli, "mlflow", mlflow_cmd, env, args.runs)
            measure(cli, "knot", [*knot_cmd, "--help"], env, args.runs)
        results.append(cli)

        help_code = "import sys; sys.argv = ['knot', '--help']; from knot.cli import main; main()"
        heavy = slowest_imports(help_code, env) if cli.knot is not None else []

    print_table(f"Start-up: Knot vs MLflow {mlflow_version} (median of {args.runs})", results)
    if heavy:
        console.print("slowest top-level imports under `knot --help` (cumulative):")
        for name, seconds in heavy:
            console.print(f"  {seconds * 1000:8.1f} ms  {name}")
    meta = {"mlflow_version": mlflow_version, "runs": args.runs, "help_goal_s": HELP_GOAL_S}
    path = write_json("startup.json", results, **meta, knot_help_imports=heavy)
    console.print(f"[dim]wrote {path}[/]")
    return 1 if any(r.error for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
