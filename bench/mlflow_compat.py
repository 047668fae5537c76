"""MLflow's own client against `mlflow server` and against `knot server`, in one run.

    python bench/mlflow_compat.py [--rounds N] [--quick] [--mlflow-workers W]

The same MLflow client code (MlflowClient and the fluent API, nothing Knot-specific) runs
each scenario against both servers, interleaved: round 1 MLflow then Knot, round 2 MLflow
then Knot, ... (N >= 5 rounds by default), so drift on a shared machine hits both sides.
Each row shows the median over the rounds (min and max in the note) and the ratio of the
medians (how many times faster the client finishes against Knot). Both servers start on
fresh SQLite stores; their time to a healthy /health and their peak RSS (the whole
process tree, sampled while the scenarios run) are reported too. The client's own
per-call cost is the floor no server can go under: the row "HTTP floor" is one bare
keep-alive GET of /health with requests, measured on Knot's server. The "client floor"
of each scenario is the same client code against a replay server that answers with the
bodies Knot gave and does no work (a third side of every round, see _client_floor.py);
a second table shows it with the server-side speedup (mlflow - floor) / (knot - floor)
and the best ratio any server could reach, mlflow / floor.
Results also go to bench/results/mlflow_compat.json. Nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from _client_floor import (
    FLOOR,
    calls_per_route,
    floor_rows,
    load_average,
    print_floor,
    record,
    replay_of,
)
from _common import Result, console, print_table, require_mlflow, venv_script, write_json
from _servers import Server, free_port, run_server

SIDES = ("mlflow", "knot")


def _client(url: str) -> Any:
    import mlflow

    mlflow.set_tracking_uri(url)
    return mlflow.MlflowClient(tracking_uri=url)


# --- scenarios: (seconds, items) each; the same MLflow client code for both servers -------
def per_call(url: str, n: int) -> float:
    """n log_metric calls, one HTTP request each, on one run."""
    client = _client(url)
    experiment_id = client.create_experiment(f"per-call-{time.time_ns()}")
    run_id = client.create_run(experiment_id).info.run_id
    start = time.perf_counter()
    for step in range(n):
        client.log_metric(run_id, "loss", 1.0 / (step + 1), step=step)
    elapsed = time.perf_counter() - start
    client.set_terminated(run_id)
    return elapsed


def batched(url: str, n: int) -> float:
    """n points of 10 metrics in log_batch calls of 1,000 points (MLflow's limit)."""
    from mlflow.entities import Metric

    client = _client(url)
    experiment_id = client.create_experiment(f"batch-{time.time_ns()}")
    run_id = client.create_run(experiment_id).info.run_id
    stamp = int(time.time() * 1000)
    points = [Metric(f"m{i % 10}", i * 0.001, stamp, i // 10) for i in range(n)]
    start = time.perf_counter()
    for at in range(0, n, 1000):
        client.log_batch(run_id, metrics=points[at : at + 1000])
    elapsed = time.perf_counter() - start
    client.set_terminated(run_id)
    return elapsed


def short_runs(url: str, n: int) -> float:
    """n runs with the fluent API: start, 2 params, 2 metrics, a tag, end."""
    import mlflow

    _client(url)
    mlflow.set_experiment(f"short-{time.time_ns()}")
    start = time.perf_counter()
    for i in range(n):
        with mlflow.start_run():
            mlflow.log_params({"lr": 0.01 * (i % 5 + 1), "depth": i % 7})
            mlflow.log_metric("auc", 0.5 + (i % 50) / 100)
            mlflow.log_metric("loss", 1.0 / (i + 1))
            mlflow.set_tag("fold", str(i % 3))
    return time.perf_counter() - start


def populate_search(url: str, n: int) -> str:
    """An experiment of n finished runs with a param, a tag and two metrics (untimed)."""
    from mlflow.entities import Metric, Param, RunTag

    client = _client(url)
    experiment_id = str(client.create_experiment(f"search-{time.time_ns()}"))
    stamp = int(time.time() * 1000)
    for i in range(n):
        run_id = client.create_run(experiment_id).info.run_id
        client.log_batch(
            run_id,
            metrics=[Metric("auc", (i * 37 % 100) / 100, stamp, 0), Metric("loss", i, stamp, 0)],
            params=[Param("model", ("lgbm", "xgb", "rf")[i % 3])],
            tags=[RunTag("team", ("a", "b")[i % 2])],
        )
        client.set_terminated(run_id)
    return experiment_id


def search(url: str, experiment_id: str, n: int) -> float:
    """One search over the experiment: a filter, an order_by, every match returned."""
    client = _client(url)
    start = time.perf_counter()
    found = client.search_runs(
        [experiment_id],
        "metrics.auc > 0.5 and params.model = 'lgbm'",
        order_by=["metrics.auc DESC"],
        max_results=1000,
    )
    elapsed = time.perf_counter() - start
    expected = sum(1 for i in range(n) if i * 37 % 100 > 50 and i % 3 == 0)
    if len(found) != expected:
        raise RuntimeError(f"search found {len(found)} runs, expected {expected}")
    return elapsed


def http_floor(url: str, n: int = 200) -> float:
    """Median seconds of one keep-alive GET /health with requests (MLflow's HTTP stack)."""
    import requests

    with requests.Session() as session:
        times = []
        for _ in range(n):
            start = time.perf_counter()
            session.get(f"{url}/health", timeout=10).raise_for_status()
            times.append(time.perf_counter() - start)
    return statistics.median(times)


# --- the run --------------------------------------------------------------------------------
def server_command(side: str, root: Path, port: int, workers: int | None) -> list[str]:
    store = f"sqlite:///{root / (side + '.db')}"
    listen = ["--host", "127.0.0.1", "--port", str(port)]
    if side == "knot":
        artifacts = f"file://{root / 'knot-artifacts'}"
        return [venv_script("knot"), "server", "--store", store, "--artifacts", artifacts, *listen]
    more = ["--artifacts-destination", str(root / "mlflow-artifacts")]
    if workers is not None:
        more += ["--workers", str(workers)]
    return [venv_script("mlflow"), "server", "--backend-store-uri", store, *listen, *more]


def _summary(row: Result, times: dict[str, list[float]]) -> None:
    for side in SIDES:
        if times[side]:
            setattr(row, side, statistics.median(times[side]))
            setattr(row, f"n_{side}", len(times[side]))
            row.note += (
                f"{side} min {min(times[side]) * 1000:,.0f} ms, "
                f"max {max(times[side]) * 1000:,.0f} ms; "
            )


def run(root: Path, opts: argparse.Namespace) -> tuple[list[Result], dict[str, Any]]:
    """The rows of the main table, and the floor analysis (see _client_floor)."""
    sizes = {"per_call": 100 if opts.quick else 500, "batch": 10_000 if opts.quick else 50_000}
    runs, search_n = (50, 300) if opts.quick else (200, 1000)
    rows = {
        "per_call": Result(f"{sizes['per_call']} log_metric calls", "s", False, goal_ratio=5),
        "batch": Result(f"{sizes['batch']:,} points in log_batch", "s", False, goal_ratio=5),
        "runs": Result(f"{runs} short runs (fluent API)", "s", False, goal_ratio=5),
        "search": Result(f"search over {search_n:,} runs", "s", False, goal_ratio=5),
    }
    ready = Result("server healthy (fresh store)", "s", False, goal_abs=2.0)
    memory = Result("server peak RSS, whole tree", "MB", False, goal_abs=300.0)
    floor = Result("HTTP floor: one keep-alive GET", "s", False)
    times: dict[str, dict[str, list[float]]] = {k: {s: [] for s in (*SIDES, FLOOR)} for k in rows}
    servers: dict[str, Server] = {}
    env = {k: v for k, v in os.environ.items() if not k.startswith("KNOT_")}
    load_before = load_average()
    calls: dict[str, int] = {}
    with _servers(root, env, opts, servers), replay_of(servers["knot"], root / FLOOR, env) as rep:
        for side, server in servers.items():
            setattr(ready, side, server.ready_s)
            floor_s = http_floor(server.url)
            setattr(floor, side, floor_s)
        experiments = {s: populate_search(servers[s].url, search_n) for s in SIDES}
        experiments[FLOOR] = experiments["knot"]  # the replay server answers as Knot did
        urls = {**{s: servers[s].url for s in SIDES}, FLOOR: rep.url}
        scenarios: dict[str, Callable[[str, str], float]] = {
            "per_call": lambda url, _e: per_call(url, sizes["per_call"]),
            "batch": lambda url, _e: batched(url, sizes["batch"]),
            "runs": lambda url, _e: short_runs(url, runs),
            "search": lambda url, e: search(url, e, search_n),
        }
        record(rep, {k: partial(f, rep.url, experiments[FLOOR]) for k, f in scenarios.items()})
        for round_no in range(1, opts.rounds + 1):
            for key, scenario in scenarios.items():
                for side in (*SIDES, FLOOR):
                    seconds = scenario(urls[side], experiments[side])
                    times[key][side].append(seconds)
                if round_no == 1:  # requests of one scenario run (the replay counts them)
                    calls[rows[key].scenario] = sum(calls_per_route(rep).values())
            done = ", ".join(
                f"{k} {times[k]['mlflow'][-1] / times[k]['knot'][-1]:.1f}x" for k in rows
            )
            console.print(f"[dim]round {round_no}/{opts.rounds}: {done}[/]")
        for side, server in servers.items():
            server.sample()
            setattr(memory, side, server.peak_mb)
            memory.note += f"{side}: {server.peak_procs} processes; "
    floors = {
        "rows": floor_rows(times, {k: r.scenario for k, r in rows.items()}),
        "requests": calls,
        "load": f"{load_before} / {load_average()}",
        "times": times,
    }
    for key, row in rows.items():
        _summary(row, times[key])
    per_call_knot = rows["per_call"].knot
    if per_call_knot and floor.knot:
        floor.note = (
            f"the client's log_metric against Knot takes "
            f"{per_call_knot / sizes['per_call'] * 1000:.2f} ms a call; "
            f"a bare request {floor.knot * 1000:.2f} ms"
        )
    if opts.mlflow_workers != 1:
        ready.note = (
            "mlflow server with its defaults (4 uvicorn workers); --mlflow-workers 1 avoids the "
            "~40 ms keep-alive stall of uvicorn's multi-worker mode (TCP_NODELAY off)"
        )
    return [ready, memory, floor, *rows.values()], floors


class _servers:
    """Start both servers (MLflow first), keep them for the whole run, stop both."""

    def __init__(
        self, root: Path, env: dict[str, str], opts: argparse.Namespace, out: dict[str, Server]
    ) -> None:
        self.root, self.env, self.opts, self.out = root, env, opts, out
        self.stack: list[Any] = []

    def __enter__(self) -> None:
        for side in SIDES:
            port = free_port()
            home = self.root / side
            cmd = server_command(side, self.root, port, self.opts.mlflow_workers)
            manager = run_server(side, cmd, port, home, self.env | {"KNOT_HOME": str(home)})
            self.out[side] = manager.__enter__()
            self.stack.append(manager)
            console.print(f"[dim]{side} server healthy in {self.out[side].ready_s:.2f} s[/]")

    def __exit__(self, *exc: object) -> None:
        for manager in reversed(self.stack):
            manager.__exit__(None, None, None)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds (default 5)")
    parser.add_argument("--quick", action="store_true", help="smaller scenarios (smoke test)")
    parser.add_argument("--mlflow-workers", type=int, help="`mlflow server --workers` (default 4)")
    opts = parser.parse_args(argv)
    mlflow_version = require_mlflow()
    import mlflow  # noqa: F401  (configures its loggers on import; quiet them afterwards)

    for name in ("mlflow", "alembic"):
        logging.getLogger(name).setLevel(logging.WARNING)
    warnings.filterwarnings("ignore")
    os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] = "0"  # a server error shows at once
    console.print(f"MLflow {mlflow_version}'s client: mlflow server vs knot server")
    with tempfile.TemporaryDirectory(prefix="knot-mlflow-", ignore_cleanup_errors=True) as tmp:
        os.chdir(tmp)
        results, floors = run(Path(tmp), opts)
    print_table("MLflow's client: knot server vs mlflow server (same process run)", results)
    print_floor(floors["rows"], 5, floors["load"])
    console.print(f"  [dim]requests per scenario run: {floors['requests']}[/]")
    meta = {"mlflow_version": mlflow_version, "rounds": opts.rounds, "quick": opts.quick}
    meta["client_floor"] = floors
    path = write_json("mlflow_compat.json", results, **meta, mlflow_workers=opts.mlflow_workers)
    console.print(f"[dim]wrote {path}[/]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
