"""When Prefect has recorded a flow's task runs: its API server writes them from events
after the flow has returned, so a flow's return is not yet the record of its steps.

Knot commits each step's record before `run()` returns; this gives Prefect's equivalent
moment: the time its API database holds every task run of the flow run in a final
state. It reads that SQLite file directly (read-only, every POLL_S), so the wait costs
Prefect's server nothing.
"""

from __future__ import annotations

import os
import sqlite3
import time
from contextlib import closing
from pathlib import Path
from uuid import UUID

__all__ = ["POLL_S", "recorded_after", "recorded_now"]

POLL_S = 0.01
_FINAL = ("COMPLETED", "FAILED", "CRASHED", "CANCELLED")
_DONE = (
    "SELECT count(*) FROM task_run WHERE flow_run_id = ? "
    f"AND state_type IN ({', '.join(repr(s) for s in _FINAL)})"
)


def database() -> Path:
    """The API database of the ephemeral server (PREFECT_HOME/prefect.db)."""
    return Path(os.environ["PREFECT_HOME"]) / "prefect.db"


def recorded_after(flow_run_id: UUID, tasks: int, began: float, limit: float = 120.0) -> float:
    """Seconds from `began` (perf_counter) until `tasks` task runs of the flow run are
    recorded in a final state; raises when that takes more than `limit` seconds."""
    with closing(sqlite3.connect(f"file:{database()}?mode=ro", uri=True, timeout=30)) as con:
        while True:
            (done,) = con.execute(_DONE, (str(flow_run_id),)).fetchone()
            now = time.perf_counter()
            if done >= tasks:
                return now - began
            if now - began > limit:
                raise RuntimeError(f"Prefect recorded {done} of {tasks} task runs in {limit:.0f} s")
            time.sleep(POLL_S)


def recorded_now(database: Path, flow_run_id: str) -> int:
    """How many task runs of the flow run `database` (a Prefect API database) holds in a
    final state now."""
    with closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=30)) as con:
        (done,) = con.execute(_DONE, (flow_run_id,)).fetchone()
    return int(done)
