"""One suite for every TrackingStore (tests/backends.py). Tests do not rely on an empty
store (the remote backend's server lives for the session; its store is emptied before
each test, but that is the fixture's business), so each makes its own uniquely named
experiment."""

from __future__ import annotations

import math
import threading
import uuid

import pytest

from knot.errors import Conflict, Invalid, NotFound
from knot.tracking.entities import ArtifactRecord, Batch, NewRun, RunSource, RunStatus
from knot.tracking.protocol import TrackingStore


def _exp(store: TrackingStore) -> str:
    return store.create_experiment(f"exp-{uuid.uuid4().hex[:10]}").experiment_id


def _run(store: TrackingStore, exp: str, **kw: object) -> str:
    return store.create_run(exp, user="tester", **kw).run_id  # type: ignore[arg-type]


def test_experiments_create_get_and_list(tracking_store: TrackingStore) -> None:
    name = f"exp-{uuid.uuid4().hex[:10]}"
    exp = tracking_store.create_experiment(name, description="churn models")
    assert tracking_store.get_experiment(exp.experiment_id) == exp
    assert tracking_store.get_experiment_by_name(name) == exp
    assert tracking_store.get_experiment_by_name(name + "-nope") is None
    assert exp in tracking_store.list_experiments()
    with pytest.raises(Conflict, match="already exists"):
        tracking_store.create_experiment(name)
    with pytest.raises(Invalid, match="empty"):
        tracking_store.create_experiment("  ")
    with pytest.raises(NotFound, match="experiments list"):
        tracking_store.get_experiment("0" * 32)


def test_run_records_source_tags_and_parent(tracking_store: TrackingStore) -> None:
    exp = _exp(tracking_store)
    source = RunSource(
        git_commit="a" * 40,
        git_dirty=True,
        command="python train.py",
        python_version="3.11.7",
        packages={"numpy": "2.0"},
    )
    parent = tracking_store.create_run(
        exp, user="ana", name="sweep", tags={"team": "ml"}, source=source
    )
    child = tracking_store.create_run(exp, user="ana", parent_run_id=parent.run_id)
    got = tracking_store.get_run(parent.run_id)
    assert got.name == "sweep" and got.user == "ana" and got.status is RunStatus.RUNNING
    assert got.tags == {"team": "ml"} and got.source == source
    assert tracking_store.get_run(child.run_id).parent_run_id == parent.run_id
    with pytest.raises(NotFound, match="experiment"):
        tracking_store.create_run("f" * 32, user="ana")
    with pytest.raises(NotFound, match="parent run"):
        tracking_store.create_run(exp, user="ana", parent_run_id="e" * 32)
    with pytest.raises(Invalid, match="run id"):
        tracking_store.create_run(exp, user="ana", run_id="not-hex")
    with pytest.raises(NotFound, match="runs list"):
        tracking_store.get_run("0" * 32)


def test_batch_writes_points_and_summaries(tracking_store: TrackingStore) -> None:
    run = _run(tracking_store, _exp(tracking_store))
    points = [(run, "loss", 1.0 / (s + 1), s, 1000 + s) for s in range(50)]
    points += [
        (run, "loss", 9.0, 3, 999),
        (run, "acc", math.nan, 0, 5),
        (run, "acc", math.inf, 1, 6),
    ]
    tracking_store.log_batch(Batch(metrics=points[:20]))
    tracking_store.log_batch(Batch(metrics=points[20:]))
    got = tracking_store.get_run(run)
    loss = got.metrics["loss"]
    assert (loss.latest, loss.latest_step, loss.count) == (1.0 / 50, 49, 51)
    assert (loss.min, loss.max) == (1.0 / 50, 9.0)
    assert math.isinf(got.metrics["acc"].latest) and got.metrics["acc"].count == 2
    history = tracking_store.get_metric_history(run, "loss")
    assert [p.step for p in history] == sorted(p.step for p in history) and len(history) == 51
    acc = tracking_store.get_metric_history(run, "acc")
    assert math.isnan(acc[0].value) and math.isinf(acc[1].value)
    assert tracking_store.get_metric_history(run, "never") == []
    with pytest.raises(NotFound):
        tracking_store.get_metric_history("0" * 32, "loss")


def test_latest_follows_step_not_arrival_order(tracking_store: TrackingStore) -> None:
    run = _run(tracking_store, _exp(tracking_store))
    tracking_store.log_batch(Batch(metrics=[(run, "m", 5.0, 10, 1)]))
    tracking_store.log_batch(Batch(metrics=[(run, "m", 1.0, 2, 2)]))
    assert tracking_store.get_run(run).metrics["m"].latest == 5.0


