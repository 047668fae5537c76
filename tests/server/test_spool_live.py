"""Points logged while `knot server` is down are spooled, not dropped, and arrive exactly
once when it is back: from the same process, from the next client for the store, or from
`knot runs sync`; a batch whose answer was lost is sent again and written once. The server
is a real process, killed with SIGKILL and restarted on the same port and store. Nothing
here waits a fixed time: it waits for conditions."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import textwrap
import time
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

import orjson
import pytest

import knot
from knot.client.rest_store import RestTrackingStore
from knot.errors import Conflict
from knot.tracking import fluent
from knot.tracking.entities import RunStatus
from tests.server.live import LiveServer, start_server
from tests.server.lossy_proxy import LossyProxy

pytestmark = pytest.mark.server

KNOT = str(Path(sys.executable).parent / "knot")
DEADLINE = 180.0  # seconds: a bound for a broken build, not a measure of speed


class Restartable:
    """One `knot server` over one store, killed and started again on the same port."""

    def __init__(self, root: Path) -> None:
        self.store = f"sqlite:///{root / 'knot.db'}"
        self.artifacts = f"file://{root / 'artifacts'}"
        self.server: LiveServer = start_server(self.store, self.artifacts)
        self.url = self.server.url
        self.port = int(self.url.rsplit(":", 1)[1])

    def kill(self) -> None:
        self.server.kill()

    def start(self) -> None:
        if self.server.process.poll() is None:
            return
        self.server = start_server(self.store, self.artifacts, port=self.port)
        assert self.server.url == self.url

    def client(self) -> RestTrackingStore:
        return RestTrackingStore(self.url)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Restartable]:
    restartable = Restartable(tmp_path_factory.mktemp("spool-server"))
    yield restartable
    restartable.server.stop()


@pytest.fixture
def remote_home(knot_home: Path, server: Restartable, monkeypatch: pytest.MonkeyPatch) -> Path:
    server.start()  # a test that failed half-way may have left it down
    monkeypatch.setenv("KNOT_STORE", server.url)
    knot.reset()
    return knot_home


def wait_until(what: str, condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + DEADLINE
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"still not true after {DEADLINE}s: {what}")
        time.sleep(0.05)


def spooled_points(home: Path) -> list[tuple[str, int]]:
    """(key, step) of every metric point in the spool files under `home`, read with the
    documented format: `<crc32 hex> <json>` per line, the checksum over the JSON."""
    points = []
    for path in sorted((home / "spool").glob("*/*.spool")):
        for line in path.read_bytes().splitlines():
            crc, data = line.split(b" ", 1)
            assert int(crc, 16) == zlib.crc32(data)
            points += [(m[1], m[3]) for m in orjson.loads(data)["metrics"]]
    return points


def spool_files(home: Path) -> list[Path]:
    return list((home / "spool").glob("*/*.spool"))


def steps(server: Restartable, run_id: str, key: str = "loss") -> list[int]:
    client = server.client()
    try:
        return [p.step for p in client.get_metric_history(run_id, key)]
    finally:
        client.close()


def finished(server: Restartable, run_id: str) -> bool:
    client = server.client()
    try:
        return client.get_run(run_id).status is RunStatus.FINISHED
    finally:
        client.close()


def test_points_logged_while_the_server_is_down_arrive_once(
    remote_home: Path, server: Restartable
) -> None:
    run = knot.start_run("outage", experiment="spool")
    run.log_params({"lr": 0.1})
    for step in range(500):
        run.log_metric("loss", step * 0.5, step=step)
    run.flush()
    server.kill()
    for step in range(500, 1500):
        run.log_metric("loss", step * 0.5, step=step)
    run.set_tag("phase", "offline")
    run.flush()  # returns: every point is on the server or fsynced in the spool
    assert spooled_points(remote_home) == [("loss", s) for s in range(500, 1500)]
    run.end()  # the end is spooled too

    server.start()
    # the writer's thread sends the spool by itself; read past the SDK, which would
    # send it on the read
    wait_until("the run's end reached the server", lambda: finished(server, run.run_id))
    assert steps(server, run.run_id) == list(range(1500))
    client = server.client()
    got = client.get_run(run.run_id)
    client.close()
    assert got.params == {"lr": "0.1"} and got.tags["phase"] == "offline"
    assert got.metrics["loss"].count == 1500
    wait_until("the drained spool file was removed", lambda: not spool_files(remote_home))


CHILD = textwrap.dedent(
    """
    import sys, knot
    run = knot.start_run("left-behind", experiment="spool")
    for step in range(300):
        run.log_metric("loss", step * 1.0, step=step)
    run.flush()
    print(run.run_id, flush=True)
    sys.stdin.readline()  # the parent stops the server meanwhile
    for step in range(300, 1000):
        run.log_metric("loss", step * 1.0, step=step)
    run.flush()
    print("flushed", flush=True)
    if sys.argv[1] == "crash":
        sys.stdin.readline()  # SIGKILLed here
    run.end()
    """
)


def child_until_spooled(mode: str, server: Restartable) -> tuple[subprocess.Popen[str], str]:
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, mode],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=os.environ,
    )
    assert child.stdin is not None and child.stdout is not None
    run_id = child.stdout.readline().strip()
    assert len(run_id) == 32, run_id
    server.kill()
    child.stdin.write("go\n")
    child.stdin.flush()
    assert child.stdout.readline().strip() == "flushed"
    return child, run_id


def test_a_process_that_exits_while_the_server_is_down_is_sent_by_knot_runs_sync(
    remote_home: Path, server: Restartable
) -> None:
    child, run_id = child_until_spooled("exit", server)
    child.communicate()
    assert child.returncode == 0
    left = spool_files(remote_home)
    assert len(left) == 1
    assert spooled_points(remote_home) == [("loss", s) for s in range(300, 1000)]

    down = subprocess.run([KNOT, "runs", "sync"], capture_output=True, text=True, env=os.environ)
    assert down.returncode == 2, down.stderr
    [error] = [line for line in down.stderr.splitlines() if line.startswith("error: ")]
    assert "stay in" in error
    assert str(remote_home / "spool") in error
    assert spooled_points(remote_home) == [("loss", s) for s in range(300, 1000)]

    server.start()
    done = subprocess.run([KNOT, "runs", "sync"], capture_output=True, text=True, env=os.environ)
    assert done.returncode == 0, done.stderr
    assert re.match(r"sent \d+ spooled batches to ", done.stdout), done.stdout
    assert not spool_files(remote_home)
    assert finished(server, run_id)
    assert steps(server, run_id) == list(range(1000))
    again = subprocess.run([KNOT, "runs", "sync"], capture_output=True, text=True, env=os.environ)
    assert again.returncode == 0 and "nothing spooled" in again.stdout


def test_a_killed_process_leaves_a_spool_the_next_client_sends(
    remote_home: Path, server: Restartable
) -> None:
    child, run_id = child_until_spooled("crash", server)
    child.send_signal(signal.SIGKILL)
    child.communicate()
    assert child.returncode == -signal.SIGKILL
    assert spooled_points(remote_home) == [("loss", s) for s in range(300, 1000)]

    server.start()
    # the next training script for this store: it sends what the killed one left
    knot.reset()
    with knot.start_run("next", experiment="spool") as run:
        run.log_metric("loss", 1.0)
    wait_until("the left points reached the server", lambda: len(steps(server, run_id)) >= 1000)
    assert steps(server, run_id) == list(range(1000))
    wait_until("the adopted spool was removed", lambda: not spool_files(remote_home))
    assert steps(server, run.run_id) == [0]


def test_a_spooled_batch_the_server_refuses_is_set_aside_and_reported_once(
    remote_home: Path, server: Restartable
) -> None:
    run = knot.start_run("refused", experiment="spool")
    run.log_param("lr", 0.1)
    run.flush()
    server.kill()
    run.log_metric("loss", 1.0, step=0)
    run.flush()  # spooled
    # Then a clashing param, past the run's own check (which would refuse it at once):
    # params are immutable, so the server refuses that batch when it is replayed.
    session = fluent.session()
    session.writer.add_params([(run.run_id, "lr", "0.2")])
    session.writer.flush()
    server.start()
    with pytest.raises(Conflict, match="lr"):
        knot.get_metric_history(run.run_id, "loss")  # a read sends the spool first
    assert steps(server, run.run_id) == [0]
    rejected = list((remote_home / "spool").glob("*/*.rejected"))
    assert len(rejected) == 1
    kept = orjson.loads(rejected[0].read_bytes().splitlines()[0])
    assert "immutable" in kept["reason"] and kept["batch"]["params"] == [[run.run_id, "lr", "0.2"]]
    knot.flush()  # not retried, not raised again
    run.end()
    assert finished(server, run.run_id)


def test_a_batch_whose_answer_was_lost_is_written_once(
    knot_home: Path, server: Restartable, monkeypatch: pytest.MonkeyPatch
) -> None:
    server.start()
    with LossyProxy(server.port) as proxy:
        monkeypatch.setenv("KNOT_STORE", proxy.url)
        knot.reset()
        run = knot.start_run("lost-answers", experiment="spool")
        proxy.lose(1)  # the first batch creates the run: sent again, it must not conflict
        run.log_params({"lr": 0.1})
        for step in range(100):
            run.log_metric("loss", float(step), step=step)
        run.flush()
        assert proxy.lost == 1
        proxy.lose(1)
        for step in range(100, 200):
            run.log_metric("loss", float(step), step=step)
        run.end()
        assert proxy.lost == 2
    assert finished(server, run.run_id)
    assert steps(server, run.run_id) == list(range(200))
    client = server.client()
    assert client.get_run(run.run_id).params == {"lr": "0.1"}
    client.close()
    assert not spool_files(knot_home)  # a quick retry got through: no spool was needed
