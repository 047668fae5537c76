"""A batch's metric points go in many rows per INSERT (knot.tracking.sql.points) and, over
HTTP, are parsed by the plain-columns path (knot.server.routes.batch_plain): every point
comes back, in order, with NaN and the infinities intact, on every store."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

import knot
from knot.tracking.sql.points import ROWS
from tests.backends import StoreBackend


def test_points_of_many_statements_come_back_in_order(
    knot_home: Path, store_backend: StoreBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    store_backend.use(monkeypatch)
    n = 2 * ROWS + 37  # two whole statements of ROWS rows, then the rest one by one
    special = {5: math.nan, 6: math.inf, 7: -math.inf}
    with knot.start_run(name="many") as run:
        for i in range(n):
            run.log_metrics({"a": special.get(i, i / 4), "b": float(-i)}, step=i // 2)
    history = knot.get_metric_history(run.run_id, "a")
    assert len(history) == n
    for i, point in enumerate(history):  # ordered by step, then timestamp: as logged
        expected = special.get(i, i / 4)
        assert point.step == i // 2
        assert (math.isnan(point.value) and math.isnan(expected)) or point.value == expected
    assert [p.value for p in knot.get_metric_history(run.run_id, "b")] == [
        float(-i) for i in range(n)
    ]
    summary = knot.get_run(run.run_id).metrics["a"]
    assert (summary.latest, summary.count) == ((n - 1) / 4, n)
    assert (summary.min, summary.max) == (-math.inf, math.inf)
