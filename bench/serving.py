"""Model serving, Knot against `mlflow models serve` (3.17) and a BentoML 1.4 service, for
the same scikit-learn LogisticRegression on the breast-cancer data (30 features):

    python bench/serving.py [--seconds S] [--sequential N] [--startup-only]

single-row latency (p50/p99 over N sequential requests on one keep-alive connection),
throughput at 16 concurrent clients driven by `wrk` (a Python client would eat the CPU
the servers need), one 10,000-row request (MLflow: dataframe_split JSON; BentoML:
records JSON; Knot: Arrow IPC, and columnar JSON for reference), start-up until ready
and the memory of the server's whole process tree. The floor is the model's own predict
on one row. Results go to bench/results/serving.json. Nothing here asserts a time.

Every server starts twice: the first start is timed and stopped, the second is timed
and then measured. For Knot the first starts with an empty served-model cache (it
reads the version's registered fast-load form, digest-checked); the second loads from
that cache. Memory is that of the
whole process tree three ways: each resident page once (read from /proc/PID/pagemap,
which needs root; the number to compare), the resident sets summed (RSS, counting a page
shared by forked workers once per worker) and the proportional sets summed (PSS, which
also splits pages shared with processes outside the tree, so it reads low on a machine
running other Python processes). Knot's own modules are byte-compiled first, as a wheel install
does (an editable install under PYTHONDONTWRITEBYTECODE would compile them on every
start, which the peers, installed from wheels, never do).
"""

from __future__ import annotations

import argparse
import compileall
import contextlib
import http.client
import io
import json
import os
import re
import statistics
import subprocess
import tempfile
import textwrap
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.table import Table

from _common import RESULTS_DIR, console, venv_script
from _memory import tree_memory
from _servers import _healthy, _stop, free_port

PEERS = ("mlflow", "bentoml", "knot")
CLIENTS = 16


@dataclass
class Target:
    """A running server: where to POST one row, and how long it took to be ready."""

    name: str
    proc: subprocess.Popen[bytes]
    port: int
    path: str
    one_row: bytes
    ready_s: float
    log: Path
    numbers: dict[str, float] = field(default_factory=dict)


@contextlib.contextmanager
def start(
    name: str, cmd: list[str], port: int, ready_path: str, workdir: Path, env: dict[str, str]
) -> Iterator[tuple[subprocess.Popen[bytes], float, Path]]:
    log = workdir / f"{name}.log"
    with log.open("wb") as out:
        began = time.perf_counter()
        proc = subprocess.Popen(
            cmd, cwd=workdir, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        while not _healthy(f"http://127.0.0.1:{port}{ready_path}"):
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited: {log.read_text()[-1500:]}")
            if time.perf_counter() - began > 180:
                raise RuntimeError(f"{name} not ready after 180 s")
            time.sleep(0.02)
        yield proc, time.perf_counter() - began, log
    finally:
        _stop(proc)


def post(conn: http.client.HTTPConnection, path: str, body: bytes, ctype: str) -> bytes:
    conn.request("POST", path, body, {"Content-Type": ctype})
    resp = conn.getresponse()
    data = resp.read()
    if resp.status != 200:
        raise RuntimeError(f"{path} answered {resp.status}: {data[:300]!r}")
    return data


def sequential(t: Target, n: int) -> tuple[float, float]:
    conn = http.client.HTTPConnection("127.0.0.1", t.port)
    for _ in range(100):
        post(conn, t.path, t.one_row, "application/json")
    times = []
    for _ in range(n):
        began = time.perf_counter()
        post(conn, t.path, t.one_row, "application/json")
        times.append(time.perf_counter() - began)
    conn.close()
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.99) - 1]


def wrk(t: Target, seconds: int, workdir: Path) -> float:
    script = workdir / f"{t.name}.lua"
    script.write_text(
        'wrk.method = "POST"\n'
        f"wrk.body = {json.dumps(t.one_row.decode())}\n"
        'wrk.headers["Content-Type"] = "application/json"\n'
    )
    url = f"http://127.0.0.1:{t.port}{t.path}"
    cmd = ["wrk", "-t2", f"-c{CLIENTS}", f"-d{seconds}s", "-s", str(script), url]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if bad:
        raise RuntimeError(f"{t.name}: {bad.group(1)} failed requests under load:\n{out}")
    match = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if match is None:
        raise RuntimeError(f"wrk printed no rate:\n{out}")
    return float(match.group(1))


