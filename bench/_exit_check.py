"""bench/pipeline.py's exit check: a fresh process runs one cold chain and exits as a
script does; then, the process gone, how many of its steps each side has recorded.
Prefect's temporary API server stops with the process that started it, with its
task-run records still queued; Knot's records are committed before `run()` returns."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path
from typing import Any

from rich.table import Table

from _common import console
from _prefect_records import recorded_now

__all__ = ["exit_check", "print_exit_check"]

EXIT_SCRIPT = """
import sys
sys.path.insert(0, {bench!r})
from pipeline import knot_pipelines, prefect_environment, prefect_flows
side, start, steps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
if side == "knot":
    print(knot_pipelines(steps)[0](start).run_id)
else:
    from pathlib import Path
    prefect_environment(Path(sys.argv[4]))
    state = prefect_flows(steps)["chain"](start, return_state=True)
    print(state.state_details.flow_run_id)
"""


_KNOT_FINISHED_STEPS = "SELECT count(*) FROM runs WHERE parent_run_id = ? AND status = 'FINISHED'"


def exit_check(root: Path, steps: int, scripts: int) -> list[dict[str, Any]]:
    """Each side runs `scripts` fresh processes that run one cold chain and exit as a
    script does; then, the process gone, how many of its steps each side has recorded
    (Knot: step runs finished in its database; Prefect: task runs in a final state in
    its API database). Both sides start from a fresh home each time."""
    script = EXIT_SCRIPT.format(bench=str(Path(__file__).parent))
    found: list[dict[str, Any]] = []
    for i in range(scripts):
        for side in ("prefect", "knot"):
            home = root / f"exit-{side}-{i}"
            env = {**os.environ, "KNOT_HOME": str(home)}
            console.print(f"exit check: script {i + 1}/{scripts}, {side}", highlight=False)
            began = time.perf_counter()
            child = subprocess.run(
                [sys.executable, "-c", script, side, str(7_000_000 + i), str(steps), str(home)],
                env=env,
                capture_output=True,
                text=True,
                timeout=600,
                check=False,
            )
            took = time.perf_counter() - began
            lines = child.stdout.split()
            if child.returncode != 0 or not lines:
                raise RuntimeError(f"{side} script failed ({child.returncode}): {child.stderr}")
            run_id = lines[-1]
            if side == "knot":
                knot_db = f"file:{home / 'knot.db'}?mode=ro"
                with closing(sqlite3.connect(knot_db, uri=True)) as con:
                    (recorded,) = con.execute(_KNOT_FINISHED_STEPS, (run_id,)).fetchone()
            else:
                recorded = recorded_now(home / "prefect.db", run_id)
            tracebacks = child.stderr.count("Traceback (most recent call last)")
            found.append(
                {"side": side, "recorded": recorded, "seconds": took, "tracebacks": tracebacks}
            )
    return found


def print_exit_check(found: list[dict[str, Any]], steps: int) -> None:
    table = Table(
        title=f"A script that runs one cold {steps}-step chain and exits: steps recorded after"
    )
    for column in ("side", "scripts", f"steps recorded (of {steps})", "process s", "tracebacks"):
        table.add_column(column)
    for side in ("knot", "prefect"):
        mine = [f for f in found if f["side"] == side]
        if not mine:
            continue
        table.add_row(
            side,
            str(len(mine)),
            ", ".join(str(f["recorded"]) for f in mine),
            ", ".join(f"{f['seconds']:.1f}" for f in mine),
            ", ".join(str(f["tracebacks"]) for f in mine),
        )
    console.print(table)
