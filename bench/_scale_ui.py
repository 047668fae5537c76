"""The web UI's runs page over the scale store: a live `knot server` on it, and the time
to first byte of an experiment's runs table (first page, sorted by a metric, filtered).

The page is rendered whole before it is sent, so the first byte arrives when the server
has done all its work; the rest is the transfer of ~100 KiB over loopback.
"""

from __future__ import annotations

import hashlib
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

import httpx

from _common import Result
from _scale_cpu import cpu_ms_per_call, describe
from _scale_fill import EXPERIMENTS
from _servers import free_port, run_server

__all__ = ["PAGE_GOAL_S", "ui_pages"]

PAGE_GOAL_S = 0.3  # issue #16's goal for the runs table's first page, server time
PAGES = {
    "first page": "",
    "sorted by a metric": "?order=" + quote("metrics.auc DESC"),
    "filtered": "?filter=" + quote("metrics.auc > 0.9 and params.model = 'lgbm'"),
}


def first_byte_s(client: httpx.Client, url: str) -> float:
    """Seconds until the first byte of the body arrived (the whole body is then read)."""
    began = time.perf_counter()
    with client.stream("GET", url) as response:
        response.raise_for_status()
        chunks = response.iter_raw()
        next(chunks)
        seconds = time.perf_counter() - began
        for _ in chunks:
            pass
    return seconds


def ui_pages(uri: str, runs: int, rounds: int, postgres: int | None) -> list[Result]:
    """p50 time to first byte of each runs page, each round on the next experiment, and
    the CPU per page of the server and of PostgreSQL."""
    port = free_port()
    knot = str(Path(sys.executable).parent / "knot")
    results = []
    with tempfile.TemporaryDirectory(prefix="knot-bench-scale-") as tmp:
        work = Path(tmp)
        command = [knot, "server", "--port", str(port), "--store", uri]
        command += ["--artifacts", f"file://{work / 'artifacts'}"]
        with (
            run_server("scale-ui", command, port, work, dict(os.environ)) as server,
            httpx.Client(timeout=120) as client,
        ):
            servers = {"knot server": server.proc.pid, "PostgreSQL": postgres}
            first_bytes: dict[str, list[float]] = {name: [] for name in PAGES}
            for name, query in PAGES.items():

                def page(i: int, name: str = name, query: str = query) -> None:
                    experiment = hashlib.md5(f"exp{1 + i % EXPERIMENTS}".encode()).hexdigest()
                    url = f"{server.url}/ui/experiments/{experiment}{query}"
                    first_bytes[name].append(first_byte_s(client, url))

                page(0)  # warm: the server's connections and templates
                first_bytes[name].clear()
                _, used = cpu_ms_per_call(page, rounds, servers)
                value = statistics.median(first_bytes[name])
                results.append(
                    Result(
                        f"UI runs page, {name} (time to first byte)",
                        "s",
                        False,
                        knot=value,
                        n_knot=runs,
                        goal_abs=PAGE_GOAL_S,
                        note=describe(used),
                    )
                )
                print(f"  UI runs page, {name}: p50 {value * 1000:.1f} ms", flush=True)
    return results