def big_request(t: Target, body: bytes, ctype: str, runs: int = 5) -> float:
    conn = http.client.HTTPConnection("127.0.0.1", t.port, timeout=120)
    post(conn, t.path, body, ctype)
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        post(conn, t.path, body, ctype)
        times.append(time.perf_counter() - began)
    conn.close()
    return statistics.median(times)


def floor(model: Any, frame: Any) -> tuple[float, float]:
    one = frame.head(1)
    array = one.to_numpy()

    def best(fn: Any) -> float:
        for _ in range(50):
            fn()
        runs = []
        for _ in range(500):
            began = time.perf_counter()
            fn()
            runs.append(time.perf_counter() - began)
        return statistics.median(runs)

    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # fitted with feature names, called with an array
        return best(lambda: model.predict(array)), best(lambda: model.predict(one))


BENTO_SERVICE = textwrap.dedent(
    """
    import os

    import bentoml
    import joblib
    import pandas as pd


    @bentoml.service(workers=1)
    class BreastCancer:
        def __init__(self) -> None:
            self.model = joblib.load(os.environ["BENCH_MODEL"])

        @bentoml.api
        def predict(self, inputs: list[dict[str, float]]) -> list[int]:
            return self.model.predict(pd.DataFrame(inputs)).tolist()
    """
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=10, help="wrk duration per server")
    parser.add_argument("--sequential", type=int, default=2000, help="single-row requests")
    parser.add_argument("--startup-only", action="store_true", help="only start-up time and memory")
    args = parser.parse_args()
    load_before = os.getloadavg()

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
    frame = data.data
    model = LogisticRegression(max_iter=10_000).fit(frame, data.target)
    floor_array, floor_frame = floor(model, frame)
    record = frame.head(1).to_dict("records")
    big = frame.sample(10_000, replace=True, random_state=0).reset_index(drop=True)

    work = Path(tempfile.mkdtemp(prefix="knot-bench-serving-"))
    env = {**os.environ, "KNOT_HOME": str(work / "knot"), "BENCH_MODEL": str(work / "m.joblib")}
    env["BENTOML_HOME"] = str(work / "bentoml")
    # mlflow models serve runs `uvicorn` by name: this venv's scripts go first on PATH
    env["PATH"] = f"{Path(venv_script('mlflow')).parent}{os.pathsep}{env.get('PATH', '')}"
    env["MLFLOW_TRACKING_URI"] = f"file://{work / 'mlruns'}"
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
    cols = {c: big[c].tolist() for c in big.columns}
    bodies = {
        "mlflow": orjson.dumps({"dataframe_records": record}),
        "bentoml": orjson.dumps({"inputs": record}),
        "knot": orjson.dumps({"inputs": record}),
    }
    big_bodies = {
        "mlflow": (orjson.dumps({"dataframe_split": big.to_dict("split")}), "application/json"),
        "bentoml": (orjson.dumps({"inputs": big.to_dict("records")}), "application/json"),
        "knot": (arrow.getvalue(), "application/vnd.apache.arrow.stream"),
    }
    commands = {
        "mlflow": (
            [
                venv_script("mlflow"),
                "models",
                "serve",
                "-m",
                str(work / "mlflow-model"),
                "--env-manager",
                "local",
                "--host",
                "127.0.0.1",
                "-p",
                "{port}",
            ],
            "/ping",
            "/invocations",
        ),
        "bentoml": (
            [
                venv_script("bentoml"),
                "serve",
                "service:BreastCancer",
                "--host",
                "127.0.0.1",
                "--port",
                "{port}",
            ],
            "/readyz",
            "/predict",
        ),
        "knot": (
            [venv_script("knot"), "serve", "models:/bc@champion", "--port", "{port}"],
            "/ready",
            "/predict",
        ),
    }
    targets: list[Target] = []
    for name in PEERS:
        cmd, ready_path, path = commands[name]
        console.print(f"[bold]{name}[/]: starting")
        try:
            port = free_port()
            first = [c.replace("{port}", str(port)) for c in cmd]
            with start(name, first, port, ready_path, work, env) as (proc, first_s, _):
                pass
            port = free_port()
            again = [c.replace("{port}", str(port)) for c in cmd]
            with start(name, again, port, ready_path, work, env) as (proc, ready_s, log):
                t = Target(name, proc, port, path, bodies[name], ready_s, log)
                t.numbers.update(first=first_s, ready=ready_s)
                t.numbers.update({f"{k}_ready": v for k, v in tree_memory(proc.pid).items()})
                if not args.startup_only:
                    p50, p99 = sequential(t, args.sequential)
                    t.numbers.update(p50=p50, p99=p99, rps=wrk(t, args.seconds, work))
                    body, ctype = big_bodies[name]
                    t.numbers["big"] = big_request(t, body, ctype)
                    if name == "knot":
                        t.numbers["big_json"] = big_request(
                            t, orjson.dumps({"inputs": cols}), "application/json"
                        )
                    t.numbers.update(tree_memory(proc.pid))
                targets.append(t)
        except Exception as exc:  # a peer that fails is reported, the others still run
            console.print(f"[red]{name} failed: {exc}[/]")
    report(targets, floor_array, floor_frame, (load_before, os.getloadavg()))


