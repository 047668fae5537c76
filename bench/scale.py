"""Knot's store at team scale, on PostgreSQL on this machine:

    python bench/scale.py [--runs 1000000] [--points-per-run 50] [--versions 10000]
                          [--store postgresql://...] [--no-fill] [--rounds 50]

fills a store (a fresh local PostgreSQL unless --store names an empty database) with
RUNS runs in 10 experiments (2 params, 1 tag and 5 metric keys each; POINTS-PER-RUN
metric points per run, so 50M at the defaults), VERSIONS model versions in 100 models
and a 6-node lineage chain per version (dataset -> run -> model version -> ModelKit ->
OCI reference -> batch output), straight in SQL (bench/_scale_fill.py), then times
through Knot's own API:

- filtered search: `metrics.auc > X and params.model = "lgbm"` in one experiment, and
  over all runs, a page of 100 (goal p50 < 100 ms);
- a run page: get_run with its params, tags and metric summaries (goal p50 < 50 ms);
- lineage: 5 hops downstream from a dataset version (goal p50 < 50 ms);
- the web UI's runs page of an experiment from a live `knot server`: first page, sorted
  by a metric, filtered; time to first byte (bench/_scale_ui.py; goal < 300 ms).

--store URI --no-fill measures a store an earlier run filled (the 1M fill takes half an
hour): the sizes are counted from it. Each figure comes with the CPU it cost per call, in
this process and in the servers (bench/_scale_cpu.py): on a shared machine the wall time
grows with the load, the CPU does not. Results go to bench/results/scale.json, with the
load average around the measuring. Nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import statistics
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from _common import Result, print_table, write_json
from _scale_cpu import cpu_ms_per_call, describe, postmaster_pid
from _scale_fill import EXPERIMENTS, MODELS, fill
from _scale_ui import ui_pages

ROOT = Path(__file__).resolve().parents[1]


@contextmanager
def store_uri(given: str | None) -> Iterator[str]:
    if given:
        yield given
        return
    sys.path.insert(0, str(ROOT))
    from tests.postgres import postgres_server

    with postgres_server() as server:
        yield server.new_database()


def sizes(uri: str) -> dict[str, int]:
    """What the store holds: runs, metric points, model versions, lineage edges."""
    import psycopg

    counted = {}
    with psycopg.connect(uri.replace("postgresql+psycopg", "postgresql")) as conn:
        for name, table in (
            ("runs", "runs"),
            ("metric_points", "metrics"),
            ("model_versions", "model_versions"),
            ("lineage_edges", "lineage_edges"),
        ):
            counted[name] = int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
    return counted


def measure(runs: int, versions: int, rounds: int, postgres: int | None) -> list[Result]:
    import knot

    rng = random.Random(0)
    per_model = max(1, versions // MODELS)

    def search(i: int, everywhere: bool = False) -> object:
        threshold = 0.5 + 0.49 * rng.random()
        found = knot.search_runs(
            f'metrics.auc > {threshold:.3f} and params.model = "lgbm"',
            experiment=None if everywhere else f"bench-{1 + i % EXPERIMENTS}",
            max_results=100,
        )
        assert len(found) == 100
        return found

    def run_page(i: int) -> object:
        run_id = hashlib.md5(f"run{rng.randint(1, runs)}".encode()).hexdigest()
        return knot.get_run(run_id)

    def lineage(i: int) -> object:
        m, v = rng.randint(1, MODELS), rng.randint(1, per_model)
        graph = knot.lineage(f"dataset:data-{m}@{v}", direction="down", depth=5)
        assert len(graph.nodes) == 6, graph
        return graph

    results = []
    for name, call, goal in (
        ("filtered search, 100 of 1 experiment", search, 0.1),
        ("filtered search, 100 of all runs", lambda i: search(i, everywhere=True), 0.1),
        ("run page (get_run)", run_page, 0.05),
        ("lineage, 5 hops", lineage, 0.05),
    ):
        call(0)  # warm: connection pool, statement cache
        times, used = cpu_ms_per_call(call, rounds, {"PostgreSQL": postgres})
        value, note = statistics.median(times), describe(used)
        results.append(Result(name, "s", False, knot=value, n_knot=runs, goal_abs=goal, note=note))
        print(f"  {name}: p50 {value * 1000:.1f} ms (goal < {goal * 1000:g} ms)", flush=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1_000_000)
    parser.add_argument("--points-per-run", type=int, default=50)
    parser.add_argument("--versions", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument("--store", help="a PostgreSQL database URI (empty, unless --no-fill)")
    parser.add_argument(
        "--no-fill", action="store_true", help="measure the --store an earlier run filled"
    )
    args = parser.parse_args()
    if args.no_fill and not args.store:
        parser.error("--no-fill needs --store, the database an earlier run filled")

    with store_uri(args.store) as uri:
        os.environ["KNOT_STORE"] = uri
        import knot

        knot.reset()
        knot.search_runs(max_results=1)  # opens the store: the migrations build the schema
        fill_s = None if args.no_fill else fill(uri, args.runs, args.points_per_run, args.versions)
        held = sizes(uri)
        print(", ".join(f"{v:,} {k.replace('_', ' ')}" for k, v in held.items()), flush=True)
        load_before = os.getloadavg()
        postgres = postmaster_pid(uri)
        results = measure(held["runs"], held["model_versions"], args.rounds, postgres)
        results += ui_pages(uri, held["runs"], max(5, args.rounds // 5), postgres)
        load_after = os.getloadavg()
    print_table(f"Knot on PostgreSQL, {held['runs']:,} runs (p50)", results)
    print(f"load average before / after: {load_before} / {load_after}")
    write_json(
        "scale.json",
        results,
        **held,
        fill_s=fill_s,
        load_before=load_before,
        load_after=load_after,
    )


if __name__ == "__main__":
    main()
