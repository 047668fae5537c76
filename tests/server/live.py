"""Start a real `knot server` process for tests: `with live_server(store, artifacts) as url`.

The server is started through the CLI entry point with --port 0, so the OS picks a free
port and nothing races for it; the URL comes from the server's startup line, and the
context manager returns only once GET /health answers 200.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import httpx

__all__ = ["LiveServer", "live_server", "start_server"]

_LISTENING = re.compile(r"knot server listening on (http://\S+)")


@dataclass
class LiveServer:
    """A running `knot server` subprocess and what it printed."""

    process: subprocess.Popen[str]
    url: str = ""
    output: list[str] = field(default_factory=list)

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM, then SIGKILL if it does not exit in `timeout` seconds."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, as in a crash or an OOM kill."""
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait()


def start_server(
    store_uri: str,
    artifacts_uri: str,
    *,
    workers: int = 1,
    timeout: float = 30.0,
    env: dict[str, str] | None = None,
    port: int = 0,
) -> LiveServer:
    """Start `knot server` and wait until /health is 200; the caller must stop() it.
    `port` 0 lets the OS pick one; a restart passes the port the first start got."""
    command = [
        sys.executable,
        "-c",
        "from knot.cli import main; main()",
        "server",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--store",
        store_uri,
        "--artifacts",
        artifacts_uri,
        "--workers",
        str(workers),
    ]
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
    )
    server = LiveServer(process)
    found = threading.Event()

    def read() -> None:
        # drain the pipe for the server's whole life, so it never blocks on a full pipe
        assert process.stdout is not None
        for line in process.stdout:
            server.output.append(line.rstrip("\n"))
            match = _LISTENING.search(line)
            if match and not found.is_set():
                server.url = match.group(1)
                found.set()
        found.set()

    threading.Thread(target=read, name="knot-server-output", daemon=True).start()
    deadline = time.monotonic() + timeout
    try:
        found.wait(timeout)
        while True:
            if process.poll() is not None:
                raise RuntimeError(_failure(f"exited with code {process.returncode}", server))
            if server.url and _healthy(server.url):
                return server
            if time.monotonic() > deadline:
                raise TimeoutError(_failure(f"not healthy after {timeout}s", server))
            time.sleep(0.02)
    except BaseException:
        server.stop()
        raise


def _healthy(url: str) -> bool:
    try:
        return httpx.get(url + "/health", timeout=2.0).status_code == 200
    except httpx.TransportError:
        return False


def _failure(what: str, server: LiveServer) -> str:
    time.sleep(0.1)  # let the reader thread collect the last lines
    shown = "\n".join(server.output[-40:])
    return f"knot server {what}; its output:\n{shown}"


@contextmanager
def live_server(store_uri: str, artifacts_uri: str, *, workers: int = 1) -> Iterator[str]:
    """A real `knot server` on 127.0.0.1 for the duration of the block; yields its base URL."""
    server = start_server(store_uri, artifacts_uri, workers=workers)
    try:
        yield server.url
    finally:
        server.stop()
