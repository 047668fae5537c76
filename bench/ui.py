"""The web UI's runs table and compare view at scale: 100,000 runs x 20 metrics x 10
params, in SQLite and PostgreSQL.

    python bench/ui.py [--runs 100000] [--backends sqlite,postgres] [--skip-browser]

The store is bulk-loaded with batched inserts straight into Knot's tables (a bench
shortcut; the SDK path is measured by bench/tracking.py), then `knot server` serves it.
Measured for the first page, a page sorted by a metric and a filtered page:
  server: the time until the response arrived (median of 5 after one warm-up), which is
          the time to first byte, as the page is rendered whole before it is sent;
  rendered: Chromium (Debian's, via Playwright) navigating to the page until `load`,
          plotly.js cached as a returning visitor has it.
The compare view opens 10 runs of 10,000 points each until every chart is drawn.
Goals (issue #16): first page < 300 ms server time and < 1 s rendered; compare < 1 s.
MLflow's UI is not measured here: loading 100,000 runs into MLflow through its API takes
hours on this machine (see bench/tracking.py for its logging rates). Nothing asserts a time.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import insert

from _common import Result, console, print_table, write_json
from _servers import free_port, run_server
from knot.store.database import now_ms
from knot.tracking.sql_store import SqlTrackingStore
from knot.tracking.tables import experiments, metric_summaries, metrics, params, runs

METRICS = [f"m{i}" for i in range(20)]
PARAMS = [f"p{i}" for i in range(10)]
COMPARE_RUNS, COMPARE_POINTS = 10, 10_000
BATCH = 5_000
REPEATS = 5
CHROMIUM = "/usr/bin/chromium"


def load(uri: str, n_runs: int) -> tuple[str, list[str]]:
    """Bulk-load the store; returns the experiment id and the ids of the compared runs."""
    store = SqlTrackingStore(uri)  # creates (migrates) the schema
    db = store.db
    rng = random.Random(7)
    experiment_id = uuid.uuid4().hex
    start = now_ms() - n_runs * 1000
    with db.write() as conn:
        conn.execute(
            insert(experiments),
            [{"experiment_id": experiment_id, "name": "bench", "created_at": start}],
        )
    ids = [uuid.uuid4().hex for _ in range(n_runs)]
    for lo in range(0, n_runs, BATCH):
        chunk = ids[lo : lo + BATCH]
        run_rows, param_rows, summary_rows = [], [], []
        for offset, run_id in enumerate(chunk):
            began = start + (lo + offset) * 1000
            run_rows.append(
                {
                    "run_id": run_id,
                    "experiment_id": experiment_id,
                    "name": f"run-{lo + offset}",
                    "status": "FINISHED",
                    "start_time": began,
                    "end_time": began + 900,
                    "user": "bench",
                }
            )
            param_rows += [
                {"run_id": run_id, "key": k, "value": f"v{rng.randrange(10)}"} for k in PARAMS
            ]
            for key in METRICS:
                value = rng.random()
                summary_rows.append(
                    {
                        "run_id": run_id,
                        "key": key,
                        "latest": value,
                        "latest_step": 0,
                        "latest_timestamp": began,
                        "min": value,
                        "max": value,
                        "count": 1,
                    }
                )
        with db.write() as conn:
            conn.execute(insert(runs), run_rows)
            conn.execute(insert(params), param_rows)
            conn.execute(insert(metric_summaries), summary_rows)
    compared = ids[-COMPARE_RUNS:]
    with db.write() as conn:
        for run_id in compared:
            points = [
                {
                    "run_id": run_id,
                    "key": "loss",
                    "step": step,
                    "timestamp": start + step,
                    "value": 1.0 / (step + 1) + rng.random() * 0.01,
                }
                for step in range(COMPARE_POINTS)
            ]
            conn.execute(insert(metrics), points)
            last = points[-1]
            conn.execute(
                insert(metric_summaries),
                [
                    {
                        "run_id": run_id,
                        "key": "loss",
                        "latest": last["value"],
                        "latest_step": last["step"],
                        "latest_timestamp": last["timestamp"],
                        "min": min(p["value"] for p in points),
                        "max": max(p["value"] for p in points),
                        "count": len(points),
                    }
                ],
            )
    store.close()
    return experiment_id, compared


def server_time(url: str) -> tuple[float, int]:
    """Median seconds until the whole response arrived, and its size."""
    times, size = [], 0
    with httpx.Client(timeout=120) as client:
        client.get(url).raise_for_status()  # warm-up: the first request opens caches
        for _ in range(REPEATS):
            began = time.perf_counter()
            response = client.get(url)
            times.append(time.perf_counter() - began)
            response.raise_for_status()
            size = len(response.content)
    return statistics.median(times), size


@contextlib.contextmanager
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield launched
        launched.close()


def rendered_time(chromium: Any, url: str) -> float:
    """Median seconds for Chromium to load the page and draw its charts (plotly.js cached)."""
    page = chromium.new_page()
    draw = (
        "Array.from(document.querySelectorAll('div.figure div.plot'))"
        ".every(p => p.getAttribute('data-drawn') === '1')"
    )
    page.goto(url, wait_until="load")
    page.wait_for_function(draw, timeout=120_000)
    times = []
    for _ in range(3):
        began = time.perf_counter()
        page.goto(url, wait_until="load")
        page.wait_for_function(draw, timeout=120_000)
        times.append(time.perf_counter() - began)
    page.close()
    return statistics.median(times)


def measure(label: str, uri: str, n_runs: int, work: Path, with_browser: bool) -> list[Result]:
    began = time.perf_counter()
    experiment, compared = load(uri, n_runs)
    loaded = time.perf_counter() - began
    console.print(f"{label}: loaded {n_runs:,} runs in {loaded:.1f} s")
    port = free_port()
    knot = str(Path(sys.executable).parent / "knot")
    command = [knot, "server", "--port", str(port), "--store", uri]
    command += ["--artifacts", f"file://{work / 'artifacts'}"]
    base = f"/ui/experiments/{experiment}"
    pages = {
        "first page": base,
        "sorted by a metric": f"{base}?order=metrics.m3%20DESC",
        "filtered": f"{base}?filter=metrics.m1%20%3E%200.5%20and%20params.p0%20%3D%20%27v3%27",
    }
    compare = "/ui/compare?" + "&".join(f"run={r}" for r in compared) + "&metric=loss"
    results: list[Result] = []
    with run_server(f"ui-{label}", command, port, work, dict(os.environ)) as server:
        for name, path in pages.items():
            seconds, size = server_time(server.url + path)
            goal = 0.3 if name == "first page" else None
            results.append(
                Result(
                    f"{label} runs table, {name}: server",
                    "s",
                    False,
                    knot=seconds,
                    n_knot=n_runs,
                    goal_abs=goal,
                    note=f"{size / 1024:.0f} KiB of HTML" if name == "first page" else "",
                )
            )
        seconds, _ = server_time(server.url + compare)
        results.append(Result(f"{label} compare 10 x 10k points: server", "s", False, knot=seconds))
        if with_browser:
            with browser() as chromium:
                for name, path in pages.items():
                    goal = 1.0 if name == "first page" else None
                    results.append(
                        Result(
                            f"{label} runs table, {name}: rendered",
                            "s",
                            False,
                            knot=rendered_time(chromium, server.url + path),
                            n_knot=n_runs,
                            goal_abs=goal,
                        )
                    )
                results.append(
                    Result(
                        f"{label} compare 10 x 10k points: rendered",
                        "s",
                        False,
                        knot=rendered_time(chromium, server.url + compare),
                        goal_abs=1.0,
                    )
                )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument(
        "--backends", default="sqlite", help="comma-separated: sqlite, postgres (default sqlite)"
    )
    parser.add_argument("--skip-browser", action="store_true")
    args = parser.parse_args()
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="knot-bench-ui-") as tmp:
        work = Path(tmp)
        if "sqlite" in backends:
            sqlite = f"sqlite:///{work / 'knot.db'}"
            results += measure("SQLite", sqlite, args.runs, work, not args.skip_browser)
        if "postgres" in backends:
            sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
            from tests.postgres import postgres_server

            with postgres_server() as pg:
                uri = pg.new_database()
                pg_work = work / "pg"
                results += measure("PostgreSQL", uri, args.runs, pg_work, not args.skip_browser)
    print_table(f"Web UI, {args.runs:,} runs x 20 metrics x 10 params", results)
    write_json("ui.json", results, runs=args.runs)


if __name__ == "__main__":
    main()
