"""A pipeline process killed (SIGKILL) in the middle of a step: every step that finished
before is recorded with its run and its cache entry, and resuming runs only the rest.

Each step's record, the end of its run and its cache entry commit in one transaction,
so what a step finished is durable before the next step starts: its output too, whether
inline in those rows (a small one) or a blob written before the commit (a large one).
Cache hits wait to commit together, but never past the start of a step's code: killed
there, an execution still has its hits recorded.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import knot

SCRIPT = textwrap.dedent(
    """
    import os, signal, sys
    from pathlib import Path

    import knot

    folder = Path(sys.argv[1])

    def called(name):
        with open(folder / "calls.txt", "a") as out:
            out.write(name + "\\n")

    @knot.step
    def first(n: int) -> int:
        called("first")
        return n + 1

    @knot.step
    def second(x: int) -> list:
        called("second")
        return [x * 10] * 5000  # past the inline limit: a blob

    @knot.step
    def third(x: list) -> int:
        called("third")
        if not (folder / "spare").exists():
            run = knot.active_run()
            (folder / "execution.txt").write_text(run.info.parent_run_id)
            os.kill(os.getpid(), signal.SIGKILL)
        return x[0] + 3

    @knot.pipeline(name="killed_etl")
    def etl(n: int):
        return third(second(first(n)))

    resume = sys.argv[2] if len(sys.argv) > 2 else None
    result = etl.run(4, resume=resume)
    print(result.output, " ".join(s.status for s in result.steps))
    """
)


def _run(script: Path, folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(script), str(folder), *args],
        capture_output=True,
        text=True,
        check=False,
    )


def test_a_killed_execution_keeps_its_finished_steps_and_resume_runs_the_rest(
    knot_home: Path, tmp_path: Path
) -> None:
    script = tmp_path / "killed_etl.py"
    script.write_text(SCRIPT)
    killed = _run(script, tmp_path)
    assert killed.returncode == -9, killed.stderr
    assert (tmp_path / "calls.txt").read_text() == "first\nsecond\nthird\n"
    execution = (tmp_path / "execution.txt").read_text()

    record = knot.get_pipeline_run(execution)
    assert [s.status for s in record.steps] == ["ran", "ran", "skipped"]
    for step in record.steps[:2]:
        assert knot.get_run(step.run_id or "").status.value == "FINISHED"
    blobs = knot_home / "artifacts" / "blobs" / "sha256"
    inline, blob = (s.output_digest or "" for s in record.steps[:2])
    assert not (blobs / inline[7:9] / inline[7:]).exists()  # in the step's rows only
    assert (blobs / blob[7:9] / blob[7:]).exists()

    # again, without resume: the first two are cache hits, the third is killed again
    hits = _run(script, tmp_path)
    assert hits.returncode == -9, hits.stderr
    assert (tmp_path / "calls.txt").read_text() == "first\nsecond\nthird\nthird\n"
    second = (tmp_path / "execution.txt").read_text()
    assert second != execution
    record = knot.get_pipeline_run(second)
    assert [s.status for s in record.steps] == ["cached", "cached", "skipped"]
    for step in record.steps[:2]:
        assert knot.get_run(step.run_id or "").status.value == "FINISHED"

    (tmp_path / "spare").touch()
    resumed = _run(script, tmp_path, second)
    assert resumed.returncode == 0, resumed.stderr
    assert resumed.stdout.split() == ["53", "cached", "cached", "ran"]
    # the finished steps ran once, in the first execution; only the killed one again
    assert (tmp_path / "calls.txt").read_text() == "first\nsecond\nthird\nthird\nthird\n"
