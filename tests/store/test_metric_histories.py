"""metric_histories: many runs' history of one metric as columns, thinned for a chart,
on every TrackingStore (SQLite, PostgreSQL, the live server through the REST client)."""

from __future__ import annotations

import math
import random
import uuid

import httpx
import numpy as np
import pytest

from knot.errors import Invalid, NotFound
from knot.tracking.entities import Batch
from knot.tracking.protocol import TrackingStore
from knot.tracking.thinning import MAX_RUNS, thin_columns
from tests.backends import KnotServer


def _runs(store: TrackingStore, n: int) -> list[str]:
    exp = store.create_experiment(f"exp-{uuid.uuid4().hex[:10]}").experiment_id
    return [store.create_run(exp, user="tester").run_id for _ in range(n)]


def test_short_histories_come_whole_in_step_order(tracking_store: TrackingStore) -> None:
    a, b, empty = _runs(tracking_store, 3)
    points = [(a, "loss", 1.0 / (s + 1), s, 100 + s) for s in (3, 0, 2, 1)]
    points += [(a, "loss", math.nan, 4, 200), (a, "loss", math.inf, 5, 201)]
    points += [(b, "loss", 7.0, 10, 1), (b, "acc", 0.5, 0, 1)]
    tracking_store.log_batch(Batch(metrics=points))
    got = tracking_store.metric_histories([a, b, empty, a], "loss", max_points=100)
    assert list(got) == [a, b, empty]  # the order asked, each run once
    history = tracking_store.get_metric_history(a, "loss")
    assert got[a].steps == [p.step for p in history] == [0, 1, 2, 3, 4, 5]
    assert got[a].values[:4] == [p.value for p in history][:4] == [1.0, 0.5, 1 / 3, 0.25]
    assert math.isnan(got[a].values[4]) and got[a].values[5] == math.inf
    assert got[a].count == 6
    assert (got[b].steps, got[b].values, got[b].count) == ([10], [7.0], 1)
    assert (got[empty].steps, got[empty].values, got[empty].count) == ([], [], 0)
    assert tracking_store.metric_histories([], "loss") == {}


def test_points_at_one_step_come_in_time_order(tracking_store: TrackingStore) -> None:
    (a,) = _runs(tracking_store, 1)
    # written newest first, in separate batches, so storage order is the reverse of time
    for value, when in ((3.0, 300), (2.0, 200), (1.0, 100)):
        tracking_store.log_batch(Batch(metrics=[(a, "loss", value, 7, when)]))
    got = tracking_store.metric_histories([a], "loss", max_points=100)[a]
    history = tracking_store.get_metric_history(a, "loss")
    assert got.values == [p.value for p in history] == [1.0, 2.0, 3.0]
    assert got.steps == [7, 7, 7] and got.count == 3


def test_long_histories_keep_their_shape(tracking_store: TrackingStore) -> None:
    a, b = _runs(tracking_store, 2)
    rng = random.Random(3)
    values = {s: 1.0 / (s + 1) + rng.random() * 0.01 for s in range(3000)}
    values[1234], values[2222] = 50.0, -50.0  # a spike and a dip must survive thinning
    points = [(a, "loss", v, s, s) for s, v in values.items()]
    points += [(b, "loss", float(s), s, s) for s in range(5)]
    tracking_store.log_batch(Batch(metrics=points))
    got = tracking_store.metric_histories([a, b], "loss", max_points=60)
    series = got[a]
    assert series.count == 3000 and 30 <= len(series.steps) <= 60
    assert series.steps == sorted(set(series.steps))
    assert (series.steps[0], series.steps[-1]) == (0, 2999)  # first and last kept
    assert all(values[s] == v for s, v in zip(series.steps, series.values, strict=True))
    assert 50.0 in series.values and -50.0 in series.values
    assert (got[b].steps, got[b].count) == ([0, 1, 2, 3, 4], 5)  # short: untouched


def test_bad_calls_are_refused_by_name(tracking_store: TrackingStore) -> None:
    [run] = _runs(tracking_store, 1)
    with pytest.raises(NotFound, match="runs list"):
        tracking_store.metric_histories([run, "0" * 32], "loss")
    with pytest.raises(Invalid, match="malformed"):
        tracking_store.metric_histories(["not-a-run"], "loss")
    for bad in (0, 3, True, 10**9):
        with pytest.raises(Invalid, match=r"max_points .* 4 to"):
            tracking_store.metric_histories([run], "loss", max_points=bad)
    with pytest.raises(Invalid, match=f"at most {MAX_RUNS} runs"):
        tracking_store.metric_histories([uuid.uuid4().hex for _ in range(MAX_RUNS + 1)], "x")
    with pytest.raises(Invalid, match="metric key"):
        tracking_store.metric_histories([run], "")


@pytest.mark.server
def test_the_route_answers_a_bad_query_with_a_named_error(knot_server: KnotServer) -> None:
    url = f"{knot_server.url}/api/v1/runs/metric-histories"
    run = "a" * 32
    for query, field in (
        ({"run_id": run, "key": "loss", "max_points": "1"}, "max_points"),
        ({"run_id": run, "key": "loss", "max_points": "lots"}, "max_points"),
        ({"run_id": "../x", "key": "loss"}, "run_id"),
        ({"key": "loss"}, "run_id"),
    ):
        answer = httpx.get(url, params=query)
        assert answer.status_code == 422, (query, answer.text)
        assert field in answer.text
    assert httpx.get(url, params={"run_id": run, "key": "loss"}).status_code == 404


def test_thinning_keeps_each_buckets_lowest_and_highest() -> None:
    rng = np.random.default_rng(5)
    values = rng.normal(size=5000)
    values[rng.integers(0, 5000, 300)] = np.nan
    values[1000:1100] = np.nan  # whole buckets of NaN keep nothing
    steps = np.arange(5000, dtype=np.int64) * 2
    kept_steps, kept_values = thin_columns(steps, values, 202)
    assert len(kept_steps) <= 202 and kept_steps == sorted(kept_steps)
    assert kept_steps[0] == 0 and kept_steps[-1] == 9998
    by_step = dict(zip(kept_steps, kept_values, strict=True))
    buckets = (np.arange(5000) * 100) // 5000
    for b in range(100):
        inside = values[buckets == b]
        if np.isnan(inside).all():
            continue
        assert np.nanmin(inside) in by_step.values() and np.nanmax(inside) in by_step.values()
    short_steps, short_values = thin_columns(steps[:10], values[:10], 202)
    assert short_steps == steps[:10].tolist() and len(short_values) == 10
