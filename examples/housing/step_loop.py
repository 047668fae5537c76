"""Step 6: the alert starts the loop. The sales whose prices came back become the next
version of the housing table; `knot retrain housing --config loop.yaml` trains a
challenger on it, beats the champion on held-out sales, takes half the live traffic
while the prices keep coming back, and is promoted when its live MAE is no worse."""

from __future__ import annotations

import subprocess
import threading
from pathlib import Path

import pandas as pd
from market import sales_after_the_rise
from service import KNOT, WIDE, Service
from step_data import RULES
from traffic import feedback, score

import knot

HERE = Path(__file__).parent


def _new_data(frame: pd.DataFrame) -> str:
    sales = knot.register_dataset(
        "housing", sales_after_the_rise(frame, 1500, seed=3), rules=RULES,
        tags={"source": "sales with prices back"},
    )  # fmt: skip
    knot.register_dataset("housing_holdout", sales_after_the_rise(frame, 400, seed=5))
    print(f"   the closed sales became {sales.ref} ({sales.status.value}, {sales.rows} rows)")
    return sales.ref


def _traffic(live: Service, frame: pd.DataFrame, stop: threading.Event) -> None:
    """Sales scored and their prices posted back at once, about 40 a second (leaving the
    machine to the retraining), until `stop`."""
    seed = 100
    while not stop.wait(0.25):
        feedback(live, score(live, sales_after_the_rise(frame, 10, seed=seed), batch=10))
        seed += 1


def retrain_with_a_canary(live: Service, frame: pd.DataFrame) -> int:
    """Run `knot retrain`; returns its exit code (0: a challenger was promoted)."""
    print("6. the loop: retrain, evaluate on held-out sales, canary on live MAE, promote")
    _new_data(frame)
    stop = threading.Event()
    sender = threading.Thread(target=_traffic, args=(live, frame, stop), daemon=True)
    sender.start()
    try:
        done = subprocess.run(
            [*KNOT, "retrain", "housing", "--config", "loop.yaml"],
            cwd=HERE, env=WIDE, capture_output=True, text=True, check=False,
        )  # fmt: skip
    finally:
        stop.set()
        sender.join(timeout=60)
    for line in done.stderr.splitlines():  # its narration, ending in the outcome
        if line.strip() and not line.startswith(("watching", "register ran")):
            print(f"   {line}")
    print(f"   knot retrain exited {done.returncode}")
    return done.returncode
