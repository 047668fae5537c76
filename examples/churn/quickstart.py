"""Knot quickstart on the IBM Telco churn table, the whole loop: versioned and validated
data, a tracked sweep, the registry and its champion, a tracking server, a ModelKit,
serving with a canary, drift and accuracy alerts on moved traffic, and the loop that
retrains, evaluates, canaries and promotes a new champion. Run it with `make demo`."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
from rich.console import Console
from rich.progress import Progress

import knot
from knot.config import settings

sys.path.insert(0, str(Path(__file__).parent))
from ports import port_for
from step_data import register_and_validate
from step_loop import run_the_loop
from step_monitoring import LiveService, watch_the_market_move
from step_packaging import pack_and_push, stop_registry
from step_registry import register_and_promote
from step_serving import serve_and_canary, serve_from_kit
from train import load_churn, split, train_candidate

OUT = Path(__file__).parent / "out"
console = Console()

SWEEP = [
    ("logreg", {"C": 0.05}),
    ("logreg", {"C": 1.0}),
    ("gbm", {"max_iter": 60, "learning_rate": 0.1, "max_depth": 3}),
    ("gbm", {"max_iter": 120, "learning_rate": 0.05, "max_depth": 4}),
]


def track_sweep(dataset: str) -> tuple[str, dict[str, Any], pd.DataFrame]:
    """Train every candidate on the registered dataset; returns the sweep's run id, the
    fitted pipelines by run id, and the validation frame."""
    frame = knot.load_dataset(dataset)
    train, valid = split(frame)
    pipelines: dict[str, Any] = {}
    with knot.start_run("churn-sweep", experiment="churn") as parent:
        parent.log_params({"dataset": dataset, "valid_rows": len(valid)})
        with Progress(console=console) as progress:
            task = progress.add_task("2. training candidates", total=len(SWEEP))
            for kind, params in SWEEP:
                run_id, pipeline = train_candidate(kind, params, train, valid, dataset)
                pipelines[run_id] = pipeline
                progress.advance(task)
    return parent.run_id, pipelines, valid


def find_and_compare(parent_id: str) -> str:
    best = knot.search_runs(
        f"metrics.val_auc > 0.7 and parent_run_id = '{parent_id}'",
        experiment="churn",
        order_by=["metrics.val_auc DESC"],
        max_results=3,
    )
    console.print("[bold]3. best runs[/] (metrics.val_auc DESC):")
    for run in best:
        console.print(f"   {run.name:<28} val_auc={run.metric('val_auc'):.4f}  {run.run_id}")
    from knot.tracking.compare.compare_html import compare_page

    compared = knot.compare_runs([r.run_id for r in best])
    page = compare_page(compared).write_html(OUT / "compare.html")
    console.print(f"   comparison chart: {page}")
    return best[0].run_id


def through_the_server() -> None:
    s = settings()
    port = port_for("server")
    knot_cli = [sys.executable, "-c", "from knot.cli import main; main()"]
    server = subprocess.Popen(
        [
            *knot_cli,
            "server",
            "--port",
            str(port),
            "--store",
            s.store_uri,
            "--artifacts",
            s.artifacts_uri,
        ],
        stdout=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        started = time.perf_counter()
        while True:
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if server.poll() is not None or time.perf_counter() - started > 30:
                raise SystemExit("knot server did not start; run `knot server` to see why")
            time.sleep(0.05)
        console.print(
            f"[bold]5. server[/] knot server ready at {url} in {time.perf_counter() - started:.2f}s"
        )
        os.environ["KNOT_STORE"] = url
        with knot.start_run("remote-check", experiment="churn") as run:
            for step in range(1000):
                run.log_metric("heartbeat", step % 7, step=step)
        got = knot.get_run(run.run_id)
        console.print(
            f"   logged {got.metrics['heartbeat'].count} points over HTTP to run {run.run_id}"
        )
        knot.reset()
        del os.environ["KNOT_STORE"]
    finally:
        server.terminate()
        server.wait(timeout=10)


def main() -> None:
    frame = load_churn()
    console.print(
        f"[bold]1. data[/] IBM Telco churn: {frame.shape[0]:,} rows x {frame.shape[1]} columns"
    )
    dataset = register_and_validate(frame)
    parent, pipelines, valid = track_sweep(dataset)
    best = find_and_compare(parent)
    version = register_and_promote(best, pipelines[best], valid)
    through_the_server()
    try:
        kit = pack_and_push(version)
        serve_from_kit(kit, "churn")
    finally:
        stop_registry()
    serve_and_canary("churn")
    with LiveService("churn") as service:
        watch_the_market_move(service, frame)
        champion = run_the_loop(service, frame)
    s = settings()
    console.print("\n[bold green]Done.[/] Where to look:")
    console.print(f"   metadata store : {s.store_uri}")
    console.print(f"   artifacts      : {s.artifacts_uri}")
    console.print("   .venv/bin/knot runs list -e churn")
    console.print(f"   .venv/bin/knot data show {dataset}")
    console.print("   .venv/bin/knot models show churn")
    console.print(f"   .venv/bin/knot lineage {champion.uri}")
    console.print("   .venv/bin/knot monitor alerts churn")
    console.print("   .venv/bin/knot loop status churn")
    console.print("   .venv/bin/knot audit verify")
    console.print(f"   .venv/bin/knot runs show {parent}")
    console.print(
        "   .venv/bin/knot runs list -e churn -f 'metrics.val_auc > 0.8' -o 'metrics.val_auc DESC'"
    )
    console.print(f"   .venv/bin/knot kits inspect {kit.rsplit('/', 1)[-1]}")
    console.print(f"   open {OUT / 'compare.html'} {OUT / 'monitoring.html'}")
    console.print(
        "\n[bold]In a browser:[/] .venv/bin/knot ui, then the new champion "
        f"(v{champion.version}) at http://127.0.0.1:8765/ui/models/churn"
    )


if __name__ == "__main__":
    main()
