"""The feature store, Knot against Feast and the raw floors, side by side in one run.

    python bench/features.py [--entities N] [--labels N] [--rounds 5] [--skip feast,redis]

Same data for everyone: ENTITIES entities with 10 float features (one row each) in a
Parquet file. Measured:
- online read p50 for 1 and for 100 entities: Knot's SQLite online store (a feature
  service of one view), Feast 0.67's SQLite online store, and the floor, a raw SQLite
  primary-key read of the same JSON values (no decoding), taking turns with Knot;
- materialize ENTITIES x 10 features: Knot, Feast, and the floor, a bulk insert of the
  same rows into SQLite;
- Knot's Redis online store (a real redis-server started here): materialize and reads,
  beside a raw pipelined HMGET;
- a point-in-time training set of LABELS label rows over 3 views (5 timestamped rows per
  entity each, a TTL), against a plain DuckDB ASOF query over the same files (no TTL, no
  tie rule, no lineage).
Results go to bench/results/features.json. Nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))
FEATURES = [f"f{i}" for i in range(10)]
START = datetime(2024, 1, 1, tzinfo=UTC)
REPEAT = {"read_1_ms": 3000, "read_100_ms": 500}  # calls per p50


def p50(fn: Callable[[], Any], repeat: int) -> float:
    """Median milliseconds of `repeat` calls (after 20 warm-up calls)."""
    for _ in range(20):
        fn()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1000


def timed(fn: Callable[[], Any]) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def make_source(folder: Path, entities: int) -> Path:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"user_id": np.arange(entities, dtype=np.int64)})
    frame["ts"] = pd.Timestamp(START) + pd.to_timedelta(rng.integers(0, 86400 * 30, entities), "s")
    for f in FEATURES:
        frame[f] = rng.normal(size=entities)
    path = folder / "users.parquet"
    frame.to_parquet(path, index=False)
    return path


def sample_ids(entities: int, n: int, rng: np.random.Generator) -> list[int]:
    return [int(x) for x in rng.integers(0, entities, n)]


# -- Knot --------------------------------------------------------------------------------
def knot_store(folder: Path, online_uri: str) -> Any:
    from knot.artifacts import open_blob_store
    from knot.features.store import FeatureStore
    from knot.store.database import Database

    db = Database(f"sqlite:///{folder / 'knot.db'}")
    return FeatureStore(db, open_blob_store(f"file://{folder / 'artifacts'}"), online_uri)


Reads = dict[str, Callable[[], Any]]


def read_fns(one_fn: Callable[[Any], Any], hundred_fn: Callable[[Any], Any], one: list[Any],
             hundred: list[Any]) -> Reads:  # fmt: skip
    """A 1-entity and a 100-entity read, each call asking for the next of 64 samples."""
    it1, it100 = iter(range(10**9)), iter(range(10**9))
    return {
        "read_1_ms": lambda: one_fn(one[next(it1) % 64]),
        "read_100_ms": lambda: hundred_fn(hundred[next(it100) % 64]),
    }


def measure(reads: Reads) -> dict[str, float]:
    return {k: p50(fn, REPEAT[k]) for k, fn in reads.items()}


def bench_knot_online(
    folder: Path, source: Path, online_uri: str, entities: int
) -> tuple[dict[str, float], Reads, Callable[[], None]]:
    from knot.features.definitions import FeatureService, FeatureView

    store = knot_store(folder, online_uri)
    store.apply([FeatureView("users", "user_id", "ts", FEATURES, str(source)),
                 FeatureService("svc", ["users"])])  # fmt: skip
    out = {"materialize_s": timed(lambda: store.materialize(end=START + timedelta(days=60)))}
    reader = store.reader("svc")
    rng = np.random.default_rng(1)
    one = [{"user_id": [i]} for i in sample_ids(entities, 64, rng)]
    hundred = [{"user_id": sample_ids(entities, 100, rng)} for _ in range(64)]
    check = reader.read_columns({"user_id": [0]})
    assert check["f0"][0] is not None, "materialized values must be readable"
    assert reader.read_columns({"user_id": [0, 1]})["f0"][0] == check["f0"][0]

    def close() -> None:
        store.close()
        store.db.close()

    return out, read_fns(reader.read_columns, reader.read_columns, one, hundred), close


def bench_raw_sqlite(
    folder: Path, source: Path, entities: int
) -> tuple[dict[str, float], Reads, Callable[[], None]]:
    import orjson

    frame = pd.read_parquet(source)
    values = frame[FEATURES].to_numpy().tolist()
    rows = [(str(k), orjson.dumps(v)) for k, v in zip(frame["user_id"], values, strict=True)]
    conn = sqlite3.connect(folder / "raw.db")
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE t (entity TEXT PRIMARY KEY, value BLOB) WITHOUT ROWID")

    def load() -> None:
        conn.executemany("INSERT INTO t VALUES (?, ?)", rows)
        conn.commit()

    out = {"bulk_load_s": timed(load)}
    rng = np.random.default_rng(1)
    one = [str(i) for i in sample_ids(entities, 64, rng)]
    hundred = [[str(i) for i in sample_ids(entities, 100, rng)] for _ in range(64)]
    marks = ",".join("?" * 100)
    reads = read_fns(
        lambda key: conn.execute("SELECT value FROM t WHERE entity = ?", (key,)).fetchall(),
        lambda keys: conn.execute(
            f"SELECT entity, value FROM t WHERE entity IN ({marks})", keys
        ).fetchall(),
        one,
        hundred,
    )
    return out, reads, conn.close


def interleaved_reads(raw: Reads, knot: Reads, rounds: int) -> list[Any]:
    """Raw SQLite and Knot take turns: each round a p50 of each side (bench/interleave.py)."""
    from interleave import interleave

    def side(fn: Callable[[], Any], key: str) -> Callable[[int], float]:
        return lambda _: p50(fn, REPEAT[key]) * 1000  # microseconds

    return [
        interleave(f"online read, {what}", "µs", side(raw[key], key), side(knot[key], key),
                   n=rounds, peer_name="raw SQLite", higher_is_better=False)
        for key, what in (("read_1_ms", "1 entity"), ("read_100_ms", "100 entities"))
    ]  # fmt: skip


def bench_raw_redis(uri: str, entities: int) -> dict[str, float]:
    import redis

    client = redis.Redis.from_url(uri)
    key = next(iter(client.scan_iter("knot:online:g:users:*")))
    rng = np.random.default_rng(1)
    one = [str(i) for i in sample_ids(entities, 64, rng)]
    hundred = [[str(i) for i in sample_ids(entities, 100, rng)] for _ in range(64)]
    it1, it100 = iter(range(10**9)), iter(range(10**9))
    out = {"read_1_ms": p50(lambda: client.hmget(key, [one[next(it1) % 64]]), 3000)}
    out["read_100_ms"] = p50(lambda: client.hmget(key, hundred[next(it100) % 64]), 500)
    client.close()
    return out


# -- Feast -------------------------------------------------------------------------------
def bench_feast(folder: Path, source: Path, entities: int) -> dict[str, float]:
    from feast import Entity, FeatureStore, FeatureView, Field, FileSource
    from feast.types import Float64
    from feast.value_type import ValueType

    repo = folder / "feast"
    repo.mkdir()
    (repo / "feature_store.yaml").write_text(
        "project: bench\nregistry: registry.db\nprovider: local\n"
        "online_store:\n  type: sqlite\n  path: online.db\n"
        "entity_key_serialization_version: 3\n"
    )
    user = Entity(name="user", join_keys=["user_id"], value_type=ValueType.INT64)
    view = FeatureView(
        name="users", entities=[user], ttl=timedelta(days=365),
        schema=[Field(name=f, dtype=Float64) for f in FEATURES],
        source=FileSource(path=str(source), timestamp_field="ts"),
    )  # fmt: skip
    store = FeatureStore(repo_path=str(repo))
    store.apply([user, view])
    end = (START + timedelta(days=60)).replace(tzinfo=None)
    out = {"materialize_s": timed(lambda: store.materialize(START.replace(tzinfo=None), end))}
    refs = [f"users:{f}" for f in FEATURES]
    rng = np.random.default_rng(1)
    one = [[{"user_id": i}] for i in sample_ids(entities, 64, rng)]
    hundred = [[{"user_id": i} for i in sample_ids(entities, 100, rng)] for _ in range(64)]
    it1, it100 = iter(range(10**9)), iter(range(10**9))
    out["read_1_ms"] = p50(
        lambda: store.get_online_features(refs, one[next(it1) % 64]).to_dict(), 500
    )
    out["read_100_ms"] = p50(
        lambda: store.get_online_features(refs, hundred[next(it100) % 64]).to_dict(), 100
    )
    return out


# -- point-in-time training sets --------------------------------------------------------------
def bench_training_set(folder: Path, entities: int, labels: int) -> dict[str, float]:
    import duckdb
    import pyarrow as pa

    from knot.features.definitions import FeatureView

    rng = np.random.default_rng(2)
    views = []
    for v in range(3):
        n = entities * 5
        frame = pd.DataFrame({
            "user_id": np.repeat(np.arange(entities, dtype=np.int64), 5),
            "ts": pd.Timestamp(START) + pd.to_timedelta(rng.integers(0, 86400 * 60, n), "s"),
            **{f"v{v}_f{i}": rng.normal(size=n) for i in range(3)},
        })  # fmt: skip
        path = folder / f"view{v}.parquet"
        frame.to_parquet(path, index=False)
        views.append(
            FeatureView(
                f"view{v}", "user_id", "ts", [f"v{v}_f{i}" for i in range(3)], str(path), ttl="20d"
            )
        )
    entity = pa.table({
        "user_id": rng.integers(0, entities, labels),
        "event_timestamp": pa.array(pd.Timestamp(START) + pd.to_timedelta(rng.integers(0, 86400 * 60, labels), "s")).cast(pa.timestamp("us")),  # noqa: E501
    })  # fmt: skip
    store = knot_store(folder, f"sqlite:///{folder / 'pit-online.db'}")
    store.apply(views)
    out = {"knot_s": timed(lambda: store.training_set(entity, [v.name for v in views]))}
    con = duckdb.connect()
    con.register("e", entity)
    joins = " ".join(
        f"ASOF LEFT JOIN read_parquet('{folder / f'view{v}.parquet'}') v{v} "
        f"ON e.user_id = v{v}.user_id AND e.event_timestamp >= v{v}.ts"
        for v in range(3)
    )
    cols = ", ".join(f"v{v}.v{v}_f{i}" for v in range(3) for i in range(3))
    sql = f"SELECT e.*, {cols} FROM e {joins}"
    out["duckdb_s"] = timed(lambda: con.sql(sql).to_arrow_table())
    store.db.close()
    return out


def start_redis(folder: Path) -> tuple[str, subprocess.Popen[bytes]]:
    sys.path.insert(0, str(HERE.parent))
    from tests.servers import free_port, wait_for_port

    port = free_port()
    process = subprocess.Popen(
        ["redis-server", "--bind", "127.0.0.1", "--port", str(port), "--save", "",
         "--appendonly", "no", "--dir", str(folder)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    wait_for_port("127.0.0.1", port)
    return f"redis://127.0.0.1:{port}/0", process


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entities", type=int, default=100_000)
    parser.add_argument("--labels", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=5, help="interleaved read rounds")
    parser.add_argument("--skip", default="", help="comma-separated: feast, redis, pit")
    args = parser.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    results: dict[str, Any] = {"entities": args.entities, "labels": args.labels}
    with tempfile.TemporaryDirectory(prefix="knot-bench-features-") as tmp:
        folder = Path(tmp)
        source = make_source(folder, args.entities)
        raw, raw_reads, raw_close = bench_raw_sqlite(folder, source, args.entities)
        (folder / "knot").mkdir()
        knot, knot_reads, knot_close = bench_knot_online(
            folder / "knot", source, f"sqlite:///{folder / 'online.db'}", args.entities
        )
        rounds = interleaved_reads(raw_reads, knot_reads, args.rounds)
        for (key, _), r in zip(REPEAT.items(), rounds, strict=True):
            raw[key], knot[key] = r.peer.median / 1000, r.knot.median / 1000
        results.update(raw_sqlite=raw, knot_sqlite=knot)
        results["interleaved"] = [r.as_json() for r in rounds]
        raw_close()
        knot_close()
        if "redis" not in skip and shutil.which("redis-server"):
            uri, process = start_redis(folder)
            try:
                (folder / "knot-redis").mkdir()
                out, reads, close = bench_knot_online(
                    folder / "knot-redis", source, uri, args.entities
                )
                results["knot_redis"] = {**out, **measure(reads)}
                close()
                results["raw_redis"] = bench_raw_redis(uri, args.entities)
            finally:
                process.terminate()
                process.wait()
        if "feast" not in skip:
            try:
                results["feast_sqlite"] = bench_feast(folder, source, args.entities)
            except ImportError as exc:
                results["feast_sqlite"] = {"error": f"feast is not installed here: {exc}"}
        if "pit" not in skip:
            (folder / "pit").mkdir()
            results["training_set"] = bench_training_set(folder / "pit", args.entities, args.labels)
    report(results)
    from interleave import print_interleaved

    goals = {r.scenario: 0.5 for r in rounds}  # "within 2x of the raw read": ratio >= 0.5
    print_interleaved("Online reads: Knot vs raw SQLite", rounds, goals)
    out = HERE / "results" / "features.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(f"results: {out}")


def report(r: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    def cell(group: str, key: str) -> str:
        value = r.get(group, {}).get(key)
        return f"{value:.4g}" if isinstance(value, float) else "-"

    table = Table(title=f"feature store: {r['entities']:,} entities x 10 features")
    table.add_column("measure")
    for name in ("knot_sqlite", "feast_sqlite", "raw_sqlite", "knot_redis", "raw_redis"):
        table.add_column(name.replace("_", " "))
    measures = [
        ("read_1_ms", "online read p50, 1 entity (ms)"),
        ("read_100_ms", "online read p50, 100 entities (ms)"),
        ("materialize_s", "materialize (s)"),
        ("bulk_load_s", "bulk load (s)"),
    ]
    for key, label in measures:
        row = [
            cell(g, key)
            for g in ("knot_sqlite", "feast_sqlite", "raw_sqlite", "knot_redis", "raw_redis")
        ]
        if key == "bulk_load_s":
            row = ["-", "-", cell("raw_sqlite", key), "-", "-"]
        table.add_row(label, *row)
    Console().print(table)
    k, f, raw = r.get("knot_sqlite", {}), r.get("feast_sqlite", {}), r.get("raw_sqlite", {})
    for key, what in (("read_1_ms", "read 1"), ("read_100_ms", "read 100")):
        if key in f and key in k:
            print(f"{what}: Knot {f[key] / k[key]:.1f}x faster than Feast (goal at 100: >= 10x)")
        if key in raw and key in k:
            print(f"{what}: Knot {k[key] / raw[key]:.2f}x the raw SQLite read (goal: <= 2x)")
    if "materialize_s" in f and "materialize_s" in k:
        times = f["materialize_s"] / k["materialize_s"]
        print(f"materialize: Knot {times:.1f}x faster than Feast (goal: >= 10x)")
    if "error" in f:
        print(f"Feast: {f['error']}")
    t = r.get("training_set")
    if t:
        ratio = t["knot_s"] / t["duckdb_s"]
        print(
            f"training set, {r['labels']:,} labels x 3 views: Knot {t['knot_s']:.2f} s, "
            f"plain DuckDB ASOF {t['duckdb_s']:.2f} s ({ratio:.2f}x)"
        )


if __name__ == "__main__":
    os.environ.setdefault("FEAST_USAGE", "False")
    main()
