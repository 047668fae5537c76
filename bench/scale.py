"""Knot's store at team scale, on PostgreSQL on this machine:

    python bench/scale.py [--runs 1000000] [--points-per-run 50] [--versions 10000]
                          [--store postgresql://...]

fills a store (a fresh local PostgreSQL unless --store names one) with RUNS runs in 10
experiments (2 params, 1 tag and 5 metric keys each; POINTS-PER-RUN metric points per
run, so 50M at the defaults), VERSIONS model versions in 100 models and a 6-node lineage
chain per version (dataset -> run -> model version -> ModelKit -> OCI reference -> batch
output), straight in SQL (generate_series), then times through Knot's own API:

- filtered search: `metrics.auc > X and params.model = "lgbm"` in one experiment, a
  page of 100 (goal p50 < 100 ms);
- a run page: get_run with its params, tags and metric summaries (goal p50 < 50 ms);
- lineage: 5 hops downstream from a dataset version (goal p50 < 50 ms).

Results go to bench/results/scale.json. Nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "scale.json"
EXPERIMENTS, MODELS, KEYS = 10, 100, ("auc", "loss", "accuracy", "f1", "latency")


@contextmanager
def store_uri(given: str | None) -> Iterator[str]:
    if given:
        yield given
        return
    sys.path.insert(0, str(ROOT))
    from tests.postgres import postgres_server

    with postgres_server() as server:
        yield server.new_database()


def timed(step: str, sql: str, conn: object) -> None:
    start = time.perf_counter()
    conn.execute(sql)  # type: ignore[attr-defined]
    conn.commit()  # type: ignore[attr-defined]
    print(f"  {step}: {time.perf_counter() - start:.1f} s", flush=True)


def fill(uri: str, runs: int, points: int, versions: int) -> None:
    """Everything in SQL on the server: ids are md5 of a number, values pseudo-random."""
    import psycopg

    per_model = max(1, versions // MODELS)
    steps = max(1, points // len(KEYS))
    keys = "ARRAY[" + ", ".join(f"'{k}'" for k in KEYS) + "]"
    run_id = "md5('run' || r)"
    with psycopg.connect(uri.replace("postgresql+psycopg", "postgresql")) as conn:
        print(
            f"filling {runs:,} runs, {runs * steps * len(KEYS):,} metric points, "
            f"{MODELS * per_model:,} versions",
            flush=True,
        )
        timed(
            "experiments",
            f"""
            INSERT INTO experiments (experiment_id, name, description, created_at)
            SELECT md5('exp' || e), 'bench-' || e, NULL, 0 FROM generate_series(1, {EXPERIMENTS}) e
            ON CONFLICT DO NOTHING""",
            conn,
        )
        timed(
            "runs",
            f"""
            INSERT INTO runs (run_id, experiment_id, name, status, start_time, end_time, "user")
            SELECT {run_id}, md5('exp' || (1 + (r / 4) % {EXPERIMENTS})), 'run-' || r, 'FINISHED',
                   1700000000000 + r * 1000, 1700000000000 + r * 1000 + 500, 'user-' || (r % 50)
            FROM generate_series(1, {runs}) r""",
            conn,
        )
        timed(
            "params",
            f"""
            INSERT INTO params (run_id, key, value)
            SELECT {run_id}, 'model', (ARRAY['lgbm', 'xgb', 'logreg', 'rf'])[1 + r % 4]
            FROM generate_series(1, {runs}) r
            UNION ALL
            SELECT {run_id}, 'lr', (0.001 * (1 + r % 100))::text FROM generate_series(1, {runs}) r
            """,
            conn,
        )
        timed(
            "tags",
            f"""
            INSERT INTO tags (run_id, key, value)
            SELECT {run_id}, 'team', 'team-' || (r % 20) FROM generate_series(1, {runs}) r""",
            conn,
        )
        timed(
            "metric points",
            f"""
            INSERT INTO metrics (run_id, key, step, timestamp, value)
            SELECT {run_id}, ({keys})[k], s, 1700000000000 + r * 1000 + s,
                   abs(sin(r * 7 + k * 13 + s)) FROM generate_series(1, {runs}) r,
                   generate_series(1, {len(KEYS)}) k, generate_series(0, {steps - 1}) s""",
            conn,
        )
        timed(
            "metric summaries",
            f"""
            INSERT INTO metric_summaries
                (run_id, key, latest, latest_step, latest_timestamp, min, max, count)
            SELECT {run_id}, ({keys})[k], abs(sin(r * 7 + k * 13 + {steps - 1})), {steps - 1},
                   1700000000000 + r * 1000 + {steps - 1}, 0, 1, {steps}
            FROM generate_series(1, {runs}) r, generate_series(1, {len(KEYS)}) k""",
            conn,
        )
        timed(
            "models and versions",
            f"""
            INSERT INTO registered_models (name, description, created_at, created_by, updated_at)
            SELECT 'model-' || m, NULL, 0, 'bench', 0 FROM generate_series(1, {MODELS}) m;
            INSERT INTO model_versions (name, version, run_id, artifact_path, artifact_digest,
                flavor, signature, environment, datasets, status, created_at, created_by)
            SELECT 'model-' || m, v, md5('run' || (1 + (m * {per_model} + v) % {runs})), 'model',
                   'sha256:' || repeat('0', 64), 'sklearn', NULL, '{{}}', '[]', 'READY', 0, 'bench'
            FROM generate_series(1, {MODELS}) m, generate_series(1, {per_model}) v""",
            conn,
        )
        chain = [
            ("dataset", "'data-' || m || '@' || v"),
            ("run", "md5('run' || (1 + (m * {p} + v) % {r}))"),
            ("model_version", "'model-' || m || '/' || v"),
            (
                "modelkit",
                "'sha256:' || md5('kit' || m || '-' || v) || md5('kit2' || m || '-' || v)",
            ),
            ("oci_reference", "'registry.example.com/kits/model-' || m || ':' || v"),
            (
                "batch_output",
                "'sha256:' || md5('out' || m || '-' || v) || md5('out2' || m || '-' || v)",
            ),
        ]
        selects = [
            f"SELECT '{a}', {ai.format(p=per_model, r=runs)}, 'next', '{b}', "
            f"{bi.format(p=per_model, r=runs)}, 0 "
            f"FROM generate_series(1, {MODELS}) m, generate_series(1, {per_model}) v"
            for (a, ai), (b, bi) in itertools.pairwise(chain)
        ]
        timed(
            "lineage edges",
            "INSERT INTO lineage_edges (from_kind, from_id, relation, "
            "to_kind, to_id, created_at) " + " UNION ALL ".join(selects),
            conn,
        )
        timed("analyze", "ANALYZE", conn)


def p50_ms(call: Callable[[int], object], rounds: int) -> float:
    times = []
    for i in range(rounds):
        start = time.perf_counter()
        call(i)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def measure(runs: int, versions: int, rounds: int) -> list[dict[str, object]]:
    import knot

    rng = random.Random(0)
    per_model = max(1, versions // MODELS)

    def search(i: int) -> object:
        threshold = 0.5 + 0.49 * rng.random()
        found = knot.search_runs(
            f'metrics.auc > {threshold:.3f} and params.model = "lgbm"',
            experiment=f"bench-{1 + i % EXPERIMENTS}",
            max_results=100,
        )
        assert len(found) > 0
        return found

    def run_page(i: int) -> object:
        import hashlib

        run_id = hashlib.md5(f"run{rng.randint(1, runs)}".encode()).hexdigest()
        return knot.get_run(run_id)

    def lineage(i: int) -> object:
        m, v = rng.randint(1, MODELS), rng.randint(1, per_model)
        graph = knot.lineage(f"dataset:data-{m}@{v}", direction="down", depth=5)
        assert len(graph.nodes) == 6, graph
        return graph

    rows = []
    for name, call, goal in (
        ("filtered search, 100 of 1 experiment", search, 100.0),
        ("run page (get_run)", run_page, 50.0),
        ("lineage, 5 hops", lineage, 50.0),
    ):
        call(0)  # warm: connection pool, statement cache
        value = p50_ms(call, rounds)
        rows.append({"query": name, "p50_ms": value, "goal_ms": goal, "met": value < goal})
        print(f"  {name}: p50 {value:.1f} ms (goal < {goal:g} ms)", flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1_000_000)
    parser.add_argument("--points-per-run", type=int, default=50)
    parser.add_argument("--versions", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument("--store", help="an existing empty PostgreSQL database URI")
    args = parser.parse_args()
    from rich.console import Console
    from rich.table import Table

    with store_uri(args.store) as uri:
        os.environ["KNOT_STORE"] = uri
        import knot

        knot.reset()
        knot.search_runs()  # opens the store: the migrations create the schema
        fill(uri, args.runs, args.points_per_run, args.versions)
        rows = measure(args.runs, args.versions, args.rounds)
    table = Table(title=f"Knot on PostgreSQL, {args.runs:,} runs")
    for column in ("query", "p50 ms", "goal ms", "met"):
        table.add_column(column)
    for r in rows:
        table.add_row(str(r["query"]), f"{r['p50_ms']:.1f}", f"< {r['goal_ms']:g}", str(r["met"]))
    Console().print(table)
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps({"runs": args.runs, "results": rows}, indent=2))


if __name__ == "__main__":
    main()
