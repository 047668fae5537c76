"""Nothing acknowledged is lost: SIGKILL mid-run, and eight processes writing at once."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import knot

CRASHING_LOOP = textwrap.dedent(
    """
    import knot
    run = knot.start_run("crash", experiment="durability")
    print(run.run_id, flush=True)
    step = 0
    while True:
        for _ in range(997):
            run.log_metric("loss", step * 0.5, step=step)
            step += 1
        run.flush()
        print("flushed", step, flush=True)
    """
)


def test_sigkill_mid_run_keeps_every_flushed_point(knot_home: Path) -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", CRASHING_LOOP], stdout=subprocess.PIPE, text=True, env=os.environ
    )
    assert child.stdout is not None
    run_id = child.stdout.readline().strip()
    acknowledged = 0
    for line in child.stdout:
        acknowledged = int(line.split()[1])
        if acknowledged >= 20 * 997:
            break
    child.send_signal(signal.SIGKILL)
    rest, _ = child.communicate()
    for line in rest.splitlines():  # flushes that completed before the kill landed
        acknowledged = int(line.split()[1])
    assert child.returncode == -signal.SIGKILL

    db = knot_home / "knot.db"
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    knot.reset()
    run = knot.get_run(run_id)
    assert run.status is knot.RunStatus.RUNNING  # it never ended
    steps = [p.step for p in knot.get_metric_history(run_id, "loss")]
    assert len(steps) >= acknowledged
    assert steps[:acknowledged] == list(range(acknowledged))
    assert run.metrics["loss"].count == len(steps)


WRITER = textwrap.dedent(
    """
    import sys, knot
    worker = int(sys.argv[1])
    with knot.start_run(f"worker-{worker}", experiment="concurrent") as run:
        run.log_params({"worker": worker, "points": 20000})
        for step in range(20000):
            run.log_metric("loss", 1.0 / (step + 1), step=step)
            if step % 2500 == 0:
                run.flush()
    print(run.run_id)
    """
)


def test_eight_processes_log_to_one_sqlite_store_without_losing_points(knot_home: Path) -> None:
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(i)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=os.environ,
        )
        for i in range(8)
    ]
    results = [p.communicate(timeout=240) for p in procs]
    for proc, (_, err) in zip(procs, results, strict=True):
        assert proc.returncode == 0, err
        assert "locked" not in err
    runs = knot.search_runs(experiment="concurrent")
    assert len(runs) == 8
    for run in runs:
        assert run.status is knot.RunStatus.FINISHED
        assert run.metrics["loss"].count == 20000
        assert len(knot.get_metric_history(run.run_id, "loss")) == 20000
