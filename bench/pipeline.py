"""Pipeline overhead: 100 trivial steps, Knot against Prefect 3, side by side in one run.

    python bench/pipeline.py [--quick] [--steps 100] [--rounds 5]

Two shapes of 100 steps that each add 1 to an int, so nearly all the time is the
orchestrator's own: a chain (each step reads the one before; strictly sequential) and a
fan (100 independent steps, then one that sums them). Each is timed cold (a new start
value: every step misses the cache and runs) and fully cached (the same value again:
every step is a cache hit); the two sides take turns (bench/interleave.py), --rounds
times each, and the table shows medians, min, max and the ratio of medians. Before each
timed round the process tree (Prefect's API server included) is let go idle, so one
side's leftover work never lands in the other's round; a second table gives the CPU
seconds each pipeline cost the whole tree until it was idle again (Prefect's server
records task runs after the flow has returned; that work counts there), and a third the
time until every step is recorded: Knot's records are committed when `run()` returns,
Prefect's once its API database holds every task run in a final state (read straight
from that SQLite file: bench/_prefect_records.py). A fourth runs `--in-a-row` cold
pipelines back to back, as a scheduler does, and divides the time until all their
steps are recorded by their number: a pipeline's cost when the next one does not wait
for the last one's bookkeeping (how this bench first timed Prefect, at some 3 s). Last,
an exit check: `--scripts` fresh processes per side each run one cold chain and exit as a
script does, and the table gives how many of the steps each side has recorded once the
process is gone (Prefect's temporary API server stops with the process that started it,
with its task-run records still queued).

Both sides do comparable work per step: Knot records a child run, a cache entry and
lineage edges and stores the output by digest (these, a few bytes each, inline in the
step's record rather than as a blob file: knot.pipelines.values); Prefect records a
task run in its API database and persists the result, with
`cache_policy=TASK_SOURCE + INPUTS` (the same ingredients as Knot's key: the code and
the inputs). Knot runs in-process; Prefect runs its tasks with its default task runner,
called directly (the chain) or submitted (the fan), against its ephemeral local API
server. One warm-up flow per side (imports, server start, database creation) is not
timed. Nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import atexit
import gc
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _common import RESULTS_DIR, console
from _exit_check import exit_check, print_exit_check
from _prefect_records import recorded_after
from _servers import tree_ticks, wait_idle
from interleave import DEFAULT_N, Interleaved, interleave, print_interleaved

os.environ.setdefault("DO_NOT_TRACK", "true")


# --- Knot ---------------------------------------------------------------------------
def knot_flows(steps: int) -> dict[str, Callable[[int], Any]]:
    chain, fan = knot_pipelines(steps)
    return {"chain": lambda s: chain(s).output, "fan": lambda s: fan(s).output}


def knot_pipelines(steps: int) -> tuple[Any, Any]:
    """The chain and the fan as Knot pipelines (calling one returns its PipelineResult)."""
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

    return chain, fan


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
def expected(shape: str, start: int, steps: int) -> int:
    return start + steps if shape == "chain" else sum(range(start + 1, start + steps))


def timed(
    flows: dict[str, Callable[[int], Any]],
    shape: str,
    side: str,
    steps: int,
    base: int,
    cpu: list[float] | None = None,
    recorded: list[float] | None = None,
) -> Callable[[int], float]:
    """A round function for `interleave`: run one flow from start `base + i`, check it.
    `cpu` gets each round's CPU seconds: the whole process tree's (Prefect's API server
    included) from the start until it is idle again, so work a side defers counts.
    `recorded` gets the seconds until every step's record is in the side's store."""

    def one_round(i: int) -> float:
        # rounds far enough apart that no step of one is a step of another: a cold
        # round misses the cache at every step (its cached twin repeats it exactly)
        start = base + i * (steps + 1)
        # Prefect's API server (a subprocess) and both sides' background threads finish
        # the last round's work first, so it is not billed to the next side's round; the
        # same for the garbage both sides leave in this one process (a full collection
        # over Prefect's heap takes tens of ms, about a Knot round)
        gc.collect()
        wait_idle(os.getpid(), busy=0.05, limit=60)
        ticks = tree_ticks()
        began = time.perf_counter()
        if side == "prefect":
            state = flows[shape](start, return_state=True)  # type: ignore[call-arg]
            value = state.result()
        else:
            value = flows[shape](start)
        seconds = time.perf_counter() - began
        if recorded is not None:
            if side == "prefect":
                run_id = state.state_details.flow_run_id
                recorded.append(recorded_after(run_id, steps, began))
            else:
                recorded.append(seconds)  # committed before run() returned
        if cpu is not None:
            wait_idle(os.getpid(), busy=0.05, limit=60)
            cpu.append((tree_ticks() - ticks) / os.sysconf("SC_CLK_TCK"))
        if value != expected(shape, start, steps):
            raise RuntimeError(f"{side} {shape} from {start} returned {value!r}")
        return seconds

    return one_round


def back_to_back(
    flows: dict[str, Callable[[int], Any]],
    shape: str,
    side: str,
    steps: int,
    base: int,
    count: int,
) -> Callable[[int], float]:
    """A round function for `interleave`: `count` cold flows one after another with no
    pause between (a scheduler's day: each flow starts while the last one's records may
    still be written), then the wait until every step of all of them is recorded; the
    seconds per flow. Work a side puts off to after a flow returns counts here."""

    def one_round(i: int) -> float:
        gc.collect()  # as in `timed`
        wait_idle(os.getpid(), busy=0.05, limit=60)
        began = time.perf_counter()
        prefect_runs = []
        for j in range(count):
            start = base + (i * count + j) * (steps + 1)
            if side == "prefect":
                state = flows[shape](start, return_state=True)  # type: ignore[call-arg]
                value = state.result()
                prefect_runs.append(state.state_details.flow_run_id)
            else:
                value = flows[shape](start)  # every record committed at return
            if value != expected(shape, start, steps):
                raise RuntimeError(f"{side} {shape} from {start} returned {value!r}")
        for run_id in prefect_runs:
            recorded_after(run_id, steps, began)
        return (time.perf_counter() - began) / count

    return one_round


def measure(
    knot: dict[str, Callable[[int], Any]],
    prefect: dict[str, Callable[[int], Any]],
    rounds: int,
    steps: int,
) -> tuple[list[Interleaved], list[Interleaved], list[Interleaved]]:
    """Per shape: the cold rounds (new start values) interleaved, then the cached rounds
    (the same start values again, so every step is a cache hit), interleaved. Returns
    the wall times, the CPU times and the times until every step was recorded."""
    for shape in ("chain", "fan"):  # warm-up: imports, first connection, schema; not timed
        for side, flows in (("knot", knot), ("prefect", prefect)):
            timed(flows, shape, side, steps, 10_000)(0)
    out: list[Interleaved] = []
    cpu: list[Interleaved] = []
    until: list[Interleaved] = []
    for shape in ("chain", "fan"):
        base = 1 + 100_000 * len(out)
        for phase in ("cold", "cached"):
            used = Interleaved(f"{shape} {phase}, CPU", "s", False, "prefect")
            kept = Interleaved(f"{shape} {phase}, recorded", "s", False, "prefect")
            out.append(
                interleave(
                    f"{shape} {phase}",
                    "s",
                    timed(
                        prefect, shape, "prefect", steps, base, used.peer.values, kept.peer.values
                    ),
                    timed(knot, shape, "knot", steps, base, used.knot.values, kept.knot.values),
                    n=rounds,
                    peer_name="prefect",
                    progress=lambda line: console.print(f"[dim]{line}[/]"),
                )
            )
            for extra, into in ((used, cpu), (kept, until)):
                extra.load_before, extra.load_after = out[-1].load_before, out[-1].load_after
                into.append(extra)
    return out, cpu, until


def measure_back_to_back(
    knot: dict[str, Callable[[int], Any]],
    prefect: dict[str, Callable[[int], Any]],
    rounds: int,
    steps: int,
    count: int,
) -> list[Interleaved]:
    """Per shape, rounds of `count` cold flows in a row (back_to_back), interleaved."""
    out = []
    for n, shape in enumerate(("chain", "fan")):
        base = 1_000_001 + 1_000_000 * n  # past every start value `measure` uses
        out.append(
            interleave(
                f"{shape} cold, {count} in a row",
                "s",
                back_to_back(prefect, shape, "prefect", steps, base, count),
                back_to_back(knot, shape, "knot", steps, base, count),
                n=rounds,
                peer_name="prefect",
                progress=lambda line: console.print(f"[dim]{line}[/]"),
            )
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=DEFAULT_N, help="interleaved rounds")
    parser.add_argument("--quick", action="store_true", help="two rounds")
    parser.add_argument("--in-a-row", type=int, default=3, help="cold flows per back-to-back round")
    parser.add_argument(
        "--scripts", type=int, default=2, help="processes per side for the exit check (0: none)"
    )
    args = parser.parse_args()
    rounds = 2 if args.quick else args.rounds
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
    knot, prefect = knot_flows(args.steps), prefect_flows(args.steps)
    rows, cpu, until = measure(knot, prefect, rounds, args.steps)
    in_a_row = measure_back_to_back(knot, prefect, rounds, args.steps, args.in_a_row)
    exits = exit_check(root, args.steps, args.scripts)
    report(rows, cpu, until, in_a_row, exits, args.steps, prefect_version)


def report(
    rows: list[Interleaved],
    cpu: list[Interleaved],
    until: list[Interleaved],
    in_a_row: list[Interleaved],
    exits: list[dict[str, Any]],
    steps: int,
    prefect_version: str,
) -> None:
    # The goal (20x) is judged by the time until every step is recorded (the third and
    # fourth tables): Prefect's run() returns before its task runs are recorded.
    print_interleaved(
        f"{steps}-step pipelines of trivial steps, Knot vs Prefect {prefect_version}, "
        "until run() returns",
        rows,
        {},
    )
    print_interleaved("CPU seconds per pipeline, the process tree until idle", cpu, {})
    print_interleaved(
        "Seconds until every step is recorded (Knot: at return; Prefect: in its API database)",
        until,
        {r.scenario: 20.0 for r in until},
    )
    print_interleaved(
        "Seconds per pipeline, several cold ones in a row, until every step is recorded",
        in_a_row,
        {r.scenario: 20.0 for r in in_a_row},
    )
    if exits:
        print_exit_check(exits, steps)
    for r in rows:
        console.print(f"  [dim]{r.scenario}: knot {r.knot.median / steps * 1000:.2f} ms/step[/]")
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / "pipeline.json"
    doc = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "steps": steps,
        "prefect": prefect_version,
        "cpus": os.cpu_count(),
        "interleaved": [r.as_json() for r in rows],
        "cpu": [r.as_json() for r in cpu],
        "recorded": [r.as_json() for r in until],
        "in_a_row": [r.as_json() for r in in_a_row],
        "exit_check": exits,
    }
    path.write_text(json.dumps(doc, indent=2) + "\n")
    console.print(f"  [dim]results: {path}[/]")


if __name__ == "__main__":
    main()
