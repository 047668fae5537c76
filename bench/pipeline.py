"""Pipeline overhead: 100 trivial steps, Knot against Prefect 3, side by side in one run.

    python bench/pipeline.py [--quick] [--steps 100] [--repeat 3]

Two shapes of 100 steps that each add 1 to an int, so nearly all the time is the
orchestrator's own: a chain (each step reads the one before; strictly sequential) and a
fan (100 independent steps, then one that sums them). Each is timed cold (a new start
value: every step misses the cache and runs) and fully cached (the same value again:
every step is a cache hit), median of --repeat runs.

Both sides do comparable work per step: Knot records a child run, a cache entry and
lineage edges and stores the output by digest; Prefect records a task run in its API
database and persists the result, with `cache_policy=TASK_SOURCE + INPUTS` (the same
ingredients as Knot's key: the code and the inputs). Knot runs in-process; Prefect runs
its tasks with its default task runner, called directly (the chain) or submitted (the
fan), against its ephemeral local API server. One warm-up flow per side (imports,
server start, database creation) is not timed. Nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import atexit
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.progress import Progress
from rich.table import Table

from _common import RESULTS_DIR, console

os.environ.setdefault("DO_NOT_TRACK", "true")


# --- Knot ---------------------------------------------------------------------------
def knot_flows(steps: int) -> dict[str, Callable[[int], Any]]:
    import knot

    @knot.step
    def add_one(x: int) -> int:
        return x + 1

    @knot.step
    def total(values: list[int]) -> int:
        return sum(values)

    @knot.pipeline(name="bench_chain")
    def chain(start: int) -> Any:
        value = add_one(start)
        for _ in range(steps - 1):
            value = add_one(value)
        return value

    @knot.pipeline(name="bench_fan")
    def fan(start: int) -> Any:
        return total([add_one(start + i) for i in range(steps - 1)])

    return {"chain": lambda s: chain(s).output, "fan": lambda s: fan(s).output}


# --- Prefect ------------------------------------------------------------------------
def prefect_flows(steps: int) -> dict[str, Callable[[int], Any]]:
    from prefect import flow, task
    from prefect.cache_policies import INPUTS, TASK_SOURCE

    policy = TASK_SOURCE + INPUTS

    @task(cache_policy=policy, persist_result=True)
    def add_one(x: int) -> int:
        return x + 1

    @task(cache_policy=policy, persist_result=True)
    def total(values: list[int]) -> int:
        return sum(values)

    @flow(name="bench-chain", persist_result=True)
    def chain(start: int) -> int:
        value = add_one(start)
        for _ in range(steps - 1):
            value = add_one(value)
        return value

    @flow(name="bench-fan", persist_result=True)
    def fan(start: int) -> int:
        futures = [add_one.submit(start + i) for i in range(steps - 1)]
        return total([f.result() for f in futures])

    return {"chain": chain, "fan": fan}


def prefect_environment(home: Path) -> None:
    """A private Prefect home (API database, result storage), quiet and offline."""
    os.environ.update(
        PREFECT_HOME=str(home),
        PREFECT_LOCAL_STORAGE_PATH=str(home / "storage"),
        PREFECT_LOGGING_LEVEL="WARNING",
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_SERVER_ALLOW_EPHEMERAL_MODE="true",
        # its API server is a subprocess; on a busy 2-core machine it starts slowly
        PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="300",
        PREFECT_RESULTS_PERSIST_BY_DEFAULT="true",
    )
    os.environ.pop("PREFECT_API_URL", None)


# --- measuring ----------------------------------------------------------------------
def measure(
    flows: dict[str, Callable[[int], Any]], repeat: int, steps: int, progress: Progress, side: str
) -> dict[str, float]:
    times: dict[str, list[float]] = {}
    task = progress.add_task(f"{side}", total=len(flows) * (1 + 2 * repeat))
    for shape, run in flows.items():
        expected = {"chain": lambda s: s + steps, "fan": lambda s: sum(range(s + 1, s + steps))}
        run(10_000)  # warm-up: imports, first connection, schema; not timed
        progress.advance(task)
        for i in range(repeat):
            start = 1 + i
            for phase in ("cold", "cached"):
                began = time.perf_counter()
                value = run(start)
                times.setdefault(f"{shape} {phase}", []).append(time.perf_counter() - began)
                if value != expected[shape](start):
                    raise RuntimeError(f"{side} {shape} returned {value!r}")
                progress.advance(task)
    return {k: statistics.median(v) for k, v in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="one repeat")
    args = parser.parse_args()
    repeat = 1 if args.quick else args.repeat
    try:
        from importlib.metadata import version

        prefect_version = version("prefect")
    except Exception:
        console.print(
            "[red]Prefect is not installed here.[/] This benchmark compares Knot with Prefect "
            "side by side: run [bold]make bench[/] (the `bench` extra has prefect), or "
            "`pip install 'prefect>=3,<4'`."
        )
        sys.exit(2)
    # Removed at exit, after Prefect's own exit hooks (registered later, so run first)
    # have stopped its API server, which flushes events into this folder until then.
    root = Path(tempfile.mkdtemp(prefix="knot-bench-pipeline-"))
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    os.environ.update(KNOT_HOME=str(root / "knot"), KNOT_USER="bench")
    for name in ("KNOT_STORE", "KNOT_ARTIFACTS"):
        os.environ.pop(name, None)
    prefect_environment(root / "prefect")
    with Progress(console=console, transient=True) as progress:
        knot_times = measure(knot_flows(args.steps), repeat, args.steps, progress, "knot")
        prefect_times = measure(prefect_flows(args.steps), repeat, args.steps, progress, "prefect")
    load = os.getloadavg()
    report(knot_times, prefect_times, args.steps, repeat, prefect_version, load)


def report(
    knot_times: dict[str, float],
    prefect_times: dict[str, float],
    steps: int,
    repeat: int,
    prefect_version: str,
    load: tuple[float, float, float],
) -> None:
    table = Table(
        title=f"{steps}-step pipelines of trivial steps, median of {repeat} (Prefect "
        f"{prefect_version}); load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}",
        title_justify="left",
    )
    for name in ("scenario", "prefect", "knot", "knot per step", "ratio (prefect / knot)"):
        table.add_column(name, justify="left" if name == "scenario" else "right")
    rows = []
    for scenario, knot_s in knot_times.items():
        prefect_s = prefect_times[scenario]
        ratio = prefect_s / knot_s
        rows.append(
            {"scenario": scenario, "prefect_s": prefect_s, "knot_s": knot_s, "ratio": ratio}
        )
        table.add_row(
            scenario,
            f"{prefect_s:.2f} s",
            f"{knot_s:.2f} s",
            f"{knot_s / steps * 1000:.1f} ms",
            f"{ratio:.1f}x",
        )
    console.print(table)
    console.print("  [dim]ratio > 1: Knot takes less time than Prefect for the same pipeline[/]")
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / "pipeline.json"
    doc = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "steps": steps,
        "repeat": repeat,
        "prefect": prefect_version,
        "load_average": load,
        "cpus": os.cpu_count(),
        "results": rows,
    }
    path.write_text(json.dumps(doc, indent=2) + "\n")
    console.print(f"  [dim]results: {path}[/]")


if __name__ == "__main__":
    main()
