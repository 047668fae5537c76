"""Quickstart step: the alerts start the loop. The labeled customers of the moved market
become the next version of the churn table; the controller retrains a challenger on it
(a tracked, cached pipeline), checks it against the champion on held-out rows of the new
market, sends it a canary share of the live service, watches the labeled error rate, and
promotes it. Then the new champion's lineage, back to the drifted data and the alert.

    run_the_loop(service, frame)
"""

from __future__ import annotations

import threading
from typing import Any

import pandas as pd
from drifted import drifted_customers, ordinary_customers
from rich.console import Console
from step_data import RULES
from step_monitoring import LiveService
from step_server import approve_as_lead

import knot
from knot.loop.config import LoopConfig
from knot.loop.controller import Controller

console = Console()

LOOP: dict[str, Any] = {
    "model": "churn",
    "pipeline": "retrain:retrain",
    "triggers": {"alerts": ["churn-drift", "churn-accuracy"]},
    "evaluation": {
        "dataset": "churn_holdout",
        "label": "churn",
        "label_map": {"Yes": 1, "No": 0},
        "metric": "roc_auc",
        "min_margin": 0.02,
        "guards": {"accuracy": 0.0},
    },
    "canary": {"weight": 0.3, "watch_seconds": 6, "max_error_rate": 0.3, "min_requests": 100},
    "poll_seconds": 0.5,
}


def _new_data(frame: pd.DataFrame) -> str:
    """The labeled customers of the moved market, appended to the table as a new version,
    and held-out rows of that market to judge the challenger on."""
    market = drifted_customers(frame, 6000, seed=3)
    table = pd.concat([ordinary_customers(frame, 4000, seed=4), market], ignore_index=True)
    version = knot.register_dataset(
        "churn", table, rules=RULES, tags={"source": "production feedback"}
    )
    knot.register_dataset("churn_holdout", drifted_customers(frame, 1500, seed=5))
    console.print(
        f"   the labeled feedback became {version.ref} ({version.status.value}, "
        f"{version.rows:,} rows, {len(market):,} from the moved market)"
    )
    return version.ref


def _traffic(service: LiveService, frame: pd.DataFrame, stop: threading.Event) -> None:
    """Live requests of the moved market, labels sent back right away, until `stop`."""
    seed = 100
    while not stop.is_set():
        service.feedback(service.send(drifted_customers(frame, 200, seed=seed), batch=20))
        seed += 1


def _approver(stop: threading.Event) -> None:
    """The ML lead, who approves a champion the loop asks for (the model's promotion
    policy names the approver role), once its canary held."""
    while not stop.wait(0.5):
        for request in knot.list_promotion_requests("churn", status="pending"):
            approve_as_lead(request.request_id, "canary held on the moved market")
            console.print(f"   ml-lead approved models:/churn/{request.version} as champion")


def run_the_loop(service: LiveService, frame: pd.DataFrame) -> knot.ModelVersion:
    console.print("[bold]9. the loop[/] alerts fired: retrain, evaluate, canary, promote")
    data = _new_data(frame)
    before = knot.get_model_version("models:/churn@champion")
    stop = threading.Event()
    sender = threading.Thread(target=_traffic, args=(service, frame, stop), daemon=True)
    sender.start()
    approver = threading.Thread(target=_approver, args=(stop,), daemon=True)
    approver.start()
    try:
        controller = Controller(
            LoopConfig.model_validate(LOOP), say=lambda line: console.print(f"   {line}")
        )
        outcome = controller.run(once=True)
    finally:
        stop.set()
        sender.join(timeout=30)
        approver.join(timeout=30)
    after = knot.get_model_version("models:/churn@champion")
    console.print(
        f"   loop finished ({outcome.state.value if outcome.state else '?'}): "
        f"champion {before.uri} -> {after.uri}"
    )
    graph = knot.lineage(after.uri, direction="up")
    console.print(f"   lineage of the new champion {after.uri}:")
    for edge in graph.edges:
        console.print(f"     {edge.source} --{edge.relation}--> {edge.target}")
    reaches = any(data in f"{e.source} {e.target}" for e in graph.edges)
    console.print(
        f"   {'[green]reaches[/]' if reaches else '[red]does not reach[/]'} the drifted data {data}"
    )
    return after
