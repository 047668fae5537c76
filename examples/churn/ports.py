"""The ports of the servers the demo starts. Free ones by default; with
KNOT_DEMO_PORT_BASE=N (e.g. `make demo PORT_BASE=9100`) each server takes a fixed port
from N up, so a firewall or a port already in use can be worked around."""

from __future__ import annotations

import os
import socket

#: each server the demo starts, in the order of its port from the base
SERVERS = ("server", "registry", "kit", "canary", "live")
BASE_ENV = "KNOT_DEMO_PORT_BASE"


def port_for(server: str) -> int:
    """The port of `server` (one of SERVERS)."""
    base = os.environ.get(BASE_ENV, "").strip()
    if not base:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            return int(sock.getsockname()[1])
    if not base.isdigit() or not 1024 <= int(base) <= 65535 - len(SERVERS):
        raise SystemExit(
            f"{BASE_ENV}={base!r} is not a port base; give a number from 1024 to "
            f"{65535 - len(SERVERS)} (the demo uses {len(SERVERS)} ports from it)"
        )
    return int(base) + SERVERS.index(server)
