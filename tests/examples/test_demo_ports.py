"""The churn demo's servers take fixed ports from KNOT_DEMO_PORT_BASE, free ones without."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

DEMO = Path(__file__).resolve().parents[2] / "examples" / "churn"


def _ports(base: str | None) -> subprocess.CompletedProcess[str]:
    code = "from ports import SERVERS, port_for; print(*[port_for(s) for s in SERVERS])"
    env = {"PATH": "/usr/bin:/bin"} | ({"KNOT_DEMO_PORT_BASE": base} if base else {})
    return subprocess.run(
        [sys.executable, "-c", code], cwd=DEMO, env=env, capture_output=True, text=True
    )


def test_a_port_base_gives_each_server_its_own_port_from_the_base() -> None:
    done = _ports("9100")
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["9100", "9101", "9102", "9103", "9104"]
    free = _ports(None).stdout.split()
    assert len(free) == 5 and all(1024 <= int(p) <= 65535 for p in free)


@pytest.mark.parametrize("base", ["80", "70000", "nine"])
def test_a_bad_port_base_stops_the_demo_naming_it(base: str) -> None:
    done = _ports(base)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert f"KNOT_DEMO_PORT_BASE={base!r} is not a port base" in done.stderr
