"""One conformance suite over both online stores (SQLite and a real redis-server):
generations, atomic publish, one round trip per service read, materialization from a
watermark, TTL on read, and readers that never fail or see a half-written generation
while materialization runs."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from knot.errors import Invalid
from knot.features import materialization
from knot.features.definitions import FeatureService, FeatureView
from knot.features.online.open import open_online_store
from knot.features.online.protocol import OnlineStore, Pointer
from knot.features.store import FeatureStore


@pytest.fixture(params=["sqlite", "redis"])
def online_uri(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'online.db'}"
        return
    uri: str = request.getfixturevalue("redis_uri")
    store = open_online_store(uri)
    store.client.flushdb()  # type: ignore[attr-defined]
    store.close()
    yield uri


@pytest.fixture
def online(online_uri: str) -> Iterator[OnlineStore]:
    store = open_online_store(online_uri)
    yield store
    store.close()


@pytest.fixture
def features(local_features: FeatureStore, online_uri: str) -> FeatureStore:
    local_features.online_uri = online_uri
    return local_features


def _batch(items: dict[str, bytes]) -> list[tuple[list[str], list[bytes]]]:
    return [(list(items), list(items.values()))]


def test_generations_are_invisible_until_published(online: OnlineStore) -> None:
    assert online.pointer("v") is None
    assert online.read([("v", ["1", "2"])]) == [[None, None]]
    assert online.write("v", 1, _batch({"1": b"a", "2": b"b"}), base=None) == 2
    assert online.read([("v", ["1"])]) == [[None]]  # written, not yet published
    online.publish("v", Pointer(1, 100, 1))
    assert online.pointer("v") == Pointer(1, 100, 1)
    assert online.read([("v", ["1", "2", "3"])]) == [[b"a", b"b", None]]
    online.write("v", 2, _batch({"2": b"B", "3": b"c"}), base=1)
    assert online.read([("v", ["2", "3"])]) == [[b"b", None]]
    online.publish("v", Pointer(2, 200, 1))
    assert online.read([("v", ["1", "2", "3"]), ("w", ["1"]), ("v", [])]) == [
        [b"a", b"B", b"c"],
        [None],
        [],
    ]
    online.write("v", 3, _batch({"9": b"z"}), base=None)  # from scratch: no copy
    online.publish("v", Pointer(3, None, 2))
    assert online.read([("v", ["1", "9"])]) == [[None, b"z"]]
    assert online.pointer("v") == Pointer(3, None, 2)


def test_an_abandoned_generation_is_started_over(online: OnlineStore) -> None:
    online.write("v", 1, _batch({"1": b"a"}), base=None)
    online.publish("v", Pointer(1, None, 1))
    online.write("v", 2, _batch({"2": b"half"}), base=1)  # the writer died: never published
    online.write("v", 2, _batch({"3": b"c"}), base=1)
    online.publish("v", Pointer(2, None, 1))
    assert online.read([("v", ["1", "2", "3"])]) == [[b"a", None, b"c"]]


def _source(path: Path, rows: Sequence[tuple[int, str, float]]) -> None:
    pd.DataFrame(
        {
            "user_id": [r[0] for r in rows],
            "ts": pd.to_datetime([r[1] for r in rows], utc=True),
            "spend": [r[2] for r in rows],
        }
    ).to_parquet(path)


def test_materialize_from_a_watermark_and_read_a_service(
    features: FeatureStore, tmp_path: Path
) -> None:
    users, items = tmp_path / "users.parquet", tmp_path / "items.parquet"
    _source(users, [(1, "2024-01-01", 1.0), (1, "2024-01-03", 2.0), (2, "2024-01-02", 3.0)])
    pd.DataFrame(
        {"item_id": ["a"], "ts": pd.to_datetime(["2024-01-01"], utc=True), "price": [5]}
    ).to_parquet(items)
    features.apply(
        [
            FeatureView("users", "user_id", "ts", ["spend"], str(users)),
            FeatureView("items", "item_id", "ts", [("price", "int64")], str(items)),
            FeatureService("recs", ["users", "items"]),
        ]
    )
    end = datetime(2024, 2, 1, tzinfo=UTC)
    first = {m.view: m for m in features.materialize(end=end)}
    assert (first["users"].rows, first["users"].incremental) == (2, False)
    assert first["users"].watermark == int(datetime(2024, 1, 3, tzinfo=UTC).timestamp() * 1000)
    calls = _count_reads(features)
    rows = features.get_online_features(
        "recs", [{"user_id": 1, "item_id": "a"}, {"user_id": 3, "item_id": "zz"}]
    )
    assert rows == [
        {"user_id": 1, "item_id": "a", "spend": 2.0, "price": 5},
        {"user_id": 3, "item_id": "zz", "spend": None, "price": None},
    ]
    assert calls == [2]  # one round trip for both views (users, items)

    # new rows: one newer for user 2, one for a new user, one older than the watermark
    old = [(1, "2024-01-01", 1.0), (1, "2024-01-03", 2.0), (2, "2024-01-02", 3.0)]
    _source(users, [*old, (2, "2024-01-09", 4.0), (5, "2024-01-08", 7.0), (1, "2024-01-02", 9.0)])
    (second,) = features.materialize(["users"], end=end)
    assert (second.rows, second.incremental, second.generation) == (2, True, 2)
    got = features.get_online_features("recs", [{"user_id": u, "item_id": "a"} for u in (1, 2, 5)])
    assert [r["spend"] for r in got] == [2.0, 4.0, 7.0]
    (full,) = features.materialize(["users"], end=end, full=True)
    assert (full.rows, full.incremental) == (3, False)
    with pytest.raises(
        Invalid, match=r"lacks keys \['item_id'\] that feature service 'recs' needs"
    ):
        features.get_online_features("recs", [{"user_id": 1}])


def _count_reads(features: FeatureStore) -> list[int]:
    """Record the number of views in each read the online store answers."""
    calls: list[int] = []
    store = features.online
    real = store.read

    def counted(lookups: Sequence[tuple[str, Sequence[str]]]) -> list[list[bytes | None]]:
        calls.append(len(lookups))
        return real(lookups)

    store.read = counted  # type: ignore[method-assign]
    return calls


def test_values_past_the_ttl_read_as_null(features: FeatureStore, tmp_path: Path) -> None:
    now = datetime.now(UTC)
    users = tmp_path / "users.parquet"
    _source(
        users, [(1, str(now - timedelta(hours=1)), 1.0), (2, str(now - timedelta(days=3)), 2.0)]
    )
    features.apply(
        [
            FeatureView("users", "user_id", "ts", ["spend"], str(users), ttl="1d"),
            FeatureService("recs", ["users"]),
        ]
    )
    features.materialize()
    got = features.get_online_features("recs", [{"user_id": 1}, {"user_id": 2}])
    assert [r["spend"] for r in got] == [1.0, None]


def test_one_entity_reads_as_a_batch_does(features: FeatureStore, tmp_path: Path) -> None:
    """The one-entity path (each `knot serve` request) gives what a batch gives: the
    value, null past the TTL or for an unknown entity, 7.0 and '7' as 7."""
    now = datetime.now(UTC)
    users = tmp_path / "users.parquet"
    _source(
        users, [(1, str(now - timedelta(hours=1)), 1.0), (2, str(now - timedelta(days=3)), 2.0)]
    )
    features.apply(
        [
            FeatureView("users", "user_id", "ts", ["spend"], str(users), ttl="1d"),
            FeatureService("recs", ["users"]),
        ]
    )
    features.materialize()
    reader = features.reader("recs")
    batch = reader.read_columns({"user_id": [1, 2, 3]})["spend"]
    one = [reader.read_columns({"user_id": [u]})["spend"][0] for u in (1, 2, 3)]
    assert one == batch == [1.0, None, None]
    assert reader.read_columns({"user_id": [1.0]}) == reader.read_columns({"user_id": ["1"]})
    assert reader.read_columns({"user_id": ["1"]}) == {"spend": [1.0]}
    with pytest.raises(Invalid, match="needs entity keys"):
        reader.read_columns({"customer": [1]})


def test_readers_never_fail_or_see_half_a_generation(
    features: FeatureStore, tmp_path: Path, online_uri: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each generation gives every user the same value (the generation's number), so a
    read that mixes values, or misses a user, saw a half-written generation. Written in
    batches of 500 rows, each its own commit, a generation takes several steps to fill."""
    monkeypatch.setattr(materialization, "BATCH_ROWS", 500)
    users = tmp_path / "users.parquet"
    n = 3000
    _source(users, [(0, "2024-01-01", 0.0)])
    features.apply([FeatureView("users", "user_id", "ts", ["spend"], str(users)),
                    FeatureService("recs", ["users"])])  # fmt: skip
    ids = [{"user_id": i} for i in range(0, n, 7)]

    def write(generation: int) -> None:
        _source(users, [(i, f"2024-01-{generation:02d}", float(generation)) for i in range(n)])
        features.materialize(end=datetime(2024, 2, 1, tzinfo=UTC), full=True)

    write(1)
    stop = threading.Event()
    seen: list[set[float | None]] = []
    failures: list[BaseException] = []

    def reader() -> None:
        reader_store = FeatureStore(features.db, features.artifacts, online_uri)
        try:
            while not stop.is_set():
                rows = reader_store.get_online_features("recs", ids)
                seen.append({r["spend"] for r in rows})
                # and one entity at a time, as `knot serve` reads: never missing either
                one = reader_store.get_online_features("recs", ids[-1:])
                seen.append({one[0]["spend"]})
        except BaseException as exc:  # any failed read fails the test
            failures.append(exc)
        finally:
            reader_store.close()

    threads = [threading.Thread(target=reader) for _ in range(3)]
    for t in threads:
        t.start()
    for generation in range(2, 7):
        write(generation)
    stop.set()
    for t in threads:
        t.join()
    assert failures == []
    assert seen and all(len(values) == 1 and None not in values for values in seen)
    assert features.get_online_features("recs", ids[:1])[0]["spend"] == 6.0


