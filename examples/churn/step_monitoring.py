"""Quickstart step: the market moves under the served champion. Knot watches the inputs
and, once labels come back, the real accuracy, and fires alerts.

    with LiveService("churn") as service:
        watch_the_market_move(service, frame)
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
from drifted import TARGET, drifted_customers, ordinary_customers
from ports import port_for
from rich.console import Console
from rich.table import Table
from step_serving import _wait_ready

from knot.monitoring.alerts.events import AlertEvent
from knot.monitoring.monitor_config import apply_config, parse_config
from knot.monitoring.monitor_run import MonitorResult, monitor_run

OUT = Path(__file__).parent / "out"
WINDOW = "10s"  # short tumbling windows, so the demo sees several of them
console = Console()

MONITORING = {
    "model": "churn",
    "window": WINDOW,
    "rules": [
        {
            "name": "churn-drift",
            "metric": "drift.share",
            "op": ">=",
            "threshold": 0.2,
            "window": WINDOW,
        },
        {
            "name": "churn-accuracy",
            "metric": "accuracy",
            "op": "<",
            "threshold": 0.7,
            "window": WINDOW,
        },
    ],
}


class LiveService:
    """`knot serve models:/NAME@champion` with the live monitoring plugin, in a subprocess."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.url = f"http://127.0.0.1:{port_for('live')}"
        self.client = httpx.Client(base_url=self.url, timeout=30)
        self._server: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> LiveService:
        command = [
            *(sys.executable, "-c", "from knot.cli import main; main()"),
            *("serve", f"models:/{self.name}@champion", "--port", self.url.rsplit(":", 1)[1]),
            *("--poll", "0.2", "--plugin", "knot.monitoring.live:factory"),
        ]
        self._server = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        _wait_ready(self.url, self._server)
        return self

    def __exit__(self, *exc: object) -> None:
        self.client.close()
        if self._server is not None:
            self._server.send_signal(signal.SIGTERM)  # drains, writes the prediction log
            self._server.wait(timeout=30)

    def send(self, frame: pd.DataFrame, batch: int = 100) -> list[tuple[str, int, Any, Any]]:
        """Score `frame` in requests of `batch` rows; returns (request id, row, label,
        answering version) per row, for the labels sent back later."""
        features = frame.drop(columns=[TARGET])
        sent = []
        for start in range(0, len(frame), batch):
            request_id = uuid.uuid4().hex
            part = features.iloc[start : start + batch]
            answer = self.client.post(
                "/predict",
                json={"inputs": part.to_dict("records")},
                headers={"x-request-id": request_id, "x-knot-route-key": request_id},
            )
            answer.raise_for_status()
            version = answer.json()["model_version"]
            labels = (frame[TARGET].iloc[start : start + batch] == "Yes").astype(int)
            sent.extend((request_id, i, int(y), version) for i, y in enumerate(labels))
        return sent

    def feedback(self, sent: list[tuple[str, int, Any, Any]]) -> int:
        """Send the true labels back by request id, as the CRM learns who left."""
        accepted = 0
        for start in range(0, len(sent), 500):
            labels = [
                {"request_id": rid, "row": row, "label": label}
                for rid, row, label, _ in sent[start : start + 500]
            ]
            answer = self.client.post("/feedback", json={"labels": labels})
            answer.raise_for_status()
            accepted += int(answer.json()["accepted"])
        return accepted

    def gauges(self, prefix: str) -> list[str]:
        text = self.client.get("/metrics").text
        return [line for line in text.splitlines() if line.startswith(prefix)]


def next_window() -> None:
    """Sleep into the next tumbling window, so each phase has one of its own."""
    width = 10.0
    time.sleep(width - time.time() % width + 0.2)


def _show(title: str, result: MonitorResult) -> list[AlertEvent]:
    table = Table(title=title)
    for column in ("version", "rows", "labeled", "accuracy", "roc_auc", "drifted features"):
        table.add_column(column)
    drift = {d.version: d for d in result.drift}
    newest = max(result.performance, key=lambda w: w.window_start, default=None)
    rows = [
        p
        for p in result.performance
        if newest and p.window_start == newest.window_start and p.segment is None
    ]
    for w in rows:
        report = drift.get(w.version)
        table.add_row(
            str(w.version),
            str(w.rows),
            str(w.labeled),
            _number(w.metrics.get("accuracy")),
            _number(w.metrics.get("roc_auc")),
            ", ".join(report.report.drifted_columns) if report else "-",
        )
    console.print(table)
    fired = [e for e in result.events if e.state == "fired"]
    for event in fired:
        console.print(
            f"   [red]alert {event.rule} fired[/]: {event.metric} = {event.value:.3f} "
            f"(threshold {event.threshold})"
        )
    if not fired:
        console.print("   no alert: the inputs look like the training data, accuracy holds")
    return fired


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def watch_the_market_move(service: LiveService, frame: pd.DataFrame) -> list[AlertEvent]:
    """Ordinary traffic first (quiet), then the moved market (drift and accuracy alerts)."""
    apply_config(parse_config(MONITORING))
    console.print(
        f"[bold]8. monitoring[/] serving models:/churn@champion at {service.url} with live "
        f"drift gauges; windows of {WINDOW}"
    )
    next_window()
    sent = service.send(ordinary_customers(frame, 1000, seed=1))
    service.feedback(sent)
    _show("a window of ordinary customers", _settled_run())
    next_window()
    sent = service.send(drifted_customers(frame, 1000, seed=2))
    console.print(
        f"   the market moved: {len(sent)} new customers, {service.feedback(sent)} labels back"
    )
    fired = _show("the next window", _settled_run())
    for line in service.gauges("knot_drift_share")[:3]:
        console.print(f"   /metrics: {line}")
    from knot.monitoring.report_html import monitor_report

    page = monitor_report("churn", OUT / "monitoring.html", window=WINDOW)
    console.print(f"   monitoring report: {page}")
    return fired


def _settled_run() -> MonitorResult:
    time.sleep(1.5)  # the service writes its prediction log within a second
    return monitor_run("churn", window=WINDOW, lookback=1)
