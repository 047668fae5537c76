"""POST /predict in-process: body formats, signature errors, malformed bodies, a model
that raises, micro-batching, health and metrics."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

import httpx
import numpy as np
import pyarrow as pa
import pyarrow.ipc as ipc
import pytest
from prometheus_client.parser import text_string_to_metric_families

from knot.serving import sources
from knot.serving.app import create_app
from knot.serving.config import ServeConfig
from knot.serving.sources import ServedModel, load_source
from tests.serving.conftest import row, serving
from tests.serving.models import RowSum

pytestmark = pytest.mark.anyio


def _arrow(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    with ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue()


async def test_records_columns_csv_and_arrow_bodies_answer_alike(churn: Path) -> None:
    columns = {"tenure": [3.0, 30.0], "plan": ["basic", "pro"], "seats": [1, 4]}
    csv = b"tenure,plan,seats\n3,basic,1\n30,pro,4\n"
    async with serving() as (client, _):
        answers = [
            await client.post("/predict", json={"inputs": [row(3.0), row(30.0)]}),
            await client.post("/predict", json={"inputs": columns}),
            await client.post("/predict", content=csv, headers={"content-type": "text/csv"}),
            await client.post(
                "/predict",
                content=_arrow(pa.table(columns)),
                headers={"content-type": "application/vnd.apache.arrow.stream"},
            ),
        ]
    import knot

    digest = knot.get_model_version("churn", 1).artifact_digest
    for answer in answers:
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["predictions"] == [0, 1]
        assert (body["model_name"], body["model_version"], body["model_digest"]) == (
            "churn",
            1,
            digest,
        )
        assert len(body["request_id"]) == 32


@pytest.mark.parametrize(
    ("inputs", "column", "says"),
    [
        ([{"plan": "basic", "seats": 1}], "tenure", "is missing; the model expects float64"),
        ([row(tenure="long")], "tenure", "has 'long' (str) at row 0; the model expects float64"),
        ([row(), row(seats=2.5)], "seats", "2.5 at row 1, not a whole number"),
        ([row(plan=7)], "plan", "has 7 (int) at row 0; the model expects string"),
        ([{"tenur": 1.0, "plan": "a", "seats": 1}], "tenure", "given but not taken: 'tenur'"),
        ([row(), {"tenure": 1.0, "plan": "pro"}], "seats", "record 1 has no column 'seats'"),
        ({"tenure": [1.0], "plan": ["a", "b"], "seats": [1]}, "inputs", "different lengths"),
    ],
)
async def test_inputs_the_signature_refuses_get_422_naming_the_column(
    churn: Path, inputs: object, column: str, says: str
) -> None:
    async with serving() as (client, service):
        answer = await client.post("/predict", json={"inputs": inputs})
        calls = service.metrics.batch_rows.labels("churn", "1")._sum.get()
    assert answer.status_code == 422
    assert answer.json()["field"] == column
    assert says in answer.json()["error"]
    assert calls == 0  # the model never saw it


@pytest.mark.parametrize(
    ("content", "content_type", "status", "says"),
    [
        (b'{"inputs": [', "application/json", 400, "not valid JSON"),
        (b"", "application/json", 400, "body is empty"),
        (b'{"rows": []}', "application/json", 400, 'needs an "inputs" field'),
        (b'{"inputs": []}', "application/json", 400, "non-empty list of records"),
        (b"tenure=1", "application/x-www-form-urlencoded", 415, "is not supported"),
        (b"not arrow", "application/vnd.apache.arrow.stream", 400, "not a readable Arrow"),
        (b"x" * 2048, "application/json", 413, "over the limit of 1024"),
    ],
)
async def test_malformed_bodies_get_a_4xx_that_says_why(
    churn: Path, content: bytes, content_type: str, status: int, says: str
) -> None:
    async with serving(max_body_bytes=1024) as (client, _):
        answer = await client.post(
            "/predict", content=content, headers={"content-type": content_type}
        )
        after = await client.post("/predict", json={"inputs": [row()]})
    assert answer.status_code == status
    assert says in answer.json()["error"]
    assert after.status_code == 200


async def test_a_model_that_refuses_an_input_gets_422_and_the_service_stays_up(
    churn: Path,
) -> None:
    async with serving() as (client, _):
        bad = client.post(
            "/predict", json={"inputs": [row(-1.0)]}, headers={"x-request-id": "r-bad"}
        )
        goods = [client.post("/predict", json={"inputs": [row(30.0)]}) for _ in range(20)]
        answers = await asyncio.gather(bad, *goods)
    assert answers[0].status_code == 422
    assert answers[0].json()["request_id"] == "r-bad"
    assert answers[0].json()["field"] == "inputs"
    assert "cannot predict on these inputs (ValueError: negative tenure)" in answers[0].text
    # batched together with the bad one or not, every other request is answered
    assert [a.status_code for a in answers[1:]] == [200] * 20
    assert all(a.json()["predictions"] == [1] for a in answers[1:])


async def test_a_model_that_fails_by_itself_gets_a_json_500_with_the_request_id(
    churn: Path,
) -> None:
    async with serving() as (client, _):
        bad = await client.post(
            "/predict", json={"inputs": [row(666.0)]}, headers={"x-request-id": "r-bug"}
        )
        good = await client.post("/predict", json={"inputs": [row(30.0)]})
    assert bad.status_code == 500
    assert bad.json()["request_id"] == "r-bug"
    assert "churn/1 failed: RuntimeError: the model's own bug" in bad.json()["error"]
    assert good.status_code == 200


async def test_concurrent_single_rows_share_predict_calls(churn: Path) -> None:
    async with serving(batch_wait_ms=2.0) as (client, service):
        answers = await asyncio.gather(
            *[client.post("/predict", json={"inputs": [row(float(i))]}) for i in range(64)]
        )
        batches = service.metrics.batch_requests.labels("churn", "1")
        calls, requests = _count(batches), batches._sum.get()
    assert [a.json()["predictions"] for a in answers] == [[int(i > 10)] for i in range(64)]
    assert requests == 64
    assert calls < 64  # grouped into fewer model calls


def _count(histogram: object) -> float:
    return sum(b.get() for b in histogram._buckets)  # type: ignore[attr-defined]


async def test_health_ready_and_metrics_in_prometheus_format(churn: Path) -> None:
    async with serving() as (client, _):
        assert (await client.get("/health")).json() == {"status": "ok"}
        ready = (await client.get("/ready")).json()
        for _ in range(3):
            await client.post("/predict", json={"inputs": [row()]})
        await client.post("/predict", json={"inputs": [row(tenure="x")]})
        text = (await client.get("/metrics")).text
    assert ready["ready"] is True
    assert ready["models"]["champion"]["version"] == 1
    families = {f.name: f for f in text_string_to_metric_families(text)}
    requests = {
        (s.labels["version"], s.labels["role"]): s.value
        for s in families["knot_requests"].samples
        if s.name == "knot_requests_total"
    }
    assert requests == {("1", "champion"): 3.0}
    errors = [s for s in families["knot_request_errors"].samples if s.name.endswith("_total")]
    assert [(s.labels["status"], s.value) for s in errors] == [("422", 1.0)]
    latency = families["knot_request_latency_seconds"].samples
    assert any(s.name.endswith("_count") and s.value == 3.0 for s in latency)
    assert "knot_batch_rows" in families
    assert "knot_queue_depth" in families


async def test_a_model_that_cannot_load_is_never_ready_and_answers_503(knot_home: Path) -> None:
    async with serving(model="models:/nothing@champion") as (client, service):
        ready = await client.get("/ready")
        answer = await client.post("/predict", json={"inputs": [row()]})
    assert ready.status_code == 503
    assert "nothing" in ready.json()["reason"]
    assert answer.status_code == 503
    assert service.failure is not None


async def test_a_tensor_model_takes_rows_and_checks_their_width(knot_home: Path) -> None:
    import knot

    knot.log_model(RowSum(), registered_model_name="sums", input_example=np.ones((2, 3)))
    async with serving(model="models:/sums/1") as (client, _):
        good = await client.post("/predict", json={"inputs": [[1, 2, 3], [4, 5, 6]]})
        wide = await client.post("/predict", json={"inputs": [[1, 2, 3, 4]]})
        words = await client.post("/predict", json={"inputs": [["a", "b", "c"]]})
    assert good.json()["predictions"] == [6.0, 15.0]
    assert wide.status_code == 422
    assert "shape [1, 4]; the model takes shape [-1, 3]" in wide.json()["error"]
    assert words.status_code == 422


async def test_csv_with_a_wrong_type_names_the_column(churn: Path) -> None:
    csv = b"tenure,plan,seats\nlong,basic,1\n"
    async with serving() as (client, _):
        answer = await client.post("/predict", content=csv, headers={"content-type": "text/csv"})
    assert answer.status_code == 422
    assert answer.json()["field"] == "tenure"


async def test_another_source_scheme_plugs_in(churn: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def kit_loader(uri: str) -> ServedModel:  # what a ModelKit loader would return
        assert uri == "kit://churn:2"
        return load_source("models:/churn/2")

    monkeypatch.setitem(sources._SOURCES, "kit", kit_loader)
    async with serving(model="kit://churn:2") as (client, _):
        answer = await client.post("/predict", json={"inputs": [row(30.0)]})
    assert answer.json()["model_version"] == 2
    assert answer.json()["predictions"] == [11]


async def test_a_request_sent_while_loading_waits_for_the_model(churn: Path) -> None:
    app = create_app(ServeConfig(model="models:/churn@champion"))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://svc") as client:
            early = await client.post("/predict", json={"inputs": [row(30.0)]})
            ready = await client.get("/ready")
    assert early.status_code == 200
    assert early.json()["predictions"] == [1]
    assert ready.status_code == 200