def test_params_are_immutable_and_a_rejected_batch_writes_nothing(
    tracking_store: TrackingStore,
) -> None:
    run = _run(tracking_store, _exp(tracking_store))
    tracking_store.log_batch(Batch(params=[(run, "lr", "0.1")]))
    tracking_store.log_batch(Batch(params=[(run, "lr", "0.1")]))  # same value: fine
    bad = Batch(
        metrics=[(run, "loss", 1.0, 0, 1)],
        params=[(run, "lr", "0.2"), (run, "depth", "3")],
        tags=[(run, "t", "v")],
    )
    with pytest.raises(Conflict, match="immutable"):
        tracking_store.log_batch(bad)
    got = tracking_store.get_run(run)
    assert got.params == {"lr": "0.1"} and got.metrics == {} and got.tags == {}
    with pytest.raises(Conflict, match="two values"):
        tracking_store.log_batch(Batch(params=[(run, "x", "1"), (run, "x", "2")]))


def test_batch_for_unknown_run_or_bad_key_is_refused(tracking_store: TrackingStore) -> None:
    run = _run(tracking_store, _exp(tracking_store))
    ghost = uuid.uuid4().hex
    with pytest.raises(NotFound, match=ghost):
        tracking_store.log_batch(Batch(metrics=[(run, "m", 1.0, 0, 1), (ghost, "m", 1.0, 0, 1)]))
    with pytest.raises(Invalid, match="characters"):
        tracking_store.log_batch(Batch(metrics=[(run, "bad\nkey", 1.0, 0, 1)]))
    with pytest.raises(Invalid, match="empty"):
        tracking_store.log_batch(Batch(params=[(run, "", "x")]))
    assert tracking_store.get_run(run).metrics == {}


def test_tags_overwrite_and_ends_set_status(tracking_store: TrackingStore) -> None:
    run = _run(tracking_store, _exp(tracking_store))
    tracking_store.log_batch(Batch(tags=[(run, "stage", "a")]))
    tracking_store.log_batch(
        Batch(tags=[(run, "stage", "b"), (run, "k", "v")], ends=[(run, "FAILED", 77)])
    )
    got = tracking_store.get_run(run)
    assert got.tags == {"stage": "b", "k": "v"}
    assert got.status is RunStatus.FAILED and got.end_time == 77
    again = tracking_store.set_run_status(run, RunStatus.FINISHED)
    assert again.status is RunStatus.FINISHED and again.end_time is not None
    with pytest.raises(NotFound):
        tracking_store.set_run_status("0" * 32, RunStatus.FINISHED)


def test_a_batch_tagging_two_runs_keeps_their_other_tags(tracking_store: TrackingStore) -> None:
    exp = _exp(tracking_store)
    first, second = _run(tracking_store, exp), _run(tracking_store, exp)
    tracking_store.log_batch(Batch(tags=[(first, "owner", "ana"), (second, "stage", "dev")]))
    # one batch sets `stage` on the first run and `owner` on the second: neither run's
    # other tag may go (only the (run, key) pairs written are replaced)
    tracking_store.log_batch(Batch(tags=[(first, "stage", "prod"), (second, "owner", "bo")]))
    assert tracking_store.get_run(first).tags == {"owner": "ana", "stage": "prod"}
    assert tracking_store.get_run(second).tags == {"stage": "dev", "owner": "bo"}


def _population(store: TrackingStore) -> tuple[str, list[str]]:
    exp = _exp(store)
    ids = []
    for i in range(12):
        run = _run(store, exp, name=f"r{i:02d}", start_time=1_000 + i)
        model = "lgbm" if i % 2 else "xgb"
        store.log_batch(
            Batch(
                metrics=[(run, "auc", 0.5 + i / 100, 0, 1)] if i != 11 else [],
                params=[(run, "model", model)],
                tags=[(run, "team", "ml" if i < 6 else "ds")],
                ends=[(run, "FINISHED" if i % 3 else "FAILED", 5_000)],
            )
        )
        ids.append(run)
    return exp, ids


def test_search_filters(tracking_store: TrackingStore) -> None:
    exp, _ids = _population(tracking_store)

    def names(filter: str) -> set[str]:
        return {r.name for r in tracking_store.search_runs([exp], filter).runs}

    assert names("metrics.auc > 0.555") == {"r06", "r07", "r08", "r09", "r10"}
    assert names('metrics.auc >= 0.58 and params.model = "lgbm"') == {"r09"}
    assert names("params.model in ('xgb') and (tags.team = 'ds' or metrics.auc < 0.51)") == {
        "r00",
        "r06",
        "r08",
        "r10",
    }
    assert names("status = 'failed' and not tags.team = 'ml'") == {"r06", "r09"}
    assert names("name like 'r1%'") == {"r10", "r11"}
    assert names("metrics.`auc` != 0.5 and start_time < 1003") == {"r01", "r02"}
    assert len(names("")) == 12


