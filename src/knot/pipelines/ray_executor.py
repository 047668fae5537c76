"""The Ray executor: each step call is a Ray task, on a local Ray or a cluster.

`ray_address=None` connects to the cluster RAY_ADDRESS names, or starts a local Ray for
the pipeline's duration; an address ("127.0.0.1:6379", "ray://head:10001") connects to
that cluster. Steps travel by value (cloudpickle), so a worker on another machine needs
Knot and the step's libraries installed, not the pipeline's source files. Workers read
and write the stores named in the task: use a PostgreSQL metadata store and an S3
artifact store when the workers are on other machines.
"""

from __future__ import annotations

import dataclasses
import socket
import sys
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any

from knot.errors import Invalid, Unavailable
from knot.pipelines.step_task import StepOutcome, StepTask, execute_task

if TYPE_CHECKING:
    from knot.pipelines.steps import Step

__all__ = ["RayExecutor"]


class RayExecutor:
    name = "ray"
    in_process = False

    def __init__(self, address: str | None = None, max_workers: int | None = None) -> None:
        try:
            import ray
        except ImportError:
            raise Unavailable(
                "the Ray executor needs Ray, which is not installed; pip install 'knot[ray]' "
                "(or use executor='process')"
            ) from None
        self._ray = ray
        self.capacity = max_workers
        self._owns = not ray.is_initialized()
        if self._owns:
            if address is not None:
                _check_reachable(address)
            try:
                ray.init(address=address, include_dashboard=False, configure_logging=False)
            except (ConnectionError, RuntimeError, ValueError) as exc:
                where = f"at {address!r}" if address else "(none running, and none started)"
                raise Unavailable(
                    f"cannot connect to a Ray cluster {where}: {exc}; start one with "
                    "`ray start --head` and pass its address (host:port)"
                ) from exc
        self._remote: Any = ray.remote(num_cpus=1, max_retries=0)(execute_task)
        self._shipped: set[str] = set()
        self._by_value: list[str] = []

    def check(self, step: Step) -> None:
        return None

    def submit(self, step: Step, task: StepTask) -> Future[StepOutcome]:
        self._ship_by_value(step)
        ref = self._remote.remote(dataclasses.replace(task, fn=step.fn))
        future: Future[StepOutcome] = ref.future()
        return future

    def _ship_by_value(self, step: Step) -> None:
        """Pickle the step's own module by value: workers need not have its file."""
        name = step.module
        if name in self._shipped or name == "__main__" or name.split(".")[0] == "knot":
            return
        module = sys.modules.get(name)
        path = str(getattr(module, "__file__", "") or "")
        if module is not None and "site-packages" not in path and "dist-packages" not in path:
            from ray import cloudpickle

            cloudpickle.register_pickle_by_value(module)
            self._by_value.append(name)
        self._shipped.add(name)

    def close(self) -> None:
        from ray import cloudpickle

        for name in self._by_value:
            if name in sys.modules:
                cloudpickle.unregister_pickle_by_value(sys.modules[name])
        if self._owns and self._ray.is_initialized():
            self._ray.shutdown()


def _check_reachable(address: str) -> None:
    """Fail in seconds, not minutes, when nothing listens at a Ray address."""
    hostport = address.split("://", 1)[-1]
    host, colon, port = hostport.rpartition(":")
    if not colon or not port.isdigit():
        raise Invalid(
            f"Ray address {address!r} is malformed; write host:port (e.g. 127.0.0.1:6379) "
            "or ray://host:10001",
            field="ray_address",
        )
    try:
        with socket.create_connection((host, int(port)), timeout=5):
            return
    except OSError as exc:
        raise Unavailable(
            f"cannot connect to a Ray cluster at {address!r}: {exc.strerror or exc}; start "
            "one with `ray start --head` and pass its address (host:port)"
        ) from None
