"""The web UI at scale, Knot's and MLflow's side by side: 100,000 runs x 20 metrics x
10 params, and 10 runs of 10,000 `loss` points to compare.

    python bench/ui.py [--runs 100000] [--backends sqlite,postgres] [--rounds 5]
                       [--skip-browser] [--skip-mlflow] [--mlflow PATH]

Run it with the interpreter that has Knot and Playwright (the project's .venv); MLflow's
server runs from the bench virtualenv (`make bench` creates .venv-bench; --mlflow names
its `mlflow` command), whose full mlflow package ships MLflow's UI, so it works offline.

Loading (bench/_ui_load.py): the same rows go into both stores with batched inserts
straight into each product's tables. Loading 100,000 runs through MLflow's API takes
hours on this machine, so MLflow creates its own SQLite schema and the experiment (its
SqlAlchemyStore migrates a new file to head), then runs, tags, params, latest_metrics
and metrics rows are inserted with SQL into MLflow's own tables. MLflow is measured on
SQLite only; Knot also on PostgreSQL (--backends).

Both servers run one worker process. Each scenario is timed in interleaved rounds
(bench/interleave.py: MLflow, Knot, MLflow, Knot, ...; median of each side, one warm-up
each first), with the load average around them:
  server: seconds until the whole answer arrived for what the page needs from the
          server. Knot renders the page on the server, so that is one GET of the page;
          MLflow's page is drawn by JavaScript from its API, so that is the API call its
          UI makes: POST /ajax-api/2.0/mlflow/runs/search (100 runs, the page size its UI
          asks for; Knot's page shows 50), sorted by a metric or filtered the same way;
          for compare, the 10 metrics/get-history calls (max_results=25000) and the
          get-history-bulk-interval call its metric page makes, 6 at a time as a
          browser sends them.
  rendered: Chromium (Debian's, via Playwright, headless) navigating to the page until
          it shows the expected top run (the same run in both UIs), or every step curve
          is drawn; static files cached as for a returning visitor. MLflow's pages: the
          experiment's runs table (#/experiments/ID/runs, sorted and filtered through its
          URL) and the metric page overlaying the 10 runs' loss (#/metric?runs=...).
Where MLflow cannot load a page or an answer, the table says so instead of a number.
Goals (issue #16): first page < 300 ms server time and < 1 s rendered; compare < 1 s.
Nothing asserts a time.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx

from _common import Result, console, print_table, write_json
from _servers import free_port, run_server
from _ui_data import COMPARE_POINTS, COMPARE_RUNS, FILTER, SORT_METRIC, BenchData
from _ui_load import load_knot, load_mlflow
from _ui_measure import (
    KNOT_DRAWN,
    Call,
    browser,
    calls_time,
    mlflow_metric_page,
    mlflow_runs_page,
    rendered_time,
)
from interleave import DEFAULT_N, Interleaved, interleave, print_interleaved
from knot.store.database import now_ms

ROOT = Path(__file__).resolve().parents[1]
MLFLOW_PAGE_SIZE = 100  # what MLflow's runs table asks runs/search for
# every one of the 10 loss curves drawn by MLflow's metric page (Plotly traces)
MLFLOW_CURVES = (
    f"document.querySelectorAll('.js-plotly-plot .scatterlayer .trace').length >= {COMPARE_RUNS}"
)
COMPARE = f"compare {COMPARE_RUNS} x {COMPARE_POINTS // 1000}k points"


@dataclass
class Scenario:
    name: str
    knot: Callable[[int], float]
    mlflow: Callable[[int], float] | None
    goal: float | None = None


def top_runs(data: BenchData) -> dict[str, str]:
    """The name of the first run each runs page shows: newest, highest m3, newest
    matching the filter."""
    newest = highest = matching = None
    best = -1.0
    for chunk in data.chunks():
        for run in chunk:
            newest = run.name  # runs start one second apart, in order
            if run.metrics[SORT_METRIC] > best:
                best, highest = run.metrics[SORT_METRIC], run.name
            if run.metrics["m1"] > 0.5 and run.params["p0"] == "v3":
                matching = run.name
    assert newest and highest and matching
    return {"first page": newest, "sorted by a metric": highest, "filtered": matching}


def _mlflow_command(path: str | None) -> Path:
    """The `mlflow` command of a virtualenv with MLflow's server (the full package; the
    project's .venv has mlflow-skinny, which has no server)."""
    for candidate in [
        path,
        ROOT / ".venv-bench/bin/mlflow",
        Path(sys.executable).parent / "mlflow",
    ]:
        if not candidate or not Path(candidate).exists():
            continue
        python = str(Path(candidate).parent / "python")
        if (
            subprocess.run([python, "-c", "import mlflow.server"], capture_output=True).returncode
            == 0
        ):
            return Path(candidate)
    raise SystemExit(
        "no mlflow command with MLflow's server: run `make bench` (creates .venv-bench) or "
        "pass --mlflow PATH/TO/VENV/bin/mlflow"
    )