@pytest.mark.parametrize(
    ("bad", "hint"),
    [
        ("metrics.auc > 'high'", "numbers"),
        ("params.model = 3", "quote"),
        ("params.model > 'a'", "supports"),
        ("metrics.auc >", "ends too early|missing"),
        ("shoe.size = 3", "unknown entity"),
        ("colour = 'red'", "unknown run attribute"),
        ("metrics.auc > 0.5 and", "ends too early"),
        ("metrics.auc $ 3", "cannot read"),
        ("status = 'DONE'", "not one of"),
    ],
)
def test_search_rejects_bad_filters_with_the_fix(
    tracking_store: TrackingStore, bad: str, hint: str
) -> None:
    with pytest.raises(Invalid, match=hint):
        tracking_store.search_runs(None, bad)


def test_search_by_a_metric_pages_in_order_past_the_runs_without_it(
    tracking_store: TrackingStore,
) -> None:
    # ordering by a metric reads the runs with a value first, then those without one
    # (r11 has no auc, r10's is NaN): every page boundary must join the two in order
    exp, ids = _population(tracking_store)
    tracking_store.log_batch(Batch(metrics=[(ids[10], "auc", math.nan, 1, 2)]))
    whole = [r.name for r in tracking_store.search_runs([exp], None, ["metrics.auc ASC"]).runs]
    assert whole == [f"r{i:02d}" for i in range(10)] + ["r11", "r10"]  # no value: newest first
    for size in (1, 4, 9, 10, 11):
        seen, token = [], None
        while True:
            page = tracking_store.search_runs([exp], None, ["metrics.auc ASC"], size, token)
            seen += [r.name for r in page.runs]
            token = page.next_page_token
            if token is None:
                break
        assert seen == whole, size
    lgbm = tracking_store.search_runs(
        [exp], "params.model = 'lgbm' and metrics.auc > 0.5", ["metrics.auc DESC", "name"]
    )
    assert [r.name for r in lgbm.runs] == ["r09", "r07", "r05", "r03", "r01"]


def test_search_order_and_paging(tracking_store: TrackingStore) -> None:
    exp, _ids = _population(tracking_store)
    page = tracking_store.search_runs([exp], None, ["metrics.auc DESC"], 5)
    assert [r.name for r in page.runs] == ["r10", "r09", "r08", "r07", "r06"]
    seen = [r.name for r in page.runs]
    while page.next_page_token:
        page = tracking_store.search_runs(
            [exp], None, ["metrics.auc DESC"], 5, page.next_page_token
        )
        seen += [r.name for r in page.runs]
    assert seen[-1] == "r11"  # no auc: nulls last
    assert sorted(seen) == sorted(f"r{i:02d}" for i in range(12))
    default = tracking_store.search_runs([exp]).runs
    assert [r.name for r in default][:2] == ["r11", "r10"]  # newest first
    by_param = tracking_store.search_runs(
        [exp], "tags.team = 'ml'", ["params.model", "name DESC"]
    ).runs
    assert [r.name for r in by_param] == ["r05", "r03", "r01", "r04", "r02", "r00"]
    with pytest.raises(Invalid, match="page_token"):
        tracking_store.search_runs([exp], page_token="garbage!")
    with pytest.raises(Invalid, match="max_results"):
        tracking_store.search_runs([exp], max_results=0)
    with pytest.raises(Invalid, match="order_by"):
        tracking_store.search_runs([exp], order_by=["metrics.auc sideways"])


def test_artifact_records(tracking_store: TrackingStore) -> None:
    run = _run(tracking_store, _exp(tracking_store))
    first = ArtifactRecord(
        path="model/model.pkl", digest="sha256:" + "a" * 64, size=10, kind="file"
    )
    second = ArtifactRecord(path="data", digest="sha256:" + "b" * 64, size=99, kind="folder")
    tracking_store.log_artifact(run, first)
    tracking_store.log_artifact(run, second)
    replaced = first.model_copy(update={"digest": "sha256:" + "c" * 64})
    tracking_store.log_artifact(run, replaced)
    assert tracking_store.list_artifacts(run) == [second, replaced]
    with pytest.raises(NotFound):
        tracking_store.log_artifact("0" * 32, first)


