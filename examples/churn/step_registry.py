"""Quickstart step: register the best model, promote it to champion through a policy,
and show its model card and lineage.

    from step_registry import register_and_promote
    register_and_promote(best_run_id, fitted_pipeline, valid_frame)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from rich.console import Console
from step_server import approve_as_lead

import knot

OUT = Path(__file__).parent / "out"
TARGET = "churn"
console = Console()


def register_and_promote(run_id: str, pipeline: Any, valid: pd.DataFrame) -> knot.ModelVersion:
    """Log `pipeline` on its run as the next version of model `churn`, promote it to
    champion through a policy (val_auc >= 0.8, approved by someone with the approver
    role), check the champion predicts like the pipeline, and write its model card."""
    features = valid.drop(columns=[TARGET])
    with knot.start_run(run_id=run_id):  # resume the run that trained it
        version = knot.log_model(
            pipeline,
            "model",
            registered_model_name="churn",
            input_example=features.head(),
            description="Churn classifier for the IBM Telco customer table.",
        )
    knot.update_model_version(
        "churn",
        version.version,
        intended_use="Rank current customers by churn risk for retention offers.",
        limitations="Trained on one telecom's customers; not for credit or pricing decisions.",
    )
    console.print(
        f"[bold]4. registry[/] registered {version.uri} ({version.flavor}, "
        f"{len(version.signature.inputs) if version.signature else 0} input columns) "
        f"from run {run_id}"
    )
    knot.set_promotion_policy("churn", ["val_auc >= 0.8"], approver_role="approver")
    request = knot.promote("churn", version.version, to="champion", comment="best val_auc")
    console.print(
        f"   policy val_auc >= 0.8 passed (val_auc={request.checks[0].actual:.4f}); "
        f"request {request.request_id[:8]} is {request.status}, waiting for an approver"
    )
    approver = approve_as_lead(request.request_id, "card reviewed")
    console.print(f"   approved by {approver}: models:/churn@champion -> {version.uri}")

    champion = knot.load_model("models:/churn@champion")
    same = np.array_equal(champion.predict(features), pipeline.predict(features))
    console.print(
        f"   loaded models:/churn@champion back (digest verified): predictions "
        f"{'match' if same else 'DIFFER from'} the trained pipeline on {len(features):,} rows"
    )

    card = OUT / f"model-card-churn-v{version.version}.html"
    knot.model_card("churn", version.version, html=card, markdown=card.with_suffix(".md"))
    console.print(f"   model card: {card} (and {card.with_suffix('.md').name})")
    graph = knot.lineage(version.uri, direction="up")
    console.print(f"   lineage of {version.uri}:")
    for edge in graph.edges:
        console.print(f"     {edge.source} --{edge.relation}--> {edge.target}")
    return version
