"""`knot monitor ...` as the user runs it, a subprocess with KNOT_STORE=http://... on
the session's live server: rules applied from a file, a monitoring pass over the local
prediction log and labels whose results and alert events land on the server, then
`knot monitor alerts`, `report` and `rules` reading them back."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from knot.monitoring.alerts.events import alert_events
from knot.monitoring.results import read_results
from knot.serving.logs.labels import append_labels
from tests.backends import StoreBackend
from tests.monitoring.logs import HOUR, write_predictions

pytestmark = pytest.mark.server

RULES = """\
model: churn
window: 1h
rules:
  - {name: bad, metric: accuracy, op: '<', threshold: 0.9}
  - {name: busy, metric: rows, op: '>', threshold: 1000000}
"""


def _knot(*args: str) -> subprocess.CompletedProcess[str]:
    command = [str(Path(sys.executable).parent / "knot"), "monitor", *args]
    return subprocess.run(command, capture_output=True, text=True, env={**os.environ}, check=False)


def test_monitor_commands_against_a_server(
    remote_backend: StoreBackend,
    knot_home: Path,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    remote_backend.use(monkeypatch)  # for the subprocesses, and for reading back here
    now = int(time.time() * 1000)
    start = now - now % HOUR - HOUR  # the last closed hour
    n = 200
    ids = [f"r{i}" for i in range(n)]
    write_predictions(
        knot_home / "predictions",
        "churn",
        1,
        request_ids=ids,
        timestamps=[start + i for i in range(n)],
        features={"tenure": np.linspace(0, 40, n)},
        predictions=np.ones(n, dtype=np.int64),
    )
    append_labels("churn", [{"request_id": r, "label": i % 2} for i, r in enumerate(ids)])
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES)

    applied = _knot("rules", "apply", str(rules))
    assert applied.returncode == 0, applied.stderr
    ran = _knot("run", "churn", "--json")
    assert ran.returncode == 0, ran.stderr
    result = json.loads(ran.stdout)
    assert [e["rule"] for e in result["events"]] == ["bad"]
    assert any("logged no dataset" in note for note in result["notes"])
    # what the pass computed is on the server, not in a local store
    (accuracy,) = read_results("churn", metric="accuracy", since_ms=start, window="1h")[:1]
    assert accuracy.window_start == start and accuracy.value == pytest.approx(0.5)
    assert not (knot_home / "knot.db").exists()

    shown = _knot("alerts", "churn", "--json")
    assert shown.returncode == 0, shown.stderr
    body = json.loads(shown.stdout)
    assert [(e["rule"], e["state"]) for e in body["events"]] == [("bad", "fired")]
    assert body["events"][0]["id"] == alert_events("churn")[0].id
    assert body["states"]["bad"]["state"] == "firing"
    assert body["states"]["busy"] == {"state": "ok", "streak": 0, "value": 200.0}
    table = _knot("alerts", "churn", "--state", "fired")
    assert table.returncode == 0 and "bad" in table.stdout and "firing" in table.stdout
    wrong = _knot("alerts", "churn", "--state", "angry")
    assert wrong.returncode == 2 and "'angry' is not known" in wrong.stderr

    html = tmp_path / "report.html"
    drawn = _knot("report", "churn", "--html", str(html))
    assert drawn.returncode == 0, drawn.stderr
    assert "Alert timeline" in html.read_text()
