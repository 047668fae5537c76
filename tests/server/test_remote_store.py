"""RestTrackingStore against the app in-process and against a real server process: the
same calls give the same results and raise the same error types as the SQL stores."""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import orjson
import pytest

from knot.backends import open_tracking_store
from knot.client.rest_store import RestTrackingStore, encode_batch
from knot.errors import Conflict, Invalid, KnotError, NotFound, Unavailable
from knot.tracking.entities import ArtifactRecord, Batch, RunSource, RunStatus
from knot.tracking.protocol import TrackingStore
from tests.backends import ALL, open_backend
from tests.servers import free_port

if TYPE_CHECKING:
    from fastapi.testclient import TestClient


@pytest.fixture(params=[*ALL, "in-process"])
def any_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TrackingStore]:
    """Every backend of tests/backends.py, and the client against the app in-process."""
    if request.param == "in-process":
        yield request.getfixturevalue("in_process")
        return
    backend = open_backend(request.param, request, tmp_path)
    store = open_tracking_store(backend.uri)
    assert isinstance(store, RestTrackingStore) == backend.remote
    yield store
    store.close()


def test_round_trip(any_store: TrackingStore) -> None:
    name = f"exp-{uuid.uuid4().hex[:8]}"
    exp = any_store.create_experiment(name, description="churn")
    assert any_store.get_experiment_by_name(name) == exp
    assert any_store.get_experiment(exp.experiment_id) == exp
    assert exp in any_store.list_experiments()
    source = RunSource(git_commit="a" * 40, command="python train.py", packages={"numpy": "2"})
    run = any_store.create_run(exp.experiment_id, user="ana", tags={"team": "ml"}, source=source)
    rid = run.run_id
    values = [0.9, math.nan, math.inf, -math.inf, 0.25]
    any_store.log_batch(
        Batch(
            metrics=[(rid, "loss", v, step, 1000 + step) for step, v in enumerate(values)]
            + [(rid, "acc", 0.75, 0, 1000)],
            params=[(rid, "model", "lgbm"), (rid, "lr", "0.1")],
            tags=[(rid, "stage", "final")],
            ends=[(rid, "FINISHED", 123_456)],
        )
    )
    got = any_store.get_run(rid)
    assert got.status is RunStatus.FINISHED and got.end_time == 123_456
    assert got.params == {"model": "lgbm", "lr": "0.1"}
    assert got.tags == {"team": "ml", "stage": "final"} and got.source == source
    assert got.metrics["loss"].latest == 0.25 and got.metrics["loss"].count == 5
    assert (got.metrics["loss"].min, got.metrics["loss"].max) == (-math.inf, math.inf)
    history = [p.value for p in any_store.get_metric_history(rid, "loss")]
    assert history[0] == 0.9 and math.isnan(history[1]) and history[2:] == values[2:]

    page = any_store.search_runs(
        [exp.experiment_id], "params.model = 'lgbm' and metrics.acc > 0.5", ["start_time DESC"]
    )
    assert [r.run_id for r in page.runs] == [rid] and page.runs[0] == got
    assert any_store.search_runs([exp.experiment_id], "metrics.acc > 0.8").runs == []

    record = ArtifactRecord(path="model/m.pkl", digest="sha256:" + "b" * 64, size=7, kind="file")
    any_store.log_artifact(rid, record)
    assert any_store.list_artifacts(rid) == [record]
    again = any_store.set_run_status(rid, RunStatus.KILLED, 5)
    assert (again.status, again.end_time) == (RunStatus.KILLED, 5)
    assert any_store.get_experiment_by_name(name + "-missing") is None


def test_errors_have_the_same_types_as_the_local_store(any_store: TrackingStore) -> None:
    exp = any_store.create_experiment(f"exp-{uuid.uuid4().hex[:8]}")
    rid = any_store.create_run(exp.experiment_id, user="ana").run_id
    ghost = uuid.uuid4().hex
    with pytest.raises(NotFound, match=ghost) as not_found:
        any_store.get_run(ghost)
    assert not_found.value.field == "run_id"
    with pytest.raises(NotFound):
        any_store.log_batch(Batch(metrics=[(ghost, "m", 1.0, 0, 0)]))
    with pytest.raises(NotFound):
        any_store.get_experiment(ghost)
    with pytest.raises(Conflict, match="already exists"):
        any_store.create_experiment(exp.name)
    any_store.log_batch(Batch(params=[(rid, "lr", "0.1")]))
    with pytest.raises(Conflict, match="immutable"):
        any_store.log_batch(Batch(params=[(rid, "lr", "0.2")]))
    with pytest.raises(Invalid, match=r"metrics\.auc >") as bad_filter:
        any_store.search_runs(None, "metrics.auc > 'high'")
    assert bad_filter.value.field == "filter"
    with pytest.raises(Invalid, match="characters"):
        any_store.log_batch(Batch(metrics=[(rid, "bad\nkey", 1.0, 0, 0)]))
    with pytest.raises(Invalid, match="run id"):
        any_store.create_run(exp.experiment_id, user="ana", run_id="not-hex")
    with pytest.raises(ValueError):  # Invalid is a ValueError, as the local RunStatus() raises
        any_store.set_run_status(rid, "DONE")  # type: ignore[arg-type]
    assert any_store.get_run(rid).params == {"lr": "0.1"}


