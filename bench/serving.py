"""Model serving, Knot against a BentoML 1.4 service (and `mlflow models serve` 3.17, once),
for the same scikit-learn LogisticRegression on the breast-cancer data (30 features):

    python bench/serving.py [--rounds 5] [--quick] [--seconds S] [--sequential N]
                            [--no-mlflow] [--startup-only]

BentoML and Knot take turns (bench/interleave.py): each round starts BentoML, measures it
and stops it, then does the same for Knot, --rounds times; the table shows each side's
median, min and max and the ratio of medians, with the load average before and after.
A round measures: start-up until ready, the memory of the server's whole process tree
when ready, single-row latency (p50/p99 over N sequential requests on one keep-alive
connection), throughput at 16 concurrent clients driven by `wrk` (a Python client would
eat the CPU the servers need), one 10,000-row request (BentoML: records JSON; Knot:
Arrow IPC, and columnar JSON for reference) and the memory after all that. MLflow is
measured in one round before the others, as an extra column. The floor is the model's
own predict on one row, measured in this process each round. Every server's answer to
the one row and to the 10,000 rows is checked against the model's own predictions, so a
fast wrong answer never counts. Results go to bench/results/serving.json. Nothing here
asserts a time.

Each server starts once before the rounds, untimed in the table: for Knot that first
start has an empty served-model cache (it reads the version's registered fast-load form,
digest-checked) and is reported on its own line; the rounds load from that cache. Memory
is that of the whole process tree three ways: each resident page once (read from
/proc/PID/pagemap, which needs root; the number to compare), the resident sets summed
(RSS, counting a page shared by forked workers once per worker) and the proportional sets
summed (PSS, which also splits pages shared with processes outside the tree, so it reads
low on a machine running other Python processes). Knot's own modules are byte-compiled
first, as a wheel install does (an editable install under PYTHONDONTWRITEBYTECODE would
compile them on every start, which the peers, installed from wheels, never do).
"""

from __future__ import annotations

import argparse
import atexit
import compileall
import io
import json
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import RESULTS_DIR, console, venv_script
from _memory import tree_memory
from _servers import free_port
from _serving_peers import (
    BENTO_SERVICE,
    CLIENTS,
    Peer,
    big_request,
    check_one_row,
    floor,
    peers,
    sequential,
    start,
    wrk,
)
from interleave import DEFAULT_N, Interleaved, fmt, print_interleaved

PEER = "bentoml"  # the side the goals are set against
THROUGHPUT = f"throughput, {CLIENTS} clients"
# (key in a round's numbers, scenario, unit, higher is better)
SCENARIOS = [
    ("rps", THROUGHPUT, "req/s", True),
    ("p50", "single row p50", "s", False),
    ("p99", "single row p99", "s", False),
    ("big", "10,000-row request", "s", False),
    ("ready", "ready (served-model cache warm)", "s", False),
    ("unique_ready", "memory when ready, pages once", "MiB", False),
    ("rss_ready", "memory when ready, RSS sum", "MiB", False),
    ("pss_ready", "memory when ready, PSS sum", "MiB", False),
    ("unique", "memory after the runs, pages once", "MiB", False),
    ("rss", "memory after the runs, RSS sum", "MiB", False),
    ("pss", "memory after the runs, PSS sum", "MiB", False),
]
GOALS = {THROUGHPUT: 10.0}
P50_ABOVE_FLOOR_MS = 0.5  # Knot's p50 within this of the model's own DataFrame predict
READY_S, MEMORY_MIB = 1.0, 200.0


