"""The Ray executor on a real local Ray cluster (started once by the ray_cluster fixture)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import knot
from knot.errors import Unavailable

HELPER_OFFSET = 100  # read by a step on the workers: shipped with the module, by value


def _offset(values: list[int]) -> list[int]:
    return [v + HELPER_OFFSET for v in values]


@knot.step
def shard(rows: int, part: int) -> pd.DataFrame:
    knot.log_metric("rows", rows)
    return pd.DataFrame({"part": [part] * rows, "pid": [os.getpid()] * rows})


@knot.step(retries=1)
def merge(frames: list[pd.DataFrame], folder: str) -> dict[str, Any]:
    marker = Path(folder, "merge-failed-once")
    if not marker.exists():
        marker.touch()
        raise ConnectionError("first attempt fails")
    merged = pd.concat(frames, ignore_index=True)
    return {"rows": len(merged), "parts": _offset(sorted(set(merged.part))), "pid": os.getpid()}


@knot.pipeline
def sharded(folder: str, parts: int = 3, rows: int = 4) -> Any:
    return merge([shard(rows, p) for p in range(parts)], folder)


def test_steps_run_on_the_ray_cluster(knot_home: Path, tmp_path: Path, ray_cluster: str) -> None:
    result = sharded.run(str(tmp_path), executor="ray", ray_address=ray_cluster)
    assert result.output["rows"] == 12
    assert result.output["parts"] == [100, 101, 102]
    assert result.output["pid"] != os.getpid()  # ran in a Ray worker
    assert result["merge"].attempts == 2  # our retry policy, not Ray's
    step_run = knot.get_run(result["shard-2"].run_id or "")
    assert step_run.parent_run_id == result.run_id
    assert step_run.metrics["rows"].latest == 4  # logged by the worker on the step's run
    again = sharded.run(str(tmp_path), executor="ray", ray_address=ray_cluster)
    assert again.cached == ["shard", "shard-2", "shard-3", "merge"]
    assert again.output == result.output


def test_an_unreachable_ray_address_is_a_clear_error(knot_home: Path, tmp_path: Path) -> None:
    pytest.importorskip("ray")
    from tests.servers import free_port

    with pytest.raises(Unavailable, match="cannot connect to a Ray cluster at"):
        sharded.run(str(tmp_path), executor="ray", ray_address=f"127.0.0.1:{free_port()}")
    assert knot.get_experiment_by_name("sharded") is None
