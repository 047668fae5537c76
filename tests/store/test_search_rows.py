"""A run found by search is the run get_run returns, field by field, on every backend.

Search renders a whole page of runs as JSON in one statement, and get_run renders one;
the values that JSON spells awkwardly are the ones checked here: NaN and the
infinities, the largest and smallest doubles, text that needs escaping, non-ASCII keys,
a run with nothing logged, a nested run, sources with and without a git state. They
are also checked against what was logged, so a mistake both paths share shows too.
"""

from __future__ import annotations

import math
import uuid

from knot.tracking.entities import Batch, NewRun, Run, RunSource, RunStatus
from knot.tracking.protocol import TrackingStore

TRICKY_TEXT = 'quote " backslash \\ newline \n tab \t nul-ish \x01 brace } ünïcødé ✓ 🧪'
PARAMS = {"lr": "0.1", "λ": TRICKY_TEXT, "long": "x" * 6000, "empty": ""}
TAGS = {"stage": "prod", "nötè: x": TRICKY_TEXT}
METRICS: dict[str, list[float]] = {
    # the last value (by step) is a summary's `latest`
    "nan_last": [0.5, math.nan],
    "inf": [1.0, math.inf],
    "neg_inf": [-math.inf, -2.5],
    # doubles that need 17 significant digits (SQLite's JSON functions write 15)
    "seventeen": [0.1 + 0.2, 1 / 3, 123456.78901234567, -9.87654321012345e-99, 0.8841133850033113],
    # past 1e308 but finite: SQLite searches once wrote these as infinities
    "extremes": [1.5e308, -1.5e308, 5e-324, 2.5e-308],
    "whole": [3.0, 0.0, -0.0],
}
SOURCE = RunSource(
    git_commit="c" * 40,
    git_dirty=True,
    command="python train.py --name 'ü' \"x\"",
    python_version="3.11.7",
    packages={"numpy": "2.0", "ünï": "1.0"},
)


def _dump(run: Run) -> str:
    # JSON, so NaN compares equal to NaN and key order counts
    return run.model_dump_json()


def _populate(store: TrackingStore) -> tuple[str, dict[str, str]]:
    exp = store.create_experiment(f"rows-{uuid.uuid4().hex[:10]}").experiment_id
    full = store.create_run(exp, user="ana", name="füll ✓", tags=TAGS, source=SOURCE)
    rid = full.run_id
    points = [(rid, k, v, i, 1000 + i) for k, vs in METRICS.items() for i, v in enumerate(vs)]
    store.log_batch(Batch(metrics=points, params=[(rid, k, v) for k, v in PARAMS.items()]))
    store.set_run_status(rid, RunStatus.FAILED, end_time=2_000)
    clean = RunSource(git_commit="d" * 40, git_dirty=False)
    child = store.create_run(exp, user="bo", parent_run_id=rid, source=clean).run_id
    store.log_batch(Batch(params=[(child, "depth", "3")]))
    empty = store.create_run(exp, user="cy").run_id  # nothing logged, default source
    return exp, {"full": rid, "child": child, "empty": empty}


def test_search_returns_each_run_as_get_run_does(tracking_store: TrackingStore) -> None:
    exp, ids = _populate(tracking_store)
    found = tracking_store.search_runs([exp]).runs
    assert {r.run_id for r in found} == set(ids.values())
    for run in found:
        got = tracking_store.get_run(run.run_id)
        assert type(run) is Run and _dump(run) == _dump(got)
        assert run.model_fields_set == got.model_fields_set
        assert type(run.source) is RunSource and run.source == got.source
    by_id = {r.run_id: r for r in found}

    full = by_id[ids["full"]]
    assert full.name == "füll ✓" and full.user == "ana"
    assert full.status is RunStatus.FAILED and full.end_time == 2_000
    assert full.params == PARAMS and list(full.params) == sorted(PARAMS)
    assert full.tags == TAGS and full.source == SOURCE and full.parent_run_id is None
    summaries = full.metrics
    assert set(summaries) == set(METRICS)
    for key, values in METRICS.items():
        s = summaries[key]
        assert s.key == key and s.count == len(values)
        assert s.latest_step == len(values) - 1 and s.latest_timestamp == 1000 + len(values) - 1
    assert math.isnan(summaries["nan_last"].latest) and summaries["nan_last"].max == 0.5
    assert summaries["inf"].latest == math.inf and summaries["inf"].max == math.inf
    assert summaries["neg_inf"].min == -math.inf and summaries["neg_inf"].latest == -2.5
    extremes = summaries["extremes"]
    assert (extremes.min, extremes.max) == (-1.5e308, 1.5e308)
    assert extremes.latest == 2.5e-308
    assert summaries["whole"].latest == 0.0 and summaries["whole"].max == 3.0

    child = by_id[ids["child"]]
    assert child.parent_run_id == ids["full"] and child.params == {"depth": "3"}
    assert child.metrics == {} and child.source.git_dirty is False
    empty = by_id[ids["empty"]]
    assert (empty.params, empty.tags, empty.metrics) == ({}, {}, {})
    assert empty.source == RunSource() and empty.status is RunStatus.RUNNING


def test_search_pages_and_filters_return_the_same_runs(tracking_store: TrackingStore) -> None:
    exp, ids = _populate(tracking_store)
    whole = [_dump(r) for r in tracking_store.search_runs([exp]).runs]
    paged: list[str] = []
    token = None
    while True:  # one run a page: every page is its own statement
        page = tracking_store.search_runs([exp], max_results=1, page_token=token)
        paged += [_dump(r) for r in page.runs]
        token = page.next_page_token
        if token is None:
            break
    assert paged == whole
    (hit,) = tracking_store.search_runs([exp], 'params.lr = "0.1" and metrics.inf > 0').runs
    assert _dump(hit) == _dump(tracking_store.get_run(ids["full"]))
    ordered = tracking_store.search_runs([exp], order_by=["metrics.extremes DESC"]).runs
    assert ordered[0].run_id == ids["full"]
    assert sorted(_dump(r) for r in ordered) == sorted(whole)


def test_a_page_of_more_than_a_thousand_runs_keeps_its_order(
    tracking_store: TrackingStore,
) -> None:
    # a page's runs are fetched by one statement however many there are
    exp = tracking_store.create_experiment(f"big-{uuid.uuid4().hex[:10]}").experiment_id
    starts = [
        NewRun(run_id=uuid.uuid4().hex, experiment_id=exp, user="u", start_time=1000 + i)
        for i in range(1100)
    ]
    params = [(new.run_id, "i", str(i)) for i, new in enumerate(starts)]
    tracking_store.log_batch(Batch(starts=starts, params=params))
    first = tracking_store.search_runs([exp], max_results=1050)
    assert [r.params["i"] for r in first.runs] == [str(i) for i in range(1099, 49, -1)]
    rest = tracking_store.search_runs([exp], max_results=1050, page_token=first.next_page_token)
    assert [r.params["i"] for r in rest.runs] == [str(i) for i in range(49, -1, -1)]
    assert rest.next_page_token is None


def test_summaries_are_the_doubles_logged(tracking_store: TrackingStore) -> None:
    """Every digit: a search and get_run give back the very double that was logged."""
    exp, ids = _populate(tracking_store)
    (found,) = [r for r in tracking_store.search_runs([exp]).runs if r.run_id == ids["full"]]
    values = METRICS["seventeen"]
    for run in (found, tracking_store.get_run(ids["full"])):
        summary = run.metrics["seventeen"]
        assert (summary.latest, summary.min, summary.max) == (
            values[-1],
            min(values),
            max(values),
        )