def test_an_unreachable_server_is_unavailable_with_the_fix() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    client = RestTrackingStore(url, connect_timeout=2.0)
    with pytest.raises(Unavailable) as info:
        client.list_experiments()
    assert url in info.value.message and "knot server" in info.value.message
    client.close()


def test_a_server_that_is_not_knot_is_named(tmp_path: Path) -> None:
    import httpx

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(404, text="<html>nginx</html>")

    client = RestTrackingStore(
        "http://proxy", client=httpx.Client(transport=httpx.MockTransport(handler))
    )
    with pytest.raises(KnotError, match="not a Knot error"):
        client.get_run("0" * 32)


def test_batch_wire_format_is_columnar_and_carries_non_finite_values() -> None:
    a, b = "a" * 32, "b" * 32
    body = orjson.loads(
        encode_batch(
            Batch(
                metrics=[(a, "loss", 1.0, 0, 10), (a, "loss", math.nan, 1, 11)],
                params=[(a, "lr", "0.1"), (b, "lr", "0.2")],
                ends=[(a, RunStatus.FINISHED, 12)],
            )
        )
    )
    assert body == {
        # one run for every row: its id is sent once
        "metrics": {
            "run_id": a,
            "key": ["loss", "loss"],
            "value": [1.0, "NaN"],
            "step": [0, 1],
            "timestamp": [10, 11],
        },
        "params": {"run_id": [a, b], "key": ["lr", "lr"], "value": ["0.1", "0.2"]},
        "ends": {"run_id": a, "status": ["FINISHED"], "end_time": [12]},
    }
    infinite = orjson.loads(encode_batch(Batch(metrics=[(a, "x", math.inf, 0, 0)] * 2)))
    assert infinite["metrics"]["value"] == ["Infinity", "Infinity"]
    big = orjson.loads(encode_batch(Batch(metrics=[(a, "x", 1e308, 0, 0)] * 2)))
    assert big["metrics"]["value"] == [1e308, 1e308]  # the sum overflows; the values do not


@pytest.mark.parametrize(
    "body",
    [
        {"writer_id": "a" * 32},
        {"seq": 1},
        {"writer_id": "A" * 32, "seq": 1},
        {"writer_id": "a" * 32, "seq": 0},
        {"writer_id": "a" * 32, "seq": True},
    ],
)
def test_the_server_refuses_a_malformed_batch_number(client: TestClient, body: dict) -> None:
    response = client.post("/api/v1/batch", json=body)
    assert response.status_code == 422, response.text
    assert response.json()["error"] == "invalid"


def test_a_server_failure_on_a_batch_is_unavailable_so_the_writer_keeps_it() -> None:
    import httpx

    answers = {
        500: (b'{"error": "error", "message": "database exploded", "field": null}', Unavailable),
        502: (b"<html>bad gateway</html>", Unavailable),
        409: (b'{"error": "conflict", "message": "lr is 0.1", "field": "params"}', Conflict),
        404: (b"<html>nginx</html>", KnotError),
    }

    def handler(request: httpx.Request) -> httpx.Response:
        code = int(request.url.params["code"]) if "code" in request.url.params else 500
        return httpx.Response(code, content=answers[code][0])

    for code, (_, error) in answers.items():
        client = httpx.Client(transport=httpx.MockTransport(handler), params={"code": str(code)})
        store = RestTrackingStore("http://proxy", client=client)
        with pytest.raises(error) as info:
            store.log_batch(Batch(metrics=[("a" * 32, "loss", 1.0, 0, 0)]))
        assert type(info.value) is error
        if error is Unavailable and code == 500:
            assert "database exploded" in info.value.message
            assert "nothing of it was written" in info.value.message


def test_a_refused_batch_is_neither_spooled_nor_retried(
    in_process: RestTrackingStore, run_id: str, tmp_path: Path
) -> None:
    from knot.tracking.buffer.writer import BatchWriter

    writer = BatchWriter(in_process, spool_folder=tmp_path / "spool")
    writer.add_params([(run_id, "lr", "0.1")])
    writer.flush()
    writer.add_params([(run_id, "lr", "0.2")])
    writer.add_metric(run_id, "loss", 1.0, 0, 0)
    with pytest.raises(Conflict, match="lr"):
        writer.flush()
    writer.flush()  # reported once, not retried
    assert not list((tmp_path / "spool").glob("*.spool"))
    assert in_process.get_run(run_id).params == {"lr": "0.1"}
    writer.close()