@contextlib.contextmanager
def mlflow_side(work: Path, data: BenchData, command: Path) -> Iterator[tuple[str, str]]:
    """MLflow's server over the bench data: (its URL, the experiment id)."""
    db, artifacts = work / "mlflow.db", work / "mlflow-artifacts"
    experiment = load_mlflow(db, artifacts, data, command.parent / "python")
    port = free_port()
    cmd = [str(command), "server", "--backend-store-uri", f"sqlite:///{db}", "--workers", "1"]
    cmd += ["--host", "127.0.0.1", "--port", str(port), "--default-artifact-root", str(artifacts)]
    env = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true"}
    with run_server("mlflow-ui", cmd, port, work, env, timeout=300) as server:
        yield server.url, experiment


def scenarios(
    client: httpx.Client,
    tab: Any,
    knot: tuple[str, str],
    mlflow: tuple[str, str] | None,
    data: BenchData,
    tops: dict[str, str],
) -> list[Scenario]:
    """Server and rendered scenarios; `tab` None leaves out the rendered ones."""
    knot_url, knot_exp = knot
    base = f"{knot_url}/ui/experiments/{knot_exp}"
    knot_pages = {
        "first page": base,
        "sorted by a metric": f"{base}?{urlencode({'order': f'metrics.{SORT_METRIC} DESC'})}",
        "filtered": f"{base}?{urlencode({'filter': FILTER})}",
    }
    compared = data.compared()
    knot_compare = f"{knot_url}/ui/compare?" + urlencode(
        [("run", r) for r in compared] + [("metric", "loss")]
    )
    out: list[Scenario] = []
    searches: dict[str, dict[str, Any]] = {}
    if mlflow:
        search = {"experiment_ids": [mlflow[1]], "run_view_type": "ACTIVE_ONLY"}
        search |= {"max_results": MLFLOW_PAGE_SIZE, "order_by": ["attributes.start_time DESC"]}
        searches = {
            "first page": search,
            "sorted by a metric": search | {"order_by": [f"metrics.`{SORT_METRIC}` DESC"]},
            "filtered": search | {"filter": FILTER},
        }
    for name, url in knot_pages.items():
        calls: list[Call] = []
        if mlflow:
            calls = [("POST", f"{mlflow[0]}/ajax-api/2.0/mlflow/runs/search", searches[name])]
        out.append(
            Scenario(
                f"runs table, {name}: server",
                lambda _, u=url: calls_time(client, [("GET", u, None)]),
                (lambda _, c=calls: calls_time(client, c)) if calls else None,
                0.3 if name == "first page" else None,
            )
        )
    mlflow_compare: list[Call] = []
    if mlflow:
        api = f"{mlflow[0]}/ajax-api/2.0/mlflow/metrics"
        mlflow_compare = [
            ("GET", f"{api}/get-history?run_uuid={r}&metric_key=loss&max_results=25000", None)
            for r in compared
        ]
        bulk = urlencode([("run_ids", r) for r in compared] + [("metric_key", "loss")])
        mlflow_compare.append(
            ("GET", f"{api}/get-history-bulk-interval?{bulk}&max_results=320", None)
        )
    out.append(
        Scenario(
            f"{COMPARE}: server",
            lambda _: calls_time(client, [("GET", knot_compare, None)]),
            (lambda _: calls_time(client, mlflow_compare)) if mlflow else None,
            1.0,
        )
    )
    if tab is None:
        return out
    for name, url in knot_pages.items():
        top = tops[name]
        mlflow_page = (
            mlflow_runs_page(
                mlflow[0],
                mlflow[1],
                f"metrics.`{SORT_METRIC}`" if name.startswith("sorted") else None,
                FILTER if name == "filtered" else None,
            )
            if mlflow
            else None
        )
        out.append(
            Scenario(
                f"runs table, {name}: rendered",
                lambda _, u=url, t=top: rendered_time(tab, u, KNOT_DRAWN, t),
                (lambda _, u=mlflow_page, t=top: rendered_time(tab, u, None, t))
                if mlflow_page
                else None,
                1.0 if name == "first page" else None,
            )
        )
    metric_page = mlflow_metric_page(mlflow[0], mlflow[1], compared, "loss") if mlflow else None
    out.append(
        Scenario(
            f"{COMPARE}: rendered",
            lambda _: rendered_time(tab, knot_compare, KNOT_DRAWN),
            (lambda _: rendered_time(tab, metric_page, MLFLOW_CURVES)) if metric_page else None,
            1.0,
        )
    )
    return out


