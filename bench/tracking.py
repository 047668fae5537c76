"""Experiment tracking, Knot against MLflow 3.17, side by side in one process run.

    python bench/tracking.py [--quick] [--skip-http] [--sides mlflow,knot] [--rounds 5]
                             [--only 2,3]

Each scenario runs MLflow and Knot interleaved (bench/interleave.py), `--rounds` times each,
every writing round against a fresh store, and the table shows each side's median, min and
max, the ratio of the medians (how many times better Knot is) and the load average before
and after. Each round starts once this process and its servers are idle, so work one
side left running is not billed to the other. Every timing stops only when all points
are durable: MLflow's calls are
synchronous; Knot's clock runs until the run has ended and `knot.flush()` returned. Where
MLflow is slow it logs fewer points and the two are compared as rates; the 200-run job is
timed on fewer MLflow runs and scaled to 200. Search populates each store once, untimed,
and every round checks that Knot found the same number of runs as MLflow.
Over HTTP both servers run at once: MLflow as `mlflow server` with its defaults (4 uvicorn
workers), which is what the start-up and memory goals refer to; `--mlflow-workers 1` gives
MLflow's faster per-request path (see the note printed under the table).
Results also go to bench/results/tracking.json. Nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import logging
import os
import random
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from _common import Result, console, print_table, require_mlflow, venv_script, write_json
from _servers import free_port, run_server, wait_idle
from interleave import DEFAULT_N, Interleaved, interleave, print_interleaved

KEYS = [f"m{i}" for i in range(10)]  # batched scenario: 10 metrics per step
FILTER = "metrics.auc > 0.5"
SEARCH_REPEATS = 5


@dataclass(frozen=True)
class Target:
    """Where one side logs: `uri` for the timed calls, `local_uri` for untimed population."""

    uri: str
    local_uri: str
    home: Path


Fn = Callable[[Target, int], tuple[float, int]]  # -> (seconds, items seen)


def now_ms() -> int:
    return int(time.time() * 1000)


# --- the two SDKs -------------------------------------------------------------------------
def use_mlflow(uri: str, experiment: str) -> Any:
    import mlflow

    mlflow.set_tracking_uri(uri)
    mlflow.set_experiment(experiment)
    return mlflow


def use_knot(uri: str, home: Path) -> Any:
    os.environ["KNOT_STORE"] = uri
    os.environ["KNOT_HOME"] = str(home)
    import knot

    if hasattr(knot, "reset"):
        knot.reset()  # drop a store cached under the previous KNOT_STORE
    return knot


# --- scenarios: a pair of functions each --------------------------------------------------
def mlflow_per_call(t: Target, n: int) -> tuple[float, int]:
    mlflow = use_mlflow(t.uri, "per-call")
    start = time.perf_counter()
    with mlflow.start_run(run_name="per-call"):
        for i in range(n):
            mlflow.log_metric("loss", 1.0 / (i + 1), step=i)
    return time.perf_counter() - start, n


def knot_per_call(t: Target, n: int) -> tuple[float, int]:
    knot = use_knot(t.uri, t.home)
    start = time.perf_counter()
    with knot.start_run(name="per-call", experiment="per-call"):
        for i in range(n):
            knot.log_metric("loss", 1.0 / (i + 1), step=i)
    knot.flush()
    return time.perf_counter() - start, n


def mlflow_batch(t: Target, n: int) -> tuple[float, int]:
    """MlflowClient.log_batch, 1,000 metrics per call (MLflow's limit): 100 steps x 10 keys."""
    mlflow = use_mlflow(t.uri, "batch")
    from mlflow.entities import Metric

    client = mlflow.MlflowClient(tracking_uri=t.uri)
    steps = n // len(KEYS)
    start = time.perf_counter()
    run_id = mlflow.start_run(run_name="batch").info.run_id
    for first in range(0, steps, 100):
        ts = now_ms()
        batch = [
            Metric(k, float(s), ts, s) for s in range(first, min(first + 100, steps)) for k in KEYS
        ]
        client.log_batch(run_id, metrics=batch)
    mlflow.end_run()
    return time.perf_counter() - start, steps * len(KEYS)


def knot_batch(t: Target, n: int) -> tuple[float, int]:
    """run.log_metrics with a dict of 10 keys per step; the SDK batches the writes."""
    knot = use_knot(t.uri, t.home)
    steps = n // len(KEYS)
    start = time.perf_counter()
    with knot.start_run(name="batch", experiment="batch") as run:
        for s in range(steps):
            run.log_metrics({k: float(s) for k in KEYS}, step=s)
    knot.flush()
    return time.perf_counter() - start, steps * len(KEYS)


def mlflow_job(t: Target, n: int) -> tuple[float, int]:
    """n runs, each started, 10 log_param + 20 log_metric calls, ended."""
    mlflow = use_mlflow(t.uri, "job")
    start = time.perf_counter()
    for r in range(n):
        with mlflow.start_run(run_name=f"run-{r}"):
            for j in range(10):
                mlflow.log_param(f"p{j}", j)
            for j in range(20):
                mlflow.log_metric(f"m{j}", j * 0.5)
    return time.perf_counter() - start, n


def knot_job(t: Target, n: int) -> tuple[float, int]:
    knot = use_knot(t.uri, t.home)
    start = time.perf_counter()
    for r in range(n):
        with knot.start_run(name=f"run-{r}", experiment="job"):
            for j in range(10):
                knot.log_param(f"p{j}", j)
            for j in range(20):
                knot.log_metric(f"m{j}", j * 0.5)
    knot.flush()
    return time.perf_counter() - start, n


def search_data(n: int) -> list[tuple[dict[str, str], list[dict[str, float]]]]:
    """n runs: 5 params, 3 metrics x 10 steps; the last `auc` is uniform in [0, 1)."""
    rng = random.Random(1571)
    runs = []
    for i in range(n):
        auc = rng.random()
        params = {
            "lr": str(rng.choice([0.3, 0.1, 0.03, 0.01])),
            "depth": str(rng.randint(2, 12)),
            "model": rng.choice(["gbm", "forest", "logistic"]),
            "features": str(rng.randint(5, 50)),
            "seed": str(i),
        }
        history = [
            {"auc": auc * (s + 1) / 10, "loss": 1 - auc * (s + 1) / 10, "acc": auc * s / 10}
            for s in range(10)
        ]
        runs.append((params, history))
    return runs


def mlflow_search(t: Target, n: int) -> tuple[float, int]:
    import mlflow
    from mlflow.entities import Metric, Param

    local = mlflow.MlflowClient(tracking_uri=t.local_uri)  # populate untimed, straight to SQL
    exp_id = local.create_experiment("search")
    for params, history in search_data(n):
        run_id = local.create_run(exp_id).info.run_id
        ts = now_ms()
        metrics = [Metric(k, v, ts + s, s) for s, row in enumerate(history) for k, v in row.items()]
        local.log_batch(run_id, metrics=metrics, params=[Param(k, v) for k, v in params.items()])
        local.set_terminated(run_id)
    client = mlflow.MlflowClient(tracking_uri=t.uri)
    best, found = float("inf"), 0
    for _ in range(SEARCH_REPEATS):
        start = time.perf_counter()
        found = len(client.search_runs([exp_id], FILTER, max_results=1000))
        best = min(best, time.perf_counter() - start)
    return best, found


def knot_search(t: Target, n: int) -> tuple[float, int]:
    knot = use_knot(t.local_uri, t.home)  # populate untimed, straight to SQL
    for i, (params, history) in enumerate(search_data(n)):
        with knot.start_run(name=f"run-{i}", experiment="search") as run:
            run.log_params(params)
            for s, row in enumerate(history):
                run.log_metrics(row, step=s)
    knot.flush()
    knot = use_knot(t.uri, t.home)
    best, found = float("inf"), 0
    for _ in range(SEARCH_REPEATS):
        start = time.perf_counter()
        found = len(knot.search_runs(experiment="search", filter=FILTER, max_results=1000))
        best = min(best, time.perf_counter() - start)
    return best, found


@dataclass(frozen=True)
class Scenario:
    title: str
    unit: str  # "points/s": shown as a rate; "s": shown as a time
    goal: float  # Knot must be this many times better
    mlflow: Fn
    knot: Fn
    n: tuple[int, int]  # (mlflow, knot), local SQLite
    http_n: tuple[int, int]  # (mlflow, knot), over HTTP
    value: Callable[[float, int], float]  # (seconds, n) -> the number in the table
    search: bool = False  # populate once, untimed; every round re-times the search


def _rate(s: float, n: int) -> float:
    return n / s


SCENARIOS = [
    Scenario("per-call log_metric", "points/s", 500, mlflow_per_call, knot_per_call,
             (1_000, 100_000), (500, 100_000), _rate),
    Scenario("batched logging", "points/s", 20, mlflow_batch, knot_batch,
             (20_000, 200_000), (20_000, 200_000), _rate),
    Scenario("200 runs x (10 params + 20 metrics), time for 200", "s", 50, mlflow_job, knot_job,
             (40, 200), (20, 200), lambda s, n: s * 200 / n),
    Scenario(f"search_runs over 1,000 runs, {FILTER}", "s", 5, mlflow_search, knot_search,
             (1_000, 1_000), (1_000, 1_000), lambda s, n: s, search=True),
]  # fmt: skip


# --- running ------------------------------------------------------------------------------
def size(ns: tuple[int, int], side: str, opts: argparse.Namespace) -> int:
    n = ns[0] if side == "mlflow" else ns[1]
    return max(10, n // 10) if opts.quick else n


class Sides:
    """One scenario's two sides as round functions for `interleave`.

    Writing scenarios get a fresh store every round (`fresh` makes the Target); search
    populates its store once, untimed, and checks every round that Knot finds exactly the
    runs MLflow found.
    """

    def __init__(self, sc: Scenario, opts: argparse.Namespace, ns: tuple[int, int]) -> None:
        self.sc, self.opts, self.ns = sc, opts, ns
        self.found: dict[str, int] = {}

    def side(self, name: str, fresh: Callable[[str, int], Target]) -> Callable[[int], float] | None:
        if name not in self.opts.sides:
            return None
        n = size(self.ns, name, self.opts)
        fn = getattr(self.sc, name)
        search = self.sc.search
        shared = fresh(name, 0) if search else None

        def one_round(i: int) -> float:
            target = shared if shared is not None else fresh(name, i)
            # both servers (children of this process) and both sides' writer threads
            # finish what the last round left first, so it is not billed to this one
            wait_idle(os.getpid(), busy=0.05, limit=60)
            seconds, seen = fn(target, n)
            if search:
                self.check(name, seen)
            return float(self.sc.value(seconds, n))

        return one_round

    def check(self, name: str, seen: int) -> None:
        self.found[name] = seen
        if len(set(self.found.values())) > 1:
            raise RuntimeError(f"search found different runs: {self.found}")


def searcher(sc: Scenario) -> Scenario:
    """Search populates only on its first call per Target, so rounds re-time the search."""
    if not sc.search:
        return sc
    done: dict[tuple[str, str], Any] = {}

    def wrap(fn: Fn, side: str) -> Fn:
        def inner(t: Target, n: int) -> tuple[float, int]:
            key = (side, t.uri)
            if key not in done:
                done[key] = True
                return fn(t, n)
            return search_again(side, t)

        return inner

    return dataclasses.replace(sc, mlflow=wrap(sc.mlflow, "mlflow"), knot=wrap(sc.knot, "knot"))


def search_again(side: str, t: Target) -> tuple[float, int]:
    """The timed part of the search scenario on an already populated store."""
    best, found = float("inf"), 0
    if side == "mlflow":
        import mlflow

        client = mlflow.MlflowClient(tracking_uri=t.uri)
        exp_id = client.get_experiment_by_name("search").experiment_id
        for _ in range(SEARCH_REPEATS):
            start = time.perf_counter()
            found = len(client.search_runs([exp_id], FILTER, max_results=1000))
            best = min(best, time.perf_counter() - start)
        return best, found
    knot = use_knot(t.uri, t.home)
    for _ in range(SEARCH_REPEATS):
        start = time.perf_counter()
        found = len(knot.search_runs(experiment="search", filter=FILTER, max_results=1000))
        best = min(best, time.perf_counter() - start)
    return best, found


def progress(line: str) -> None:
    console.print(f"[dim]{line}[/]")


def wanted(opts: argparse.Namespace) -> list[Scenario]:
    return [searcher(sc) for i, sc in enumerate(SCENARIOS) if opts.only is None or i in opts.only]


def run_local(root: Path, opts: argparse.Namespace) -> list[Interleaved]:
    results = []
    for i, sc in enumerate(wanted(opts)):

        def fresh(side: str, r: int, i: int = i) -> Target:
            home = root / f"local{i}-{side}-{r}"
            home.mkdir()
            uri = f"sqlite:///{home / (side + '.db')}"
            return Target(uri, uri, home)

        sides = Sides(sc, opts, sc.n)
        results.append(
            interleave(sc.title, sc.unit, sides.side("mlflow", fresh), sides.side("knot", fresh),
                       n=opts.rounds, peer_name="mlflow", progress=progress)
        )  # fmt: skip
    return results


def server_command(side: str, store: str, port: int, home: Path, workers: int | None) -> list[str]:
    listen = ["--host", "127.0.0.1", "--port", str(port)]
    if side == "knot":
        return [venv_script("knot"), "server", "--store", store, *listen]
    more = ["--artifacts-destination", str(home / "artifacts")]
    if workers is not None:
        more += ["--workers", str(workers)]
    return [venv_script("mlflow"), "server", "--backend-store-uri", store, *listen, *more]


def run_http(root: Path, opts: argparse.Namespace) -> tuple[list[Result], list[Interleaved]]:
    """Both servers run at once, so each scenario's rounds alternate between them."""
    ready = Result("HTTP: server healthy (fresh store)", "s", False, goal_abs=2.0)
    memory = Result("HTTP: server peak RSS, whole tree", "MB", False, goal_abs=300.0)
    servers: dict[str, tuple[Any, str, Path]] = {}
    rows: list[Interleaved] = []
    with contextlib.ExitStack() as stack:
        for side in opts.sides:
            home = root / f"http-{side}"
            home.mkdir()
            local = f"sqlite:///{home / (side + '.db')}"
            port = free_port()
            env = {k: v for k, v in os.environ.items() if k != "KNOT_STORE"}
            env["KNOT_HOME"] = str(home)
            console.print(f"[dim]starting {side} server on 127.0.0.1:{port} ...[/]", end=" ")
            cmd = server_command(side, local, port, home, opts.mlflow_workers)
            srv = stack.enter_context(run_server(side, cmd, port, home, env))
            console.print(f"healthy in {srv.ready_s:.2f} s, idle {srv.settle_s:.1f} s later")
            setattr(ready, side, srv.ready_s)
            ready.note += f"{side} went idle {srv.settle_s:.1f} s after; "
            servers[side] = (srv, local, home)
        for sc in wanted(opts):

            def at(side: str, r: int) -> Target:
                srv, local, home = servers[side]
                return Target(srv.url, local, home)

            sides = Sides(sc, opts, sc.http_n)
            rows.append(
                interleave(f"HTTP: {sc.title}", sc.unit, sides.side("mlflow", at),
                           sides.side("knot", at), n=opts.rounds, peer_name="mlflow server",
                           progress=progress)
            )  # fmt: skip
    for side, (srv, _, _) in servers.items():
        setattr(memory, side, srv.peak_mb)
        memory.note += f"{side}: {srv.peak_procs} processes; "
    if "mlflow" in opts.sides and opts.mlflow_workers != 1:
        memory.note += (
            "uvicorn --workers >1 (no uvloop) leaves TCP_NODELAY off: each keep-alive request "
            "to MLflow stalls ~40 ms on Linux; --mlflow-workers 1 is the stricter baseline; "
        )
    return [ready, memory], rows


def quiet_mlflow() -> None:
    import mlflow  # noqa: F401  (configures its loggers on import; quiet them afterwards)

    for name in ("mlflow", "alembic"):
        logging.getLogger(name).setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", module="mlflow")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a tenth of the points (smoke test)")
    parser.add_argument("--skip-http", action="store_true", help="local SQLite scenarios only")
    parser.add_argument("--skip-local", action="store_true", help="HTTP scenarios only")
    parser.add_argument("--sides", default="mlflow,knot", help="comma list: mlflow,knot")
    parser.add_argument("--rounds", type=int, default=DEFAULT_N, help="interleaved rounds")
    parser.add_argument(
        "--only", help="comma list of scenario numbers (0 per-call, 1 batch, 2 job, 3 search)"
    )
    parser.add_argument("--mlflow-workers", type=int, help="`mlflow server --workers` (default 4)")
    args = parser.parse_args(argv)
    args.sides = [s for s in ("mlflow", "knot") if s in args.sides.split(",")]
    args.only = None if args.only is None else {int(x) for x in args.only.split(",")}
    mlflow_version = require_mlflow()
    quiet_mlflow()
    console.print(f"MLflow {mlflow_version} vs Knot; ratio = how many times better Knot is")
    servers: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="knot-bench-", ignore_cleanup_errors=True) as tmp:
        root = Path(tmp)
        os.chdir(root)  # MLflow's default ./mlruns and any knot.toml lookup stay in here
        rows = [] if args.skip_local else run_local(root, args)
        if not args.skip_http:
            servers, http_rows = run_http(root, args)
            rows += http_rows
    goals = {sc.title: sc.goal for sc in SCENARIOS}
    goals |= {f"HTTP: {sc.title}": sc.goal for sc in SCENARIOS}
    print_interleaved("Tracking: Knot vs MLflow", rows, goals)
    if servers:
        print_table("Tracking servers", servers)
    meta = {"mlflow_version": mlflow_version, "quick": args.quick, "sides": args.sides}
    path = write_json("tracking.json", servers, **meta, mlflow_workers=args.mlflow_workers,
                      interleaved=[r.as_json() for r in rows])  # fmt: skip
    console.print(f"[dim]wrote {path}[/]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
