"""The servers bench/serving.py compares, and how one of them is started and measured:
`mlflow models serve`, a BentoML service and `knot serve`, each answering POST with one
row (single-row latency, `wrk` throughput) and with 10,000 rows (checked against the
model's own predictions). Nothing here asserts a time.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import re
import statistics
import subprocess
import textwrap
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from _common import venv_script
from _servers import _healthy, _stop

CLIENTS = 16

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


@dataclass(frozen=True)
class Peer:
    """How to start a server (`{port}` in `cmd` is filled in), when it is ready, where it
    predicts, and the bodies it takes: one row, and 10,000 rows with their content type."""

    name: str
    cmd: list[str]
    ready_path: str
    path: str
    one_row: bytes
    big: bytes
    big_type: str


def peers(work: Path, one_row: dict[str, bytes], big: dict[str, tuple[bytes, str]]) -> list[Peer]:
    commands = {
        "mlflow": (
            [
                *(venv_script("mlflow"), "models", "serve", "-m", str(work / "mlflow-model")),
                *("--env-manager", "local", "--host", "127.0.0.1", "-p", "{port}"),
            ],
            "/ping",
            "/invocations",
        ),
        "bentoml": (
            [
                *(venv_script("bentoml"), "serve", "service:BreastCancer"),
                *("--host", "127.0.0.1", "--port", "{port}"),
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
    return [
        Peer(name, cmd, ready, path, one_row[name], *big[name])
        for name, (cmd, ready, path) in commands.items()
    ]


@contextlib.contextmanager
def start(
    peer: Peer, port: int, workdir: Path, env: dict[str, str]
) -> Iterator[tuple[subprocess.Popen[bytes], float]]:
    """The server running on `port`, and the seconds it took to answer its ready path."""
    log = workdir / f"{peer.name}.log"
    cmd = [c.replace("{port}", str(port)) for c in peer.cmd]
    with log.open("wb") as out:
        began = time.perf_counter()
        proc = subprocess.Popen(
            cmd, cwd=workdir, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        while not _healthy(f"http://127.0.0.1:{port}{peer.ready_path}"):
            if proc.poll() is not None:
                raise RuntimeError(f"{peer.name} exited: {log.read_text()[-1500:]}")
            if time.perf_counter() - began > 180:
                raise RuntimeError(f"{peer.name} not ready after 180 s")
            time.sleep(0.02)
        yield proc, time.perf_counter() - began
    finally:
        _stop(proc)


def post(conn: http.client.HTTPConnection, path: str, body: bytes, ctype: str) -> bytes:
    conn.request("POST", path, body, {"Content-Type": ctype})
    resp = conn.getresponse()
    data = resp.read()
    if resp.status != 200:
        raise RuntimeError(f"{path} answered {resp.status}: {data[:300]!r}")
    return data


def predictions(answer: bytes) -> list[Any]:
    """The predictions in a server's answer: a list (BentoML) or {"predictions": [...]}."""
    doc = json.loads(answer)
    return list(doc["predictions"] if isinstance(doc, dict) else doc)


def sequential(peer: Peer, port: int, n: int) -> tuple[float, float]:
    """p50 and p99 of `n` one-row requests, one after another on one keep-alive connection."""
    conn = http.client.HTTPConnection("127.0.0.1", port)
    for _ in range(100):
        post(conn, peer.path, peer.one_row, "application/json")
    times = []
    for _ in range(n):
        began = time.perf_counter()
        post(conn, peer.path, peer.one_row, "application/json")
        times.append(time.perf_counter() - began)
    conn.close()
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.99) - 1]


def wrk(peer: Peer, port: int, seconds: int, workdir: Path) -> float:
    """Requests per second of one-row POSTs from CLIENTS connections; any failure raises."""
    script = workdir / f"{peer.name}.lua"
    script.write_text(
        'wrk.method = "POST"\n'
        f"wrk.body = {json.dumps(peer.one_row.decode())}\n"
        'wrk.headers["Content-Type"] = "application/json"\n'
    )
    url = f"http://127.0.0.1:{port}{peer.path}"
    cmd = ["wrk", "-t2", f"-c{CLIENTS}", f"-d{seconds}s", "-s", str(script), url]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if bad:
        raise RuntimeError(f"{peer.name}: {bad.group(1)} failed requests under load:\n{out}")
    match = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if match is None:
        raise RuntimeError(f"wrk printed no rate:\n{out}")
    return float(match.group(1))


def big_request(
    peer: Peer, port: int, body: bytes, ctype: str, expected: list[Any], runs: int = 3
) -> float:
    """Median seconds of a many-row request, after checking its answer is `expected`."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    got = predictions(post(conn, peer.path, body, ctype))
    if got != expected:
        wrong = sum(a != b for a, b in zip(got, expected, strict=False))
        raise RuntimeError(
            f"{peer.name} answered {len(got)} predictions for {len(expected)} rows, "
            f"{wrong} of them unlike the model's own"
        )
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        post(conn, peer.path, body, ctype)
        times.append(time.perf_counter() - began)
    conn.close()
    return statistics.median(times)


def check_one_row(peer: Peer, port: int, expected: list[Any]) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    got = predictions(post(conn, peer.path, peer.one_row, "application/json"))
    conn.close()
    if got != expected:
        raise RuntimeError(
            f"{peer.name} predicted {got} for the one row; the model says {expected}"
        )


def floor(model: Any, frame: Any) -> tuple[float, float]:
    """The model's own predict on one row: as an array, and as a DataFrame (median s)."""
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

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # fitted with feature names, called with an array
        return best(lambda: model.predict(array)), best(lambda: model.predict(one))
