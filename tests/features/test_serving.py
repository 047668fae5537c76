"""`knot serve` for a model bound to a feature service: requests carry entity ids only,
features come from the online store, the prediction log keeps the values used, and the
skew check compares them with the point-in-time offline values."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from knot.features.online.protocol import Pointer
from knot.features.skew import serving_skew
from knot.serving.logs.served_features import served_values
from tests.serving.conftest import serving

pytestmark = pytest.mark.anyio


async def test_served_from_entity_ids_logged_and_skew_checked(
    bound_model: str, knot_home: Path, tmp_path: Path
) -> None:
    import knot.features as kf

    log_dir = tmp_path / "predlog"
    async with serving(model=bound_model, log_dir=str(log_dir)) as (client, service):
        assert service.failure is None
        answer = await client.post("/predict", json={"inputs": [{"user_id": 1}, {"user_id": 2}]})
        assert answer.status_code == 200, answer.text
        assert answer.json()["predictions"] == [110.0, 225.0]
        sent_features = await client.post(
            "/predict", json={"inputs": [{"user_id": 1, "spend": 5.0}]}
        )
        assert sent_features.status_code == 422
        assert "comes from feature service scoring/1" in sent_features.json()["error"]
        no_key = await client.post("/predict", json={"inputs": [{"customer": 1}]})
        assert no_key.status_code == 422
        assert "needs entity keys ['user_id']; the input lacks" in no_key.json()["error"]
    logged = served_values("spender", 1, log_dir)
    assert logged.column("spend").to_pylist() == [10.0, 25.0]
    store = kf.feature_store()
    report = serving_skew(store, "scoring", logged)
    assert report.skewed == [] and "no skew" in report.summary()

    # someone writes other values into the online store: what is served now differs
    online = store.online
    pointer = online.pointer("users")
    assert pointer is not None
    online.write(
        "users",
        pointer.generation + 1,
        [(["1"], [b"[%d,99.0]" % (pointer.watermark or 0)])],
        base=pointer.generation,
    )
    online.publish(
        "users", Pointer(pointer.generation + 1, pointer.watermark, pointer.view_version)
    )
    async with serving(model=bound_model, log_dir=str(log_dir)) as (client, _):
        answer = await client.post("/predict", json={"inputs": [{"user_id": 1}]})
        assert answer.json()["predictions"] == [199.0]
    report = serving_skew(store, "scoring", served_values("spender", 1, log_dir))
    assert report.skewed == ["spend"]
    (skew,) = report.features
    assert (skew.rows, skew.mismatched) == (3, 1)
    assert skew.examples == [{"user_id": 1, "served": 99.0, "offline": 10.0}]
    # the installed command says the same: exit 1, naming the skewed feature
    from tests.cli.knot_process import assert_check_failed, run

    argv = ("features", "skew", "spender", "--version", "1", "--log-dir", str(log_dir))
    done = run(knot_home, *argv)
    assert_check_failed(done)
    assert "spend" in done.stdout + done.stderr


def test_skew_needs_the_served_columns(bound_model: str) -> None:
    import knot.features as kf
    from knot.errors import Invalid

    with pytest.raises(Invalid, match=r"lack columns \['timestamp'\]"):
        serving_skew(kf.feature_store(), "scoring", pa.table({"user_id": [1], "spend": [1.0]}))


def test_knot_serve_answers_entity_ids(bound_model: str) -> None:
    import httpx

    from tests.serving.live import knot_serve

    with knot_serve(bound_model, "--workers", "1") as (url, _):
        answer = httpx.post(f"{url}/predict", json={"inputs": [{"user_id": 2}]}, timeout=60)
    assert answer.status_code == 200, answer.text
    assert answer.json()["predictions"] == [225.0]


def test_cli_bind_and_skew(bound_model: str, tmp_path: Path) -> None:
    import subprocess
    import sys

    knot = str(Path(sys.executable).parent / "knot")
    bind = subprocess.run(
        [knot, "features", "bind", "spender", "1", "nope"], capture_output=True, text=True
    )
    assert bind.returncode == 2 and "feature service 'nope' not found" in bind.stderr
    skew = subprocess.run(
        [
            knot,
            "features",
            "skew",
            "spender",
            "--version",
            "1",
            "--log-dir",
            str(tmp_path / "none"),
        ],
        capture_output=True,
        text=True,
    )
    assert skew.returncode == 2 and "has no prediction log yet" in skew.stderr
