"""Knot quickstart on the IBM Telco churn table, the whole loop: versioned and validated
data, a tracked sweep, the registry and its champion, a tracking server, a ModelKit,
serving with a canary, drift and accuracy alerts on moved traffic, and the loop that
retrains, evaluates, canaries and promotes a new champion. Run it with `make demo`, or
with `make demo-server` (KNOT_DEMO_SERVER=1) to run every step through a `knot server`."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import pandas as pd
from rich.console import Console
from rich.progress import Progress

import knot
from knot.config import settings

sys.path.insert(0, str(Path(__file__).parent))
from step_data import register_and_validate
from step_loop import run_the_loop
from step_monitoring import LiveService, watch_the_market_move
from step_packaging import pack_and_push, stop_registry
from step_registry import register_and_promote
from step_server import demo_server, knot_server
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
    """Log 1,000 points over HTTP: to a `knot server` started here on the local store, or
    (KNOT_DEMO_SERVER=1) to the server the whole demo already runs through."""
    s = settings()
    if s.store_uri.startswith(("http://", "https://")):
        console.print(f"[bold]5. server[/] the whole demo runs through {s.store_uri}")
        _heartbeat()
        return
    with knot_server(s.store_uri, s.artifacts_uri) as (url, ready_s):
        console.print(f"[bold]5. server[/] knot server ready at {url} in {ready_s:.2f}s")
        os.environ["KNOT_STORE"] = url
        try:
            _heartbeat()
        finally:
            knot.reset()
            del os.environ["KNOT_STORE"]


def _heartbeat() -> None:
    with knot.start_run("remote-check", experiment="churn") as run:
        for step in range(1000):
            run.log_metric("heartbeat", step % 7, step=step)
    got = knot.get_run(run.run_id)
    points = got.metrics["heartbeat"].count
    console.print(f"   logged {points} points over HTTP to run {run.run_id}")


def quick() -> bool:
    """KNOT_DEMO_QUICK=1 stops after step 5 (data, sweep, registry and card, server): the
    path the tests run; packaging, serving, monitoring and the loop take the rest."""
    return os.environ.get("KNOT_DEMO_QUICK", "").strip() in ("1", "yes", "true")


def main() -> None:
    with demo_server() as url:
        if url is not None:
            console.print(f"[bold]0. server[/] every step goes through knot server at {url}")
        where = run_demo()
    if where:
        # read after a server the demo started has stopped: the store it kept, here
        s = settings()
        console.print("\n[bold green]Done.[/] Where to look:")
        console.print(f"   metadata store : {s.store_uri}")
        console.print(f"   artifacts      : {s.artifacts_uri}")
        for line in where:
            console.print(line)


def run_demo() -> list[str]:
    """Every step of the demo; the commands to look at what it did (none when quick)."""
    frame = load_churn()
    console.print(
        f"[bold]1. data[/] IBM Telco churn: {frame.shape[0]:,} rows x {frame.shape[1]} columns"
    )
    dataset = register_and_validate(frame)
    parent, pipelines, valid = track_sweep(dataset)
    best = find_and_compare(parent)
    version = register_and_promote(best, pipelines[best], valid)
    through_the_server()
    if quick():
        console.print("\n[bold green]Done[/] (KNOT_DEMO_QUICK: steps 1 to 5).")
        return []
    try:
        kit = pack_and_push(version)
        serve_from_kit(kit, "churn")
    finally:
        stop_registry()
    serve_and_canary("churn")
    with LiveService("churn") as service:
        watch_the_market_move(service, frame)
        champion = run_the_loop(service, frame)
    return [
        "   .venv/bin/knot runs list -e churn",
        f"   .venv/bin/knot data show {dataset}",
        "   .venv/bin/knot models show churn",
        f"   .venv/bin/knot lineage {champion.uri}",
        "   .venv/bin/knot monitor alerts churn",
        "   .venv/bin/knot loop status churn",
        "   .venv/bin/knot audit verify",
        f"   .venv/bin/knot runs show {parent}",
        "   .venv/bin/knot runs list -e churn -f 'metrics.val_auc > 0.8' -o 'metrics.val_auc DESC'",
        f"   .venv/bin/knot kits inspect {kit.rsplit('/', 1)[-1]}",
        f"   open {OUT / 'compare.html'} {OUT / 'monitoring.html'}",
        f"   .venv/bin/knot ui, then the new champion (v{champion.version}) in a browser at "
        "http://127.0.0.1:8765/ui/models/churn",
    ]


if __name__ == "__main__":
    main()
