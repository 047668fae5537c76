"""Memory of a process tree, three ways: each resident page once, RSS summed, PSS summed.

Summed RSS counts a page that forked workers share once per worker; summed PSS splits
shared pages among all the processes that map them, including ones outside the tree (so
it reads low on a machine running other Python processes); counting each physical page
frame once (from /proc/PID/pagemap, which gives frame numbers only to root) is the memory
the tree really holds. `in_fresh_process` runs one worker of a benchmark script in a new
interpreter and reads the seconds and peak memory it reports.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from _servers import tree_pids

PAGE = os.sysconf("SC_PAGE_SIZE")


def _frames(pid: int) -> set[int] | None:
    """The physical page frames `pid` has resident (None without the rights to see them)."""
    import numpy as np

    frames: set[int] = set()
    try:
        maps = Path(f"/proc/{pid}/maps").read_text().splitlines()
        with open(f"/proc/{pid}/pagemap", "rb") as pagemap:
            for line in maps:
                start, end = (int(x, 16) for x in line.split()[0].split("-"))
                if start >= 1 << 47:  # [vsyscall]: not readable through pagemap
                    continue
                pagemap.seek(start // PAGE * 8)
                entries = np.frombuffer(pagemap.read((end - start) // PAGE * 8), dtype="<u8")
                present = entries[(entries >> np.uint64(63)) == 1]
                frames.update((present & np.uint64((1 << 55) - 1)).tolist())
    except OSError:
        return None
    return None if frames == {0} else frames  # frame numbers read as 0 without CAP_SYS_ADMIN


def tree_memory(pid: int) -> dict[str, float]:
    """MiB for `pid` and its descendants: RSS and PSS summed over the processes, and
    (with the rights to read page frames) `unique`, each resident page of the tree once."""
    rss = pss = 0
    frames: set[int] | None = set()
    for p in tree_pids(pid):
        try:
            text = Path(f"/proc/{p}/smaps_rollup").read_text()
        except OSError:
            continue
        for line in text.splitlines():
            if line.startswith("Rss:"):
                rss += int(line.split()[1])
            elif line.startswith("Pss:"):
                pss += int(line.split()[1])
        mine = _frames(p)
        frames = None if frames is None or mine is None else frames | mine
    out = {"rss": rss / 1024, "pss": pss / 1024}
    if frames is not None:
        out["unique"] = len(frames) * PAGE / 2**20
    return out


def in_fresh_process(script: str, worker: str, arg: Path, timeout: float) -> dict[str, Any]:
    """Run `script --worker WORKER ARG` in a fresh interpreter: the JSON object on its last
    stdout line, or {"error": its last stderr line} when it failed."""
    proc = subprocess.run(
        # -P: bench/ is not put on sys.path, so bench scripts never shadow a library
        [sys.executable, "-P", script, "--worker", worker, str(arg)],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parent.parent,
        timeout=timeout,
    )
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return {"error": tail[:160]}
    got: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return got
