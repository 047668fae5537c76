"""Step charts of long histories (the compare view and a run's page): the figure holds
each run's points thinned by the store to what the chart can show, as plain x and y
arrays, with the first and last step and every spike kept."""

from __future__ import annotations

import re
from pathlib import Path

import orjson

from knot.server.app import create_app
from knot.server.ui.runs_pages import MAX_POINTS
from knot.tracking.entities import Batch
from knot.tracking.sql_store import SqlTrackingStore
from tests.server.conftest import TestClient

STEPS = 5000


def _figures(html: str) -> list[dict]:
    found = re.findall(r'<script type="application/json" class="plot-spec">(.*?)</script>', html)
    return [orjson.loads(text.replace("<\\/", "</")) for text in found]


def test_long_curves_are_thinned_but_keep_ends_and_spikes(tmp_path: Path) -> None:
    store = SqlTrackingStore(f"sqlite:///{tmp_path / 'knot.db'}")
    exp = store.create_experiment("long").experiment_id
    ids = [store.create_run(exp, user="ana", name=f"r{i}").run_id for i in range(3)]
    points = []
    for i, run_id in enumerate(ids):
        values = [1.0 / (s + 1) for s in range(STEPS)]
        values[1000 + i] = 99.0  # a spike per run, at a different step each
        points += [(run_id, "loss", v, s, s) for s, v in enumerate(values)]
    store.log_batch(Batch(metrics=points))
    app = create_app(store=store, auth=False)
    with TestClient(app) as client:
        compare = client.get("/ui/compare", params=[("run", r) for r in ids])
        assert compare.status_code == 200, compare.text[-300:]
        curves = _figures(compare.text)[0]
        assert "min and max per step range" in curves["layout"]["title"]["text"]
        assert [t["name"] for t in curves["data"]] == ["r0", "r1", "r2"]
        for i, trace in enumerate(curves["data"]):
            assert len(trace["x"]) == len(trace["y"]) <= MAX_POINTS
            assert (trace["x"][0], trace["x"][-1]) == (0, STEPS - 1)
            assert trace["x"][trace["y"].index(99.0)] == 1000 + i
        run_page = client.get(f"/ui/runs/{ids[0]}")
        assert run_page.status_code == 200
        [chart] = _figures(run_page.text)
        assert len(chart["data"][0]["x"]) <= MAX_POINTS and 99.0 in chart["data"][0]["y"]
    store.close()