def _guarded(peer: Callable[[int], float], failures: list[str]) -> Callable[[int], float]:
    """`peer`, with a failure (MLflow not loading the page) recorded as NaN and dropped."""

    def round_(i: int) -> float:
        try:
            return peer(i)
        except Exception as exc:  # any failure is MLflow not loading it; reported below
            failures.append(f"{type(exc).__name__}: {exc}"[:140])
            return math.nan

    return round_


def run_rounds(
    label: str, found: list[Scenario], rounds: int, n_runs: int
) -> tuple[list[Interleaved], list[Result]]:
    rows, results = [], []
    for sc in found:
        failures: list[str] = []
        peer = _guarded(sc.mlflow, failures) if sc.mlflow is not None else None
        if peer is not None and math.isnan(peer(-1)):  # warm-up; MLflow may not load it
            peer = None
        sc.knot(-1)
        row = interleave(
            f"{label} {sc.name}",
            "s",
            peer,
            sc.knot,
            n=rounds,
            peer_name="mlflow",
            progress=lambda text: console.print(f"  [dim]{text}[/]"),
        )
        row.peer.values = [v for v in row.peer.values if not math.isnan(v)]
        note = f"MLflow could not load it: {failures[0]}" if failures else ""
        rows.append(row)
        results.append(
            Result(
                row.scenario,
                "s",
                False,
                mlflow=row.peer.median if row.peer.values else None,
                knot=row.knot.median,
                n_mlflow=n_runs if row.peer.values else None,
                n_knot=n_runs,
                goal_abs=sc.goal,
                note=note,
            )
        )
    return rows, results


def measure(
    label: str, uri: str, data: BenchData, work: Path, args: argparse.Namespace
) -> tuple[list[Interleaved], list[Result]]:
    experiment = load_knot(uri, data)
    port = free_port()
    knot = str(Path(sys.executable).parent / "knot")
    command = [knot, "server", "--port", str(port), "--store", uri, "--workers", "1"]
    command += ["--artifacts", f"file://{work / 'artifacts'}"]
    tops = top_runs(data)
    with contextlib.ExitStack() as stack:
        server = stack.enter_context(
            run_server(f"knot-ui-{label}", command, port, work, dict(os.environ))
        )
        mlflow = None
        if not args.skip_mlflow and label == "SQLite":
            mlflow = stack.enter_context(mlflow_side(work, data, _mlflow_command(args.mlflow)))
        console.print(f"{label}: {data.n_runs:,} runs loaded, servers up")
        client = stack.enter_context(httpx.Client(timeout=300))
        tab = None if args.skip_browser else stack.enter_context(browser())
        found = scenarios(client, tab, (server.url, experiment), mlflow, data, tops)
        return run_rounds(label, found, args.rounds, data.n_runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=100_000, help="runs in each store")
    parser.add_argument(
        "--backends", default="sqlite", help="comma-separated: sqlite, postgres (default sqlite)"
    )
    parser.add_argument("--rounds", type=int, default=DEFAULT_N)
    parser.add_argument("--skip-browser", action="store_true")
    parser.add_argument("--skip-mlflow", action="store_true")
    parser.add_argument("--mlflow", help="the mlflow command (default: .venv-bench/bin/mlflow)")
    args = parser.parse_args()
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    data = BenchData(args.runs, now_ms() - args.runs * 1000)
    rows: list[Interleaved] = []
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="knot-bench-ui-") as tmp:
        work = Path(tmp)
        if "sqlite" in backends:
            found = measure("SQLite", f"sqlite:///{work / 'knot.db'}", data, work, args)
            rows, results = rows + found[0], results + found[1]
        if "postgres" in backends:
            sys.path.insert(0, str(ROOT))
            from tests.postgres import postgres_server

            with postgres_server() as pg:
                found = measure("PostgreSQL", pg.new_database(), data, work / "pg", args)
                rows, results = rows + found[0], results + found[1]
    title = f"Web UI, {args.runs:,} runs x 20 metrics x 10 params"
    print_interleaved(title + ": MLflow vs Knot", rows, {})
    print_table(title, results)
    write_json("ui.json", results, runs=args.runs, rounds=[r.as_json() for r in rows])


if __name__ == "__main__":
    main()