def report(
    targets: list[Target],
    floor_array: float,
    floor_frame: float,
    load: tuple[tuple[float, ...], tuple[float, ...]],
) -> None:
    by = {t.name: t for t in targets}
    rows: list[tuple[str, str, bool, str]] = [
        ("single row p50", "ms", False, "p50"),
        ("single row p99", "ms", False, "p99"),
        (f"throughput, {CLIENTS} clients", "req/s", True, "rps"),
        ("10,000-row request", "ms", False, "big"),
        ("ready after the first start", "s", False, "first"),
        ("ready after a second start", "s", False, "ready"),
        ("memory when ready, pages once", "MiB", False, "unique_ready"),
        ("memory when ready, RSS sum", "MiB", False, "rss_ready"),
        ("memory when ready, PSS sum", "MiB", False, "pss_ready"),
        ("memory after the runs, pages once", "MiB", False, "unique"),
        ("memory after the runs, RSS sum", "MiB", False, "rss"),
        ("memory after the runs, PSS sum", "MiB", False, "pss"),
    ]
    rows = [r for r in rows if any(r[3] in t.numbers for t in targets)]

    def value(t: Target, key: str) -> float:
        v = t.numbers[key]
        return v * 1000 if key in ("p50", "p99", "big") else v

    table = Table(title="Serving: Knot vs mlflow models serve vs BentoML", title_justify="left")
    for col in ["scenario", *PEERS, "knot vs best peer"]:
        table.add_column(col, justify="left" if col == "scenario" else "right")
    results = []
    for label, unit, higher, key in rows:
        cells = {n: value(by[n], key) for n in PEERS if n in by and key in by[n].numbers}
        peers = [v for n, v in cells.items() if n != "knot"]
        ratio = None
        if "knot" in cells and peers:
            best = max(peers) if higher else min(peers)
            ratio = cells["knot"] / best if higher else best / cells["knot"]
        table.add_row(
            label,
            *[f"{cells[n]:,.2f} {unit}" if n in cells else "-" for n in PEERS],
            "-" if ratio is None else f"{ratio:,.2f}x",
        )
        results.append({"scenario": label, "unit": unit, **cells, "ratio_vs_best_peer": ratio})
    console.print(table)
    console.print(
        f"  floor: the model's own predict on one row takes {floor_array * 1000:.3f} ms as an "
        f"array, {floor_frame * 1000:.3f} ms as a DataFrame"
    )
    console.print(
        "  load average (1, 5, 15 min): before "
        + ", ".join(f"{x:.2f}" for x in load[0])
        + "; after "
        + ", ".join(f"{x:.2f}" for x in load[1])
    )
    if "knot" in by and "p50" in by["knot"].numbers:
        k = by["knot"].numbers
        console.print(f"  knot 10,000 rows as columnar JSON: {k['big_json'] * 1000:,.1f} ms")
        gap = k["p50"] - floor_frame
        console.print(f"  knot p50 is {gap * 1000:.2f} ms above the DataFrame floor")
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    doc = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "cpus": os.cpu_count(),
        "load_average": {"before": load[0], "after": load[1]},
        "floor_ms": {"array": floor_array * 1000, "dataframe": floor_frame * 1000},
        "results": results,
    }
    (RESULTS_DIR / "serving.json").write_text(json.dumps(doc, indent=2) + "\n")


if __name__ == "__main__":
    main()
