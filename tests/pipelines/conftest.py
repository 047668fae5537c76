"""Fixtures for the pipeline tests: a real local Ray cluster, started once per session.

The head runs `ray start --head --block` in a process group of its own on 127.0.0.1,
with 2 CPUs and a small object store; at the end that group (and only it) is stopped,
so no other Ray on the machine is touched (which `ray stop` would do).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers import free_port, wait_for_port

# Set before Ray is first imported (it reads them once), for this process and the head:
# - Ray replaces 127.0.0.1 in an address by the machine's network address; this switch
#   (Ray's single-machine mode) keeps the driver, the head and the workers on loopback;
# - token authentication with a token of this test session, never ~/.ray/auth_token.
os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
os.environ["RAY_AUTH_MODE"] = "token"
os.environ["RAY_AUTH_TOKEN"] = secrets.token_hex(32)
os.environ.pop("RAY_AUTH_TOKEN_PATH", None)


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[str]:
    """The address (127.0.0.1:PORT) of a running local Ray head node."""
    try:
        import ray  # noqa: F401
    except ImportError:
        pytest.skip("Ray is not installed here (pip install 'knot[ray]'; the dev extra has it)")
    ray_bin = Path(sys.executable).parent / "ray"
    if not ray_bin.exists():
        pytest.skip(f"the ray command is missing next to {sys.executable}")
    port = free_port()
    temp = tempfile.mkdtemp(prefix="ray", dir="/tmp")  # short: Ray's socket paths have a limit
    log = open(Path(temp) / "head.log", "wb")  # noqa: SIM115  (closed at teardown)
    env = dict(os.environ, RAY_USAGE_STATS_ENABLED="0")
    process = subprocess.Popen(
        [
            str(ray_bin),
            "start",
            "--head",
            "--block",
            f"--port={port}",
            "--node-ip-address=127.0.0.1",
            "--num-cpus=2",
            "--include-dashboard=false",
            "--object-store-memory=100000000",
            f"--temp-dir={temp}",
            "--disable-usage-stats",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
        start_new_session=True,
    )
    try:
        wait_for_port("127.0.0.1", port, timeout=120)
        yield f"127.0.0.1:{port}"
    finally:
        _stop_group(process)
        log.close()
        shutil.rmtree(temp, ignore_errors=True)


def _stop_group(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM the head (it stops the daemons it started), then SIGKILL what is left of
    its process group."""
    group = process.pid  # start_new_session: the group id is the head's pid
    process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 30.0
    while time.monotonic() < deadline:
        process.poll()
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            return
        time.sleep(0.2)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(group, signal.SIGKILL)
    process.wait(timeout=10)
