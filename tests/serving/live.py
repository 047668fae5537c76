"""A real `knot serve` process for tests, stopped with SIGTERM like a deployment would."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.servers import free_port

KNOT = str(Path(sys.executable).parent / "knot")
REPO = Path(__file__).resolve().parents[2]


def knot_env() -> dict[str, str]:
    env = dict(os.environ)
    # the test models' classes must be importable, this checkout's src wins over any other
    # installed copy, and what was on the path stays there
    paths = (str(REPO / "src"), str(REPO), env.get("PYTHONPATH"))
    env["PYTHONPATH"] = os.pathsep.join(p for p in paths if p)
    return env


@contextmanager
def knot_serve(*args: str) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """`knot serve ARGS --port P`, yielded once /ready answers 200."""
    port = free_port()
    process = subprocess.Popen(
        [KNOT, "serve", *args, "--port", str(port)],
        env=knot_env(),
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group: a test can kill it with its workers
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"knot serve exited: {process.stdout.read()}")  # type: ignore[union-attr]
            try:
                if httpx.get(f"{url}/ready", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError("knot serve did not become ready in 120 s")
            time.sleep(0.05)
        yield url, process
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if process.stdout is not None:
            process.stdout.close()
