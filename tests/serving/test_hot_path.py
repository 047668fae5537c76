"""The serving hot path's shortcuts answer exactly as the general path does: a record of
numbers for a model of floats is read into one block (and anything else in it is named
as before), blocks of concurrent requests are joined for the model and the prediction
log row by row in order, and `knot serve` sends each answer whole and in order, also
when requests arrive back to back on one connection."""

from __future__ import annotations

import asyncio
import json
import socket
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

import knot
from knot.serving.bodies import parse_body
from knot.serving.columns import check_columns, concat
from knot.serving.inputs.blocks import Block, join_blocks
from knot.serving.logs.predictions import read_prediction_log
from knot.serving.one_write import _Gathered
from tests.serving.conftest import serving
from tests.serving.live import knot_serve

pytestmark = pytest.mark.anyio

RNG = np.random.default_rng(0)
FRAME = pd.DataFrame({"tenure": RNG.uniform(0, 40, 200), "seats": RNG.uniform(1, 9, 200)})


@pytest.fixture
def floats(knot_home: Path) -> LogisticRegression:
    model = LogisticRegression().fit(FRAME, (FRAME.tenure > 20).astype(int))
    knot.log_model(model, registered_model_name="clf", input_example=FRAME.head(2))
    knot.set_alias("clf", "champion", 1)
    return model


async def test_concurrent_records_of_numbers_answer_and_log_row_by_row(
    floats: LogisticRegression,
) -> None:
    rows = [{"tenure": float(t), "seats": 2} for t in range(0, 40)]  # an int in a float column
    async with serving(model="models:/clf@champion", batch_wait_ms=2.0) as (client, service):
        answers = await asyncio.gather(
            *[
                client.post("/predict", json={"inputs": [r]}, headers={"x-request-id": f"r{i}"})
                for i, r in enumerate(rows)
            ]
        )
        batches = service.metrics.batch_requests.labels("clf", "1")
        calls = sum(b.get() for b in batches._buckets)
    expected = floats.predict(pd.DataFrame(rows)).tolist()
    assert [a.json()["predictions"][0] for a in answers] == expected
    assert calls < len(rows)  # several requests' blocks went to the model as one
    logged = read_prediction_log("clf").set_index("request_id")
    for i, r in enumerate(rows):
        assert logged.loc[f"r{i}", "features"] == {"tenure": r["tenure"], "seats": 2.0}
        assert logged.loc[f"r{i}", "prediction"] == expected[i]


@pytest.mark.parametrize(
    ("value", "says"),
    [
        (True, "has True (bool) at row 0"),
        ("7", "has '7' (str) at row 0"),
        (None, "at row 0"),
    ],
    ids=["bool", "str", "null"],
)
async def test_a_record_with_something_else_is_named_as_before(
    floats: LogisticRegression, value: object, says: str
) -> None:
    one = {"tenure": 1.0, "seats": value}
    async with serving(model="models:/clf@champion") as (client, _):
        alone = await client.post("/predict", json={"inputs": [one]})
        # two records never take the one-record shortcut: the general check's answer
        two = await client.post("/predict", json={"inputs": [one, {"tenure": 1.0, "seats": 1}]})
    assert alone.status_code == two.status_code == 422
    assert alone.json()["field"] == two.json()["field"] == "seats"
    assert says in alone.json()["error"]
    assert alone.json()["error"] == two.json()["error"]


def test_blocks_join_as_their_columns_would(floats: LogisticRegression) -> None:
    from knot.serving.sources import load_source, parse_source

    signature = load_source(parse_source("models:/clf/1")).signature
    parts = [
        check_columns(signature, parse_body("application/json", body, signature))
        for body in (
            b'{"inputs": [{"tenure": 1.5, "seats": 2}]}',
            b'{"inputs": {"tenure": [3.0, 4.0], "seats": [5.0, 6.0]}}',
        )
    ]
    assert all(type(p) is Block for p in parts)
    joined = concat(parts)
    assert {k: v.tolist() for k, v in joined.items()} == {
        "tenure": [1.5, 3.0, 4.0],
        "seats": [2.0, 5.0, 6.0],
    }
    other = {"tenure": np.array([1.0]), "seats": np.array([2.0])}  # not a block: joined by column
    assert join_blocks([*parts, other]) is None
    assert concat([*parts, other])["seats"].tolist() == [2.0, 5.0, 6.0, 2.0]


async def test_writes_in_one_pass_arrive_whole_in_order_and_before_the_close() -> None:
    received = asyncio.get_running_loop().create_future()

    async def read_all(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        received.set_result(await reader.read())
        writer.close()

    server = await asyncio.start_server(read_all, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_connection(asyncio.Protocol, "127.0.0.1", port)
    gathered = _Gathered(transport, loop)  # type: ignore[arg-type]
    gathered.write(b"HTTP/1.1 200 OK\r\n\r\n")
    gathered.writelines([b"one", b"two"])
    assert gathered.get_write_buffer_size() == 25  # held until the end of this pass
    await asyncio.sleep(0)
    gathered.write(b"three")
    gathered.close()  # what was written leaves first
    assert await received == b"HTTP/1.1 200 OK\r\n\r\nonetwothree"
    server.close()
    await server.wait_closed()


def test_knot_serve_answers_requests_sent_back_to_back_on_one_connection(
    floats: LogisticRegression,
) -> None:
    rows = [{"tenure": 5.0, "seats": 2.0}, {"tenure": 35.0, "seats": 3.0}, {"tenure": 9.0}]
    requests = b""
    for i, r in enumerate(rows):
        body = json.dumps({"inputs": [r]}).encode()
        requests += (
            f"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"X-Request-Id: b{i}\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode() + body
    with knot_serve("models:/clf@champion") as (url, _):
        host, port = url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port))) as conn:
            conn.sendall(requests)  # pipelined: all three before any answer
            answers = _read_answers(conn, len(rows))
    assert [status for status, _ in answers] == [200, 200, 422]
    assert [doc["request_id"] for _, doc in answers] == ["b0", "b1", "b2"]
    assert answers[0][1]["predictions"] == [0] and answers[1][1]["predictions"] == [1]
    assert answers[2][1]["field"] == "seats"


def _read_answers(conn: socket.socket, n: int) -> list[tuple[int, dict[str, object]]]:
    """`n` HTTP answers with a Content-Length each, read off one connection."""
    data, out = b"", []
    while len(out) < n:
        head_end = data.find(b"\r\n\r\n")
        if head_end >= 0:
            head = data[:head_end].decode("latin-1").split("\r\n")
            length = next(
                int(h.split(":", 1)[1]) for h in head if h.lower().startswith("content-length")
            )
            end = head_end + 4 + length
            if len(data) >= end:
                out.append((int(head[0].split()[1]), json.loads(data[head_end + 4 : end])))
                data = data[end:]
                continue
        chunk = conn.recv(65536)
        if not chunk:
            raise AssertionError(f"the connection closed after {len(out)} of {n} answers")
        data += chunk
    return out


def test_request_ids_made_here_are_random_uuid4s() -> None:
    import uuid

    from knot.serving.app import _new_id

    ids = [_new_id() for _ in range(2000)]
    assert len(set(ids)) == len(ids)
    for made in ids:
        parsed = uuid.UUID(made)
        assert (parsed.version, parsed.variant, parsed.hex) == (4, uuid.RFC_4122, made)
