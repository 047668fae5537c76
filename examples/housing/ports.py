"""The ports of the two services the housing demo starts: free ones, or with
KNOT_DEMO_PORT_BASE=N (as for the churn demo) N for the kit and N+1 for the live one."""

from __future__ import annotations

import os
import socket

SERVICES = ("kit", "live")


def port_for(service: str) -> int:
    base = os.environ.get("KNOT_DEMO_PORT_BASE", "").strip()
    if base.isdigit() and 1024 <= int(base) < 65535:
        return int(base) + SERVICES.index(service)
    if base:
        raise SystemExit(f"KNOT_DEMO_PORT_BASE={base!r} is not a port base; give 1024 to 65534")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
