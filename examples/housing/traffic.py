"""Live traffic for the served model: sales scored through /predict (with a sale id the
model does not take: it is left out, never refused), their prices posted back to
/feedback as the sales close, and a wait until the service has logged them."""

from __future__ import annotations

import time
import uuid

import pandas as pd
from model import TARGET
from service import Service

from knot.serving.logs.predictions import read_prediction_log

Sent = list[tuple[str, int, float]]  # (request id, row in the request, sale price)


def score(service: Service, sales: pd.DataFrame, batch: int = 25) -> Sent:
    sent: Sent = []
    for start in range(0, len(sales), batch):
        part = sales.iloc[start : start + batch]
        request_id = uuid.uuid4().hex
        records = part.drop(columns=[TARGET]).assign(sale_id=part.index.astype(str))
        answer = service.client.post(
            "/predict",
            json={"inputs": records.to_dict("records")},
            headers={"x-request-id": request_id, "x-knot-route-key": request_id},
        )
        answer.raise_for_status()
        sent.extend((request_id, i, float(price)) for i, price in enumerate(part[TARGET]))
    return sent


def feedback(service: Service, sent: Sent) -> int:
    accepted = 0
    for start in range(0, len(sent), 500):
        labels = [{"request_id": r, "row": i, "label": y} for r, i, y in sent[start : start + 500]]
        answer = service.client.post("/feedback", json={"labels": labels})
        answer.raise_for_status()
        accepted += int(answer.json()["accepted"])
    return accepted


def wait_logged(model: str, sent: Sent) -> None:
    """Until every request of `sent` is in the prediction log (written in the background
    within about a second), so monitoring sees all of them."""
    wanted = {request_id for request_id, _, _ in sent}
    for _ in range(600):
        log = read_prediction_log(model)
        if len(log) and wanted <= set(log["request_id"]):
            return
        time.sleep(0.2)
    raise SystemExit(f"the service did not log {len(wanted)} requests of {model}")
