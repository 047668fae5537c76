"""Start a tracking server as a subprocess, time it until healthy, sample its memory, stop it.

Memory is the resident set summed over the whole process tree (a server that forks workers
and job runners is charged for all of them), sampled in the background; the peak is kept.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _children_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        # the command name sits in parentheses and may hold spaces; ppid follows the state
        ppid = int(text.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(stat.parent.name))
    return children


def tree_pids(pid: int) -> list[int]:
    """pid and all its descendants (psutil if installed, else a scan of /proc)."""
    try:
        import psutil
    except ImportError:
        children = _children_map()
        out, i = [pid], 0
        while i < len(out):
            out.extend(children.get(out[i], []))
            i += 1
        return out
    try:
        proc = psutil.Process(pid)
        return [pid, *(c.pid for c in proc.children(recursive=True))]
    except psutil.Error:
        return []


def _rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _cpu_ticks(pid: int) -> int:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])  # utime + stime
    except (OSError, IndexError):
        return 0


def tree_ticks(pid: int | None = None) -> int:
    """CPU clock ticks (user + system) used so far by `pid` (default: this process) and
    its descendants; os.sysconf("SC_CLK_TCK") of them make a second."""
    return sum(_cpu_ticks(p) for p in tree_pids(os.getpid() if pid is None else pid))


def wait_idle(pid: int, busy: float = 0.1, limit: float = 120) -> float:
    """Wait (at least 1 s) until the tree used under `busy` of a core over 1 s; seconds waited."""
    hz = os.sysconf("SC_CLK_TCK")
    started = time.perf_counter()
    while time.perf_counter() - started < limit:
        before = sum(_cpu_ticks(p) for p in tree_pids(pid))
        time.sleep(1)
        if sum(_cpu_ticks(p) for p in tree_pids(pid)) - before < busy * hz:
            break
    return time.perf_counter() - started


def tree_rss(pid: int) -> tuple[float, int]:
    """(resident MB summed over the tree, number of processes)."""
    pids = tree_pids(pid)
    return sum(_rss_kb(p) for p in pids) / 1024, len(pids)


@dataclass
class Server:
    name: str
    proc: subprocess.Popen[bytes]
    url: str
    log: Path
    ready_s: float = 0.0
    settle_s: float = 0.0  # after healthy, until the tree's CPU use went quiet
    peak_mb: float = 0.0
    peak_procs: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)

    def sample(self) -> None:
        mb, procs = tree_rss(self.proc.pid)
        if mb > self.peak_mb:
            self.peak_mb, self.peak_procs = mb, procs

    def _sampler(self) -> None:
        while not self._stop.wait(0.25):
            self.sample()

    def log_tail(self, chars: int = 1500) -> str:
        try:
            return self.log.read_text(errors="replace")[-chars:]
        except OSError:
            return ""


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            return bool(resp.status == 200)
    except OSError:
        return False


@contextlib.contextmanager
def run_server(
    name: str, cmd: list[str], port: int, workdir: Path, env: dict[str, str], timeout: float = 180
) -> Iterator[Server]:
    """Start `cmd`, wait for GET /health == 200, yield the Server, then stop its process group."""
    workdir.mkdir(parents=True, exist_ok=True)
    log = workdir / f"{name}-server.log"
    with log.open("wb") as out:
        started = time.perf_counter()
        proc = subprocess.Popen(
            cmd, cwd=workdir, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    server = Server(name, proc, f"http://127.0.0.1:{port}", log)
    sampler = threading.Thread(target=server._sampler, daemon=True)
    try:
        while not _healthy(f"{server.url}/health"):
            if proc.poll() is not None:
                raise RuntimeError(f"{name} server exited ({proc.returncode}): {server.log_tail()}")
            if time.perf_counter() - started > timeout:
                raise RuntimeError(f"{name} server not healthy after {timeout:.0f} s")
            time.sleep(0.02)
        server.ready_s = time.perf_counter() - started
        server.sample()
        sampler.start()
        server.settle_s = wait_idle(proc.pid)  # job runners etc. may still be starting up
        yield server
    finally:
        server._stop.set()
        if sampler.is_alive():
            sampler.join()
        _stop(proc)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    leftovers = {pid: _start_time(pid) for pid in tree_pids(proc.pid)}
    with contextlib.suppress(ProcessLookupError):  # its own group: it ran in a new session
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)
    deadline = time.monotonic() + 15  # children may still be shutting down
    while time.monotonic() < deadline and any(_alive(p, t) for p, t in leftovers.items()):
        time.sleep(0.1)
    for pid, started in leftovers.items():  # descendants still there: kill them by pid
        if _alive(pid, started):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)


def _start_time(pid: int) -> str | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def _alive(pid: int, started: str | None) -> bool:
    """The same process (not a reused pid) is still running (not a zombie)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return False
    return started is not None and fields[19] == started and fields[0] != "Z"
