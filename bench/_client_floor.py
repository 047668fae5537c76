"""The client's own cost per scenario, and what is left for a server to win.

The replay server (_replay.py) answers every request with the body Knot gave and does no
work, so the MLflow client timed against it spends only its own time: building requests,
HTTP over loopback, parsing answers. That time is in both servers' numbers too, so:

    server-side speedup  = (mlflow - floor) / (knot - floor)
    best end-to-end      = mlflow / floor   (a server that took no time at all)

When `best end-to-end` is under the goal, no server can reach the goal for that scenario.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rich.table import Table

from _common import console
from _servers import Server, free_port, run_server

FLOOR = "floor"
REPLAY = Path(__file__).with_name("_replay.py")


@contextmanager
def replay_of(upstream: Server, home: Path, env: dict[str, str]) -> Iterator[Server]:
    """A replay server recording from `upstream` (until freeze())."""
    port = free_port()
    cmd = [sys.executable, str(REPLAY), str(port), upstream.url]
    with run_server(FLOOR, cmd, port, home, env) as server:
        yield server


def record(server: Server, scenarios: dict[str, Callable[[], object]]) -> dict[str, int]:
    """Run each scenario once through the recording replay server, then freeze it; returns
    the requests each route got while recording."""
    for scenario in scenarios.values():
        scenario()
    freeze = urllib.request.Request(f"{server.url}/__replay__/freeze", method="POST")
    with urllib.request.urlopen(freeze, timeout=30) as resp:
        calls: dict[str, int] = json.loads(resp.read())
    return calls


def calls_per_route(server: Server) -> dict[str, int]:
    """The requests per route since the last call (replayed ones too)."""
    with urllib.request.urlopen(f"{server.url}/__replay__/calls", timeout=30) as resp:
        calls: dict[str, int] = json.loads(resp.read())
    return calls


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:,.1f} ms" if seconds < 1 else f"{seconds:,.2f} s"


def floor_rows(times: dict[str, dict[str, list[float]]], labels: dict[str, str]) -> list[Any]:
    """One dict per scenario: the medians, the floor and the ratios."""
    rows = []
    for key, sides in times.items():
        if not all(sides.get(s) for s in ("mlflow", "knot", FLOOR)):
            continue
        mlflow, knot, floor = (statistics.median(sides[s]) for s in ("mlflow", "knot", FLOOR))
        server_speedup = (mlflow - floor) / (knot - floor) if knot > floor else None
        rows.append(
            {
                "scenario": labels[key],
                "mlflow_s": mlflow,
                "knot_s": knot,
                "floor_s": floor,
                "floor_min_s": min(sides[FLOOR]),
                "floor_max_s": max(sides[FLOOR]),
                "end_to_end": mlflow / knot,
                "server_side": server_speedup,
                "best_possible": mlflow / floor,
            }
        )
    return rows


def print_floor(rows: list[dict[str, Any]], goal: float, load: str) -> None:
    table = Table(
        title="What the server can win: the client's own time (replay server) taken out",
        title_justify="left",
    )
    for name in (
        "scenario",
        "mlflow",
        "knot",
        "client floor",
        "end to end",
        "server side",
        "best possible",
    ):
        table.add_column(name, justify="left" if name == "scenario" else "right")
    for r in rows:
        side = "-" if r["server_side"] is None else f"{r['server_side']:,.1f}x"
        best = f"{r['best_possible']:,.1f}x"
        if r["best_possible"] < goal:
            best = f"[red]{best}[/]"
        table.add_row(
            r["scenario"],
            _ms(r["mlflow_s"]),
            _ms(r["knot_s"]),
            _ms(r["floor_s"]),
            f"{r['end_to_end']:,.1f}x",
            side,
            best,
        )
    console.print(table)
    console.print(
        "  [dim]client floor: the same client code against a server that replays Knot's "
        "answers and does no work; server side = (mlflow - floor) / (knot - floor); "
        "best possible = mlflow / floor (a server taking no time)[/]"
    )
    for r in rows:
        if r["best_possible"] < goal:
            console.print(
                f"  [yellow]{r['scenario']}: {goal:g}x end to end is out of reach for any "
                f"server: {goal:g} x the floor {_ms(r['floor_s'])} = "
                f"{_ms(goal * r['floor_s'])} > mlflow's {_ms(r['mlflow_s'])}[/]"
            )
    console.print(f"  [dim]load average (1, 5, 15 min) before / after: {load}[/]")


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())