class Bench:
    """The servers, their bodies and expected answers, and the numbers measured so far."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        import joblib
        import mlflow.sklearn
        import orjson
        import pyarrow as pa
        import pyarrow.ipc as ipc
        from sklearn.datasets import load_breast_cancer
        from sklearn.linear_model import LogisticRegression

        import knot

        compileall.compile_dir(Path(knot.__file__).parent, quiet=1)
        data = load_breast_cancer(as_frame=True)
        self.frame = frame = data.data
        self.model = model = LogisticRegression(max_iter=10_000).fit(frame, data.target)
        record = frame.head(1).to_dict("records")
        big = frame.sample(10_000, replace=True, random_state=0).reset_index(drop=True)
        self.expected_one = model.predict(frame.head(1)).tolist()
        self.expected_big = model.predict(big).tolist()

        work = self.work = Path(tempfile.mkdtemp(prefix="knot-bench-serving-"))
        atexit.register(shutil.rmtree, work, ignore_errors=True)  # after the servers stop
        env = {**os.environ, "KNOT_HOME": str(work / "knot"), "BENCH_MODEL": str(work / "m.joblib")}
        env["BENTOML_HOME"] = str(work / "bentoml")
        # mlflow models serve runs `uvicorn` by name: this venv's scripts go first on PATH
        env["PATH"] = f"{Path(venv_script('mlflow')).parent}{os.pathsep}{env.get('PATH', '')}"
        env["MLFLOW_TRACKING_URI"] = f"file://{work / 'mlruns'}"
        self.env = env
        os.environ.update(KNOT_HOME=env["KNOT_HOME"])
        knot.log_model(model, registered_model_name="bc", input_example=frame.head(5))
        knot.set_alias("bc", "champion", 1)
        mlflow.sklearn.save_model(model, str(work / "mlflow-model"), input_example=frame.head(5))
        joblib.dump(model, work / "m.joblib")
        (work / "service.py").write_text(BENTO_SERVICE)

        arrow = io.BytesIO()
        table = pa.Table.from_pandas(big, preserve_index=False)
        with ipc.new_stream(arrow, table.schema) as writer:
            writer.write_table(table)
        self.big_json = orjson.dumps({"inputs": {c: big[c].tolist() for c in big.columns}})
        one_row = {
            "mlflow": orjson.dumps({"dataframe_records": record}),
            "bentoml": orjson.dumps({"inputs": record}),
            "knot": orjson.dumps({"inputs": record}),
        }
        big_bodies = {
            "mlflow": (orjson.dumps({"dataframe_split": big.to_dict("split")}), "application/json"),
            "bentoml": (orjson.dumps({"inputs": big.to_dict("records")}), "application/json"),
            "knot": (arrow.getvalue(), "application/vnd.apache.arrow.stream"),
        }
        self.peers = {p.name: p for p in peers(work, one_row, big_bodies)}
        self.first: dict[str, float] = {}
        self.floors: list[tuple[float, float]] = []

    def first_start(self, peer: Peer) -> None:
        """Start once and stop: downloads, caches and byte-code are made before the rounds."""
        with start(peer, free_port(), self.work, self.env) as (_, ready_s):
            self.first[peer.name] = ready_s

    def round(self, peer: Peer) -> dict[str, float]:
        """Start `peer`, measure everything once, stop it."""
        numbers: dict[str, float] = {}
        port = free_port()
        with start(peer, port, self.work, self.env) as (proc, ready_s):
            numbers["ready"] = ready_s
            numbers.update({f"{k}_ready": v for k, v in tree_memory(proc.pid).items()})
            check_one_row(peer, port, self.expected_one)
            if self.args.startup_only:
                return numbers
            numbers["p50"], numbers["p99"] = sequential(peer, port, self.args.sequential)
            numbers["rps"] = wrk(peer, port, self.args.seconds, self.work)
            numbers["big"] = big_request(peer, port, peer.big, peer.big_type, self.expected_big)
            if peer.name == "knot":
                numbers["big_json"] = big_request(
                    peer, port, self.big_json, "application/json", self.expected_big
                )
            numbers.update(tree_memory(proc.pid))
        return numbers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=DEFAULT_N, help="interleaved rounds")
    parser.add_argument("--quick", action="store_true", help="2 rounds, shorter runs")
    parser.add_argument("--seconds", type=int, default=10, help="wrk duration per round")
    parser.add_argument("--sequential", type=int, default=2000, help="single-row requests")
    parser.add_argument("--no-mlflow", action="store_true", help="leave MLflow out")
    parser.add_argument("--startup-only", action="store_true", help="only start-up and memory")
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.seconds, args.sequential = 2, 5, 1000
    began = time.perf_counter()
    bench = Bench(args)
    names = [*(() if args.no_mlflow else ("mlflow",)), PEER, "knot"]
    for name in names:
        console.print(f"[dim]{name}: first start[/]")
        bench.first_start(bench.peers[name])
    mlflow: dict[str, float] = {}
    if "mlflow" in names:
        console.print("[dim]mlflow: one round[/]")
        try:
            mlflow = bench.round(bench.peers["mlflow"])
        except Exception as exc:  # an extra column: its failure leaves the rest standing
            console.print(f"[red]mlflow failed: {exc}[/]")
    rows = {key: Interleaved(label, unit, higher, PEER) for key, label, unit, higher in SCENARIOS}
    load_before = os.getloadavg()
    knot_extra: list[float] = []
    for i in range(args.rounds):
        bench.floors.append(floor(bench.model, bench.frame))
        for name in (PEER, "knot"):
            numbers = bench.round(bench.peers[name])
            for key, row in rows.items():
                if key in numbers:
                    (row.peer if name == PEER else row.knot).values.append(numbers[key])
            if "big_json" in numbers:
                knot_extra.append(numbers["big_json"])
            said = ", ".join(
                fmt(numbers[k], rows[k].unit) for k in ("rps", "p50", "ready") if k in numbers
            )
            console.print(f"[dim]round {i + 1}/{args.rounds}, {name}: {said}[/]")
    load_after = os.getloadavg()
    for row in rows.values():
        row.load_before, row.load_after = load_before, load_after
    done = [r for r in rows.values() if r.knot.values or r.peer.values]
    report(bench, done, mlflow, knot_extra, time.perf_counter() - began)


def report(
    bench: Bench,
    rows: list[Interleaved],
    mlflow: dict[str, float],
    knot_big_json: list[float],
    took: float,
) -> None:
    print_interleaved("Serving: Knot vs BentoML", rows, GOALS)
    by = {r.scenario: r for r in rows}
    floor_array = statistics.median(f[0] for f in bench.floors)
    floor_frame = statistics.median(f[1] for f in bench.floors)
    if mlflow:
        keys = [(k, label, unit) for k, label, unit, _ in SCENARIOS if k in mlflow]
        said = "; ".join(f"{label} {fmt(mlflow[k], unit)}" for k, label, unit in keys[:5])
        console.print(f"  mlflow models serve, one round: {said}")
    console.print(
        "  ready after the first start (one each, Knot's served-model cache empty): "
        + ", ".join(f"{n} {fmt(s, 's')}" for n, s in bench.first.items())
    )
    console.print(
        f"  floor: the model's own predict on one row takes {floor_array * 1000:.3f} ms as an "
        f"array, {floor_frame * 1000:.3f} ms as a DataFrame (median of the rounds)"
    )
    goals: dict[str, Any] = {}
    p50 = by.get("single row p50")
    if p50 is not None and p50.knot.values:
        gap = (p50.knot.median - floor_frame) * 1000
        goals["p50_above_dataframe_floor_ms"] = gap
        met = "met" if gap <= P50_ABOVE_FLOOR_MS else "NOT met"
        console.print(
            f"  knot p50 (median) is {gap:.2f} ms above the DataFrame floor: goal <= "
            f"{P50_ABOVE_FLOOR_MS} ms {met}"
        )
    for label, goal, unit in (
        ("ready (served-model cache warm)", READY_S, "s"),
        ("memory when ready, pages once", MEMORY_MIB, "MiB"),
    ):
        row = by.get(label)
        if row is not None and row.knot.values:
            met = "met" if row.knot.median < goal else "NOT met"
            console.print(
                f"  knot {label} (median) {fmt(row.knot.median, unit)}: goal < "
                f"{fmt(goal, unit)} {met}"
            )
    if knot_big_json:
        console.print(
            f"  knot 10,000 rows as columnar JSON: {statistics.median(knot_big_json) * 1000:,.1f} "
            "ms (median)"
        )
    console.print(f"  [dim]the whole benchmark took {took:.0f} s[/]")
    results = []
    for row in rows:
        scale = 1000 if row.unit == "s" else 1  # the table of old: milliseconds
        key = next(k for k, label, _, _ in SCENARIOS if label == row.scenario)
        cells = {"knot": row.knot.median * scale} if row.knot.values else {}
        if row.peer.values:
            cells[PEER] = row.peer.median * scale
        if key in mlflow:
            cells["mlflow"] = mlflow[key] * scale
        unit = "ms" if row.unit == "s" else row.unit
        results.append({"scenario": row.scenario, "unit": unit, **cells, "ratio": row.ratio})
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    doc = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "cpus": os.cpu_count(),
        "rounds": max((len(r.knot.values) for r in rows), default=0),
        "load_average": {"before": rows[0].load_before, "after": rows[0].load_after}
        if rows
        else None,
        "floor_ms": {"array": floor_array * 1000, "dataframe": floor_frame * 1000},
        "first_start_s": bench.first,
        "goals": goals,
        "results": results,
        "interleaved": [r.as_json() for r in rows],
        "mlflow_one_round": mlflow,
        "seconds": took,
    }
    path = RESULTS_DIR / "serving.json"
    path.write_text(json.dumps(doc, indent=2) + "\n")
    console.print(f"  [dim]results: {path}[/]")


if __name__ == "__main__":
    main()
