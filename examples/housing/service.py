"""`knot serve` in a subprocess, as the demo's steps start it, and `knot` commands."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
from ports import port_for

_INSTALLED = Path(sys.executable).parent / "knot"
# the narration of knot commands in lines of 160 characters, not wrapped at 80
WIDE = {**os.environ, "COLUMNS": "160"}
KNOT = (
    [str(_INSTALLED)]
    if _INSTALLED.exists()
    else [sys.executable, "-c", "from knot.cli import main; main()"]
)


def knot_command(*args: str, cwd: Path | None = None) -> str:
    """Run `knot ARGS`; its output, or SystemExit with it when it fails."""
    done = subprocess.run(
        [*KNOT, *args], cwd=cwd, env=WIDE, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"knot {' '.join(args)} exited {done.returncode}:\n{done.stderr}")
    return done.stdout + done.stderr


class Service:
    """`knot serve TARGET` on the port of `role` (see ports.py) until the block ends."""

    def __init__(self, target: str, role: str, *options: str) -> None:
        port = port_for(role)
        self.url = f"http://127.0.0.1:{port}"
        self.command = [*KNOT, "serve", target, "--port", str(port), *options]
        self.client = httpx.Client(base_url=self.url, timeout=60)
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> Service:
        """Start the service without waiting for it (it loads while the caller works on)."""
        if self._process is None:
            self._started = time.perf_counter()
            self._process = subprocess.Popen(self.command, stdout=subprocess.DEVNULL)
        return self

    def __enter__(self) -> Service:
        self.start()
        assert self._process is not None
        started = self._started
        while self._process.poll() is None and time.perf_counter() - started < 300:
            try:
                if self.client.get("/ready").status_code == 200:
                    self.ready_seconds = time.perf_counter() - started
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        self.__exit__()
        raise SystemExit(f"{' '.join(self.command)} did not become ready; run it to see why")

    def __exit__(self, *exc: object) -> None:
        self.client.close()
        if self._process is not None:
            self._process.send_signal(signal.SIGTERM)  # drains, writes the prediction log
            self._process.wait(timeout=60)