def test_batch_with_malformed_values_is_refused_whole(tracking_store: TrackingStore) -> None:
    run = _run(tracking_store, _exp(tracking_store))
    with pytest.raises(Invalid, match="status"):
        tracking_store.log_batch(Batch(metrics=[(run, "m", 1.0, 0, 1)], ends=[(run, "DONE", 1)]))
    with pytest.raises(Invalid, match="64"):
        tracking_store.log_batch(Batch(metrics=[(run, "m", 1.0, 2**64, 1)]))
    with pytest.raises(Invalid, match="limit"):
        tracking_store.log_batch(Batch(params=[(run, "p", "x" * 7000)]))
    got = tracking_store.get_run(run)
    assert got.metrics == {} and got.params == {} and got.status is RunStatus.RUNNING


def test_runs_created_inside_a_batch_commit_with_their_points(
    tracking_store: TrackingStore,
) -> None:
    from knot.tracking.entities import NewRun

    exp = _exp(tracking_store)
    parent = NewRun(run_id=uuid.uuid4().hex, experiment_id=exp, user="ana", start_time=5)
    child = NewRun(
        run_id=uuid.uuid4().hex,
        experiment_id=exp,
        user="ana",
        parent_run_id=parent.run_id,
        name="child",
        tags={"k": "v"},
        start_time=6,
    )
    tracking_store.log_batch(
        Batch(
            starts=[parent, child],
            params=[(child.run_id, "lr", "0.1")],
            metrics=[(child.run_id, "m", 1.0, 0, 7)],
            ends=[(child.run_id, "FINISHED", 8)],
        )
    )
    got = tracking_store.get_run(child.run_id)
    assert got.parent_run_id == parent.run_id and got.name == "child" and got.tags == {"k": "v"}
    assert got.status is RunStatus.FINISHED and got.metrics["m"].count == 1
    assert got.params == {"lr": "0.1"}
    ghost_exp = NewRun(run_id=uuid.uuid4().hex, experiment_id="f" * 32, user="x", start_time=1)
    with pytest.raises(NotFound, match="experiment"):
        tracking_store.log_batch(
            Batch(starts=[ghost_exp], metrics=[(ghost_exp.run_id, "m", 1.0, 0, 1)])
        )
    with pytest.raises(NotFound):
        tracking_store.get_run(ghost_exp.run_id)
    with pytest.raises(Conflict, match="already exists"):
        tracking_store.log_batch(Batch(starts=[parent]))


def test_a_numbered_batch_sent_twice_is_written_once(tracking_store: TrackingStore) -> None:
    exp = tracking_store.create_experiment(f"exp-{uuid.uuid4().hex[:8]}")
    rid = uuid.uuid4().hex
    start = NewRun(run_id=rid, experiment_id=exp.experiment_id, user="ana", start_time=1)
    writer = uuid.uuid4().hex
    first = Batch(
        starts=[start],
        metrics=[(rid, "loss", 0.5, 0, 1)],
        params=[(rid, "lr", "0.1")],
        writer_id=writer,
        seq=1,
    )
    second = Batch(metrics=[(rid, "loss", 0.25, 1, 2)], writer_id=writer, seq=2)
    for batch in (first, first, second, first, second):  # answers lost, sent again
        tracking_store.log_batch(batch)
    assert [p.step for p in tracking_store.get_metric_history(rid, "loss")] == [0, 1]
    assert tracking_store.get_run(rid).params == {"lr": "0.1"}
    with pytest.raises(Invalid) as half:
        tracking_store.log_batch(Batch(metrics=[(rid, "loss", 0.1, 2, 3)], writer_id=writer))
    assert half.value.field == "seq"
    with pytest.raises(Invalid) as bad:
        tracking_store.log_batch(Batch(metrics=[(rid, "loss", 0.1, 2, 3)], writer_id="x", seq=3))
    assert bad.value.field == "writer_id"


def test_concurrent_deliveries_of_the_same_batches_write_each_once(
    tracking_store: TrackingStore,
) -> None:
    """Eight senders deliver the same numbered batches, each in order, all at once (an
    original still in flight beside its retries): whatever the interleaving, each batch
    is written exactly once."""
    exp = _exp(tracking_store)
    rid = uuid.uuid4().hex
    writer = uuid.uuid4().hex
    start = NewRun(run_id=rid, experiment_id=exp, user="ana", start_time=1)
    batches = [Batch(starts=[start], writer_id=writer, seq=1)] + [
        Batch(metrics=[(rid, "loss", float(seq), seq, seq)], writer_id=writer, seq=seq)
        for seq in range(2, 12)
    ]
    failures: list[BaseException] = []

    def deliver() -> None:
        try:
            for batch in batches:
                tracking_store.log_batch(batch)
        except BaseException as exc:  # reported below, on the test's thread
            failures.append(exc)

    threads = [threading.Thread(target=deliver) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert [p.step for p in tracking_store.get_metric_history(rid, "loss")] == list(range(2, 12))
    assert tracking_store.get_run(rid).metrics["loss"].count == 10
