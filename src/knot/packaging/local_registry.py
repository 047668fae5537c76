"""Start and stop a throwaway OCI registry (Debian's `docker-registry`, the CNCF
distribution server) on 127.0.0.1, for tests, benchmarks and the demo."""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from knot.errors import Unavailable

__all__ = ["find_registry_binary", "local_registry"]

_CONFIG = """\
version: 0.1
log:
  level: error
storage:
  filesystem:
    rootdirectory: {root}
  delete:
    enabled: true
http:
  addr: 127.0.0.1:{port}
"""
_AUTH = """\
auth:
  htpasswd:
    realm: knot
    path: {path}
"""


def find_registry_binary() -> str | None:
    """The `docker-registry` (or upstream `registry`) binary on PATH, if installed."""
    return shutil.which("docker-registry") or shutil.which("registry")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def local_registry(
    root: Path | None = None,
    *,
    htpasswd: Path | None = None,
    auth_yaml: str | None = None,
    timeout: float = 30.0,
    port: int | None = None,
) -> Iterator[str]:
    """Run a registry storing blobs under `root` (a temp folder if None), without auth
    unless an `htpasswd` file (bcrypt) or an `auth:` section of its config is given;
    yields its address `127.0.0.1:PORT` (a free port unless `port` is given) and stops
    it on exit."""
    binary = find_registry_binary()
    if binary is None:
        raise Unavailable(
            "no OCI registry binary found: install Debian's docker-registry "
            "(apt-get install docker-registry) or put `registry` on PATH"
        )
    with tempfile.TemporaryDirectory(prefix="knot-registry-") as tmp:
        storage = root or Path(tmp) / "storage"
        port = port or _free_port()
        config = Path(tmp) / "config.yml"
        auth = _AUTH.format(path=htpasswd) if htpasswd else (auth_yaml or "")
        config.write_text(_CONFIG.format(root=storage, port=port) + auth)
        log = (Path(tmp) / "registry.log").open("wb")
        process = subprocess.Popen([binary, "serve", str(config)], stdout=log, stderr=log)
        address = f"127.0.0.1:{port}"
        try:
            _wait(process, address, Path(tmp) / "registry.log", timeout)
            yield address
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            log.close()


def _wait(process: subprocess.Popen[bytes], address: str, log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise Unavailable(
                f"docker-registry exited with code {process.returncode}: "
                f"{log.read_text(errors='replace')[-500:]}"
            )
        try:
            if httpx.get(f"http://{address}/v2/", timeout=1).status_code in (200, 401):
                return
        except httpx.TransportError:
            time.sleep(0.05)
    raise Unavailable(f"docker-registry did not answer on {address} within {timeout:.0f}s")
