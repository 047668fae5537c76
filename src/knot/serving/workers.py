"""Running `knot serve`: one worker in this process, or several forked from it.

One worker serves in this process and loads its model in the background (/health
answers at once, /ready once the model is warm). Several workers start from one loaded
copy: this process loads the champion, binds the port and forks the workers, which share
the model's memory (copy-on-write; `gc.freeze` keeps the collector from writing to it)
and are ready as soon as they start, instead of each importing and loading everything
again. They accept on the one listening socket. Their metrics go to a folder made for
this service (removed when it stops), so /metrics on any worker counts all of them.
SIGTERM or SIGINT is passed on as SIGTERM: each worker drains the requests it holds,
writes its prediction log and exits. A worker that dies otherwise is replaced by one
that loads the model itself, since the copy here may be out of date by then.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import logging
import os
import shutil
import signal
import socket
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

from knot.errors import Invalid
from knot.serving.config import ServeConfig
from knot.serving.sources import Plan

__all__ = ["GRACEFUL_SECONDS", "serve"]

log = logging.getLogger("knot.serving")
GRACEFUL_SECONDS = 30  # longest a stopping worker waits for its in-flight requests
_RESPAWN_AFTER_S = 1.0  # pause before replacing a worker that died young
_YOUNG_S = 5.0
_STOP_SIGNALS = {signal.SIGTERM, signal.SIGINT}


def serve(
    config: ServeConfig, *, host: str, port: int, workers: int, plan: Plan | None = None
) -> None:
    """Serve `config` on host:port with `workers` processes until SIGTERM or SIGINT.
    `plan`: its references parsed, and the champion resolved, once (here when not
    given): one that is malformed or names nothing raises before anything listens."""
    from knot.serving.memory import keep_memory_low

    plan = plan or Plan.parse(config.model, config.challenger, resolve=True)
    keep_memory_low()
    config = config.model_copy(update={"workers": workers})
    if workers == 1:
        import uvicorn

        from knot.serving.app import create_app
        from knot.serving.one_write import http_protocol

        app = create_app(config, plan)
        # once the model is loaded, what the process holds stays: the collector's full
        # passes would walk it again and again under load (a few % of the CPU)
        app.state.service.on_ready = gc.freeze
        uvicorn.run(
            app,
            host=host,
            port=port,
            http=http_protocol(),
            log_level="warning",
            access_log=False,  # never shown at "warning"; its arguments were made per request
            timeout_graceful_shutdown=GRACEFUL_SECONDS,
        )
        return
    folder = Path(tempfile.mkdtemp(prefix="knot-metrics-"))
    try:
        from knot.serving.metrics import use_multiprocess

        use_multiprocess(folder)
        with _listen(host, port) as sock:
            _preload(plan)
            _Supervisor(config, plan, sock, workers).run()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _preload(plan: Plan) -> None:
    """Load the champion here, once, for the workers to inherit. A model that fails to
    load is left to the workers, which report why on /ready."""
    import knot.serving.app  # noqa: F401 - imported before the fork, so the workers share it
    from knot.serving.sources import load_source, preload
    from knot.tracking.fluent import reset

    try:
        preload(plan.model, load_source(plan.model, plan.version))
    except Exception as exc:
        log.warning("could not preload %s (%s); each worker loads it", plan.model, exc)
    reset()  # no store connection or writer thread crosses the fork


@contextlib.contextmanager
def _listen(host: str, port: int) -> Iterator[socket.socket]:
    """A listening TCP socket the workers inherit, closed on exit."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            raise Invalid(
                f"cannot listen on {host}:{port} ({exc.strerror}); pass another --port or "
                "--host, or stop what uses it",
                field="port",
            ) from None
        sock.listen(2048)  # connections wait here until a worker accepts them
        sock.set_inheritable(True)
        yield sock


class _Supervisor:
    def __init__(self, config: ServeConfig, plan: Plan, sock: socket.socket, workers: int) -> None:
        self.config = config
        self.plan = plan
        self.sock = sock
        self.workers = workers
        self.children: dict[int, float] = {}  # pid -> when it started
        self.stopping = False

    def run(self) -> None:
        for sig in _STOP_SIGNALS:
            signal.signal(sig, self._on_signal)
        gc.freeze()  # what is loaded now stays shared with the workers
        for _ in range(self.workers):
            if not self.stopping:
                self._fork()
        from knot.serving.sources import forget_preloaded

        forget_preloaded()
        # a worker started from now on resolves the champion itself: it may have moved
        self.plan = dataclasses.replace(self.plan, version=None)
        while self.children:
            try:
                pid, status = os.wait()
            except ChildProcessError:
                break
            started = self.children.pop(pid, None)
            if started is None:
                continue
            from knot.serving.metrics import worker_exited

            worker_exited(pid)
            if not self.stopping:
                code = os.waitstatus_to_exitcode(status)
                log.warning("worker %d exited (%d); starting another", pid, code)
                if time.monotonic() - started < _YOUNG_S:
                    time.sleep(_RESPAWN_AFTER_S)
                if not self.stopping:
                    self._fork()

    def _on_signal(self, sig: int, frame: FrameType | None) -> None:
        self.stopping = True
        for pid in self.children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)

    def _fork(self) -> None:
        # Stop signals wait until the child has dropped this process's handlers and the
        # parent knows the child's pid (a signal pending at fork is not the child's).
        signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
        try:
            pid = os.fork()
            if pid == 0:
                _worker(self.config, self.plan, self.sock)  # never returns
            self.children[pid] = time.monotonic()
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)


def _worker(config: ServeConfig, plan: Plan, sock: socket.socket) -> None:
    code = 1
    try:
        for sig in _STOP_SIGNALS:
            signal.signal(sig, signal.SIG_DFL)  # uvicorn installs its own, then re-raises
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)
        import uvicorn

        from knot.serving.app import create_app
        from knot.serving.one_write import http_protocol

        server = uvicorn.Server(
            uvicorn.Config(
                create_app(config, plan),
                http=http_protocol(),
                log_level="warning",
                access_log=False,
                timeout_graceful_shutdown=GRACEFUL_SECONDS,
            )
        )
        server.run(sockets=[sock])
        code = 0
    except BaseException:
        log.exception("worker %d failed", os.getpid())
    finally:
        os._exit(code)