def test_ties_in_event_time_resolve_alike_online_and_offline(
    features: FeatureStore, tmp_path: Path
) -> None:
    """Two rows of a user at the same time: the later one in the file wins, in the
    online store and in the training set, so serving and training agree."""
    import pyarrow as pa

    users = tmp_path / "users.parquet"
    _source(users, [(1, "2024-01-02", 5.0), (1, "2024-01-02", 7.0), (2, "2024-01-02", 9.0),
                    (2, "2024-01-02", 3.0), (1, "2024-01-01", 1.0)])  # fmt: skip
    features.apply([FeatureView("users", "user_id", "ts", ["spend"], str(users)),
                    FeatureService("recs", ["users"])])  # fmt: skip
    features.materialize(end=datetime(2024, 2, 1, tzinfo=UTC))
    online = features.get_online_features("recs", [{"user_id": 1}, {"user_id": 2}])
    frame = pa.table({"user_id": [1, 2], "event_timestamp": [datetime(2024, 1, 3)] * 2})
    offline = features.training_set(frame, service="recs").table.column("spend").to_pylist()
    assert [r["spend"] for r in online] == offline == [7.0, 3.0]


def test_one_run_at_a_time_materializes_a_view(features: FeatureStore, tmp_path: Path) -> None:
    """A generation is claimed before it is written: a second run that would write the
    same one is refused and changes nothing."""
    from knot.errors import Conflict

    users = tmp_path / "users.parquet"
    _source(users, [(1, "2024-01-01", 1.0)])
    features.apply([FeatureView("users", "user_id", "ts", ["spend"], str(users))])
    assert features.online.claim("users", 1)  # another run is writing generation 1
    assert not features.online.claim("users", 1)
    with pytest.raises(Conflict, match="being materialized by another run"):
        features.materialize(end=datetime(2024, 2, 1, tzinfo=UTC))
    assert features.online.pointer("users") is None
    assert features.online.claim("users", 2)


def test_the_one_entity_columns_take_names_as_literals() -> None:
    """Feature names are identifiers (definitions refuse others), and even a hostile
    name would stay a dict key: the builder's source holds it as a repr() literal."""
    from knot.features.online_reader import _columns_builder

    hostile = "a']], __import__('os').system('false'), [['"
    build = _columns_builder([(hostile, 2), ("b", 1)])
    assert build([0, 1.0, 2.0]) == {hostile: [2.0], "b": [1.0]}
