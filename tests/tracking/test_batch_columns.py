"""The column-at-a-time paths of a metric batch give exactly what the point-at-a-time
ones give: the summary fold, the batch checks, the wire encoding, for batches shaped as
the SDK makes them and for batches of any other shape."""

from __future__ import annotations

import math
import random
import ssl
from typing import Any

import pytest

from knot.client._http import make_client
from knot.client.rest_store import encode_batch
from knot.errors import Invalid
from knot.server.routes.batch import decode_batch
from knot.tracking.entities import Batch
from knot.tracking.sql.series import find_cycle, in_series_order
from knot.tracking.sql.summaries import _fold, _periodic, summary_rows
from knot.tracking.validate import check_batch

RUN_A, RUN_B = "a" * 32, "b" * 32
SPECIAL = [math.nan, math.inf, -math.inf, 0.0, -0.0, 1e308]


def _cycle(rng: random.Random, pairs: list[tuple[str, str]], steps: int) -> list[Any]:
    """Points as `log_metrics({...}, step=s)` in a loop makes them, with odd values and
    steps and timestamps that sometimes go back or tie."""
    points = []
    for s in range(steps):
        for run, key in pairs:
            value = rng.choice(SPECIAL) if rng.random() < 0.1 else rng.uniform(-5, 5)
            step = s if rng.random() < 0.9 else rng.randint(0, steps)
            ts = 1_000 + s if rng.random() < 0.9 else rng.randint(1_000, 1_000 + steps)
            points.append((run, key, value, step, ts))
    return points


def _same(a: dict[Any, list[Any]], b: dict[Any, list[Any]]) -> bool:
    def norm(x: Any) -> Any:
        return "nan" if isinstance(x, float) and math.isnan(x) else x

    return list(a) == list(b) and all([norm(x) for x in a[k]] == [norm(x) for x in b[k]] for k in a)


@pytest.mark.parametrize("seed", range(60))
def test_the_periodic_fold_equals_the_point_fold(seed: int) -> None:
    rng = random.Random(seed)
    keys = [f"m{i}" for i in range(rng.randint(1, 12))]
    pairs = [(run, k) for run in rng.sample([RUN_A, RUN_B], rng.randint(1, 2)) for k in keys]
    points = _cycle(rng, pairs, rng.randint(64 // len(pairs) + 1, 200))
    if seed % 3 == 0:
        points = points[: rng.randint(64, len(points))]  # a cycle cut short
    period = find_cycle(points)
    assert period == len(pairs), "an SDK-shaped batch takes the column path"
    assert _same(_periodic(points, period), _fold(points))
    ordered = in_series_order(points, period)
    assert ordered == sorted(points, key=lambda p: p[:2])  # a stable sort: logged order kept


@pytest.mark.parametrize("seed", range(20))
def test_a_batch_of_another_shape_is_folded_point_by_point(seed: int) -> None:
    rng = random.Random(1000 + seed)
    points = _cycle(rng, [(RUN_A, f"m{i}") for i in range(5)], 40)
    rng.shuffle(points)
    period = find_cycle(points)
    assert period is None or _same(_periodic(points, period), _fold(points))
    rows = aggregate(points)
    assert [(r["run_id"], r["key"]) for r in rows] == list(_fold(points))
    assert sum(r["count"] for r in rows) == len(points)


def test_all_nan_values_have_no_min_or_max_and_no_latest() -> None:
    points = [(RUN_A, "loss", math.nan, s, s) for s in range(100)]
    (row,) = aggregate(points)
    assert (row["latest"], row["min"], row["max"], row["count"]) == (None, None, None, 100)
    assert row["latest_step"] == 99


def test_the_latest_point_is_the_greatest_step_then_timestamp_then_the_later() -> None:
    points = [(RUN_A, "m", float(s), s, 10) for s in range(100)]
    points[50] = (RUN_A, "m", -7.0, 500, 1)  # a step past the end, in the middle
    points.append((RUN_A, "m", -8.0, 500, 1))  # the same step and time, later: it wins
    (row,) = aggregate(points)
    assert (row["latest"], row["latest_step"], row["latest_timestamp"]) == (-8.0, 500, 1)
    assert (row["min"], row["max"]) == (-8.0, 99.0)


def aggregate(points: list[Any]) -> list[dict[str, Any]]:
    return summary_rows(points, find_cycle(points))


def _batch(points: list[Any]) -> Batch:
    return Batch(metrics=points)


@pytest.mark.parametrize(
    ("point", "message"),
    [
        ((RUN_A, "m", 1, 0, 0), "malformed point"),  # an int value
        ((RUN_A, "m", "x", 0, 0), "is not a number"),
        ((RUN_A, "m", 1.0, True, 0), "malformed point"),  # a bool step
        ((RUN_A, "m", 1.0, 1.5, 0), "is not a 64-bit integer"),
        ((RUN_A, "m", 1.0, 2**63, 0), "does not fit in 64 bits"),
        ((RUN_A, "m", 1.0, 0, -(2**63)), "does not fit in 64 bits"),
    ],
)
def test_a_bad_point_among_many_is_named(point: tuple[Any, ...], message: str) -> None:
    points = [(RUN_A, "m", float(i), i, i) for i in range(1000)]
    points.insert(500, point)
    with pytest.raises(Invalid, match=message):
        check_batch(_batch(points))


def test_plain_points_pass_the_checks() -> None:
    points = [(RUN_A, "m", math.nan if i % 7 else float(i), i, -(2**63) + 1) for i in range(300)]
    check_batch(_batch(points))


@pytest.mark.parametrize("runs", [[RUN_A], [RUN_A, RUN_B]])
def test_the_wire_encoding_round_trips(runs: list[str]) -> None:
    rng = random.Random(7)
    points = _cycle(rng, [(r, f"k{i}") for r in runs for i in range(4)], 50)
    batch = Batch(
        metrics=points,
        params=[(r, f"p{i}", str(i)) for r in runs for i in range(3)],
        tags=[(runs[-1], "stage", "dev")],
        writer_id="c" * 32,
        seq=3,
    )
    back = decode_batch(encode_batch(batch))
    assert [(r, k, s, t) for r, k, _, s, t in back.metrics] == [
        (r, k, s, t) for r, k, _, s, t in points
    ]
    assert [str(v) for *_, v, _, _ in back.metrics] == [str(v) for *_, v, _, _ in points]
    assert (back.params, back.tags, back.writer_id, back.seq) == (
        batch.params,
        batch.tags,
        "c" * 32,
        3,
    )


def _tls(client: Any) -> ssl.SSLContext:
    return client._transport._pool._ssl_context  # type: ignore[no-any-return]


def test_a_plain_http_client_skips_the_ca_bundle_and_fails_closed_on_tls() -> None:
    plain = _tls(make_client("http://127.0.0.1:1"))
    assert plain.verify_mode == ssl.CERT_REQUIRED and plain.check_hostname
    assert plain.cert_store_stats()["x509_ca"] == 0  # no CA: any TLS handshake is refused
    secure = _tls(make_client("https://127.0.0.1:1"))
    assert secure.verify_mode == ssl.CERT_REQUIRED and secure.cert_store_stats()["x509_ca"] > 0
