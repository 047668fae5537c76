"""Compaction of the prediction and label logs in a local folder: merged files replace
the small parts, readers see every row exactly once in each state a crash can leave, and
replaced parts go once their grace has passed."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pandas as pd
import pytest

from knot.errors import Invalid
from knot.serving.logs.compaction import compact
from knot.serving.logs.labels import latest_labels
from knot.serving.logs.mirror import Mirror
from knot.serving.logs.predictions import read_prediction_log
from knot.serving.logs.shared import FolderLogStore, open_log_store, replica_id
from tests.serving.conftest import row, serving
from tests.serving.live import KNOT, knot_env

pytestmark = pytest.mark.anyio


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("part-*.parquet") if not p.name.startswith("."))


def _rows() -> list[tuple[str, int, object]]:
    frame = read_prediction_log("churn")
    return sorted(zip(frame.request_id, frame.row, frame.prediction, strict=True))


def _labels() -> list[tuple[str, int, str]]:
    table = latest_labels("churn").to_pandas()
    return sorted(zip(table.request_id, table.row, table.label, strict=True))


async def _traffic(first: int, sessions: int) -> None:
    """One prediction log part per session (closing a service writes it) and one label
    file per /feedback call."""
    for i in range(first, first + sessions):
        async with serving() as (client, _):
            rid = f"req-{i}"
            answer = await client.post(
                "/predict", json={"inputs": [row(i), row(i + 20)]}, headers={"x-request-id": rid}
            )
            assert answer.status_code == 200
            labels = [{"request_id": rid, "row": 0, "label": 1}, {"request_id": rid, "row": 1}]
            labels[1]["label"] = 0
            assert (await client.post("/feedback", json={"labels": labels})).status_code == 200


async def test_compaction_merges_then_deletes_after_the_grace(churn: Path) -> None:
    await _traffic(0, 3)
    root = churn / "predictions"
    before, labels_before = _rows(), _labels()
    assert len(before) == 6 and len(labels_before) == 6
    assert len(_files(root)) == 6  # 3 prediction parts, 3 label files

    kept = compact("churn", grace_s=3600)  # merged, the parts kept for readers that listed
    assert (kept.merged, kept.written, kept.deleted, kept.files) == (6, 2, 0, 2)
    assert len(_files(root)) == 8
    assert _rows() == before and _labels() == labels_before

    # a copy of the store (as a monitor in another pod keeps) skips the replaced parts
    copy = Mirror(FolderLogStore(root))
    assert len(_files(copy.sync("churn"))) == 2
    copied = read_prediction_log("churn", root=copy.root)
    assert sorted(zip(copied.request_id, copied.row, copied.prediction, strict=True)) == before
    assert len(_files(copy.sync("churn", replaced=True))) == 8  # what compaction reads

    # a crash after deleting some replaced parts: still each row once
    replaced = [f for f in _files(root) if "merged" not in f.name]
    replaced[0].unlink()
    assert _rows() == before and _labels() == labels_before

    done = compact("churn", grace_s=0)
    assert (done.merged, done.written, done.deleted, done.files) == (0, 0, 5, 2)
    assert len(_files(root)) == 2
    assert _rows() == before and _labels() == labels_before


async def test_a_merged_file_is_merged_again_with_new_parts(churn: Path) -> None:
    await _traffic(0, 2)
    compact("churn", grace_s=0)
    await _traffic(2, 2)
    before, labels_before = _rows(), _labels()
    assert len(before) == 8
    result = compact("churn", grace_s=0)
    assert (result.merged, result.written, result.files) == (6, 2, 2)
    assert _rows() == before and _labels() == labels_before
    assert len(_files(churn / "predictions")) == 2


async def test_a_part_larger_than_the_target_stays(churn: Path) -> None:
    await _traffic(0, 2)
    result = compact("churn", target_bytes=1, grace_s=0)
    assert (result.merged, result.files) == (0, 4)


def test_hostile_names_and_settings_are_refused(
    knot_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(Invalid, match=r"model name '\.\./etc' is not allowed"):
        compact("../etc")
    with pytest.raises(Invalid, match="grace"):
        compact("churn", grace_s=-1)
    monkeypatch.setenv("KNOT_REPLICA_ID", "../../x")
    with pytest.raises(Invalid, match=r"KNOT_REPLICA_ID '\.\./\.\./x' is not allowed"):
        replica_id()
    with pytest.raises(Invalid, match="KNOT_LOGS"):
        open_log_store("ftp://host/logs")
    with pytest.raises(Invalid, match="bucket name"):
        open_log_store("s3://A_B/logs")


def test_a_mirror_copies_only_keys_of_the_log_layout(tmp_path: Path) -> None:
    shared = FolderLogStore(tmp_path / "shared")
    good = "model=churn/version=1/date=2026-01-02/part-1-a-1-000001.parquet"
    frame = pd.DataFrame({"request_id": ["r"], "row": [0]})
    for key in (good, "model=churn/version=1/part-x.parquet", "model=churn/evil/part-x.parquet"):
        target = shared.root / key
        target.parent.mkdir(parents=True, exist_ok=True)
        frame.to_parquet(target)
    mirror = Mirror(shared)
    root = mirror.sync("churn")
    assert [p.relative_to(root).as_posix() for p in _files(root)] == [good]
    shared.delete(good)
    assert _files(mirror.sync("churn")) == []
    with pytest.raises(Invalid):
        mirror.sync("../churn")


def test_the_cli_refuses_a_hostile_name_and_replica_id(knot_home: Path, tmp_path: Path) -> None:
    env = {**knot_env(), "KNOT_HOME": str(knot_home)}
    ran = subprocess.run(
        [KNOT, "logs", "compact", "../etc"], env=env, capture_output=True, text=True
    )
    assert ran.returncode == 2
    assert "model name '../etc' is not allowed" in ran.stderr and "Traceback" not in ran.stderr
    env.update(KNOT_ARTIFACTS="s3://knot-test/logs", KNOT_REPLICA_ID="a/../b")
    ran = subprocess.run(
        [KNOT, "serve", "models:/churn@champion"], env=env, capture_output=True, text=True
    )
    assert ran.returncode == 2
    assert "KNOT_REPLICA_ID 'a/../b' is not allowed" in ran.stderr
    assert not list(tmp_path.rglob("part-*.parquet"))
