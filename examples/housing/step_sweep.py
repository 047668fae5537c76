"""Step 2: a small sweep on the registered data, one nested run per candidate; the best
by validation MAE is found with a search, as `knot runs list -o` would."""

from __future__ import annotations

from typing import Any

from model import split, train_candidate

import knot

SWEEP: list[tuple[str, dict[str, Any]]] = [
    ("ridge", {"alpha": 1.0}),
    ("ridge", {"alpha": 10.0}),
    ("gbm", {"max_iter": 60, "learning_rate": 0.1, "max_depth": 3}),
    ("gbm", {"max_iter": 100, "learning_rate": 0.1, "max_depth": 4}),
]


def sweep(dataset: str) -> tuple[str, Any]:
    """Train every candidate; returns the best run's id and its fitted model."""
    train, valid = split(knot.load_dataset(dataset))
    fitted: dict[str, Any] = {}
    with knot.start_run("housing-sweep", experiment="housing") as parent:
        parent.log_params({"dataset": dataset, "candidates": len(SWEEP)})
        for kind, params in SWEEP:
            run_id, model = train_candidate(kind, params, train, valid, dataset)
            fitted[run_id] = model
    ranked = knot.search_runs(
        f"parent_run_id = '{parent.run_id}'", experiment="housing", order_by=["metrics.val_mae ASC"]
    )
    print(f"2. sweep: {len(ranked)} candidates on {dataset}, by validation MAE ($1000s):")
    for run in ranked:
        print(f"   {run.name:<22} val_mae={run.metric('val_mae'):.3f}  {run.run_id[:8]}")
    return ranked[0].run_id, fitted[ranked[0].run_id]
