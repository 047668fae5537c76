"""`knot predict ... --executor ray` on a real local Ray cluster with two workers: the
input split by file and row group, one output part each, a worker killed mid-job and
its part scored again, the result identical to single-process `knot predict`, a
manifest and lineage at the end, and a second run resuming what is missing."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from knot.serving.parts import score_parts
from tests.batch.models import DiesOnce
from tests.cli.knot_process import assert_error, assert_ok, prepared_home, run

FILES, ROWS, GROUP = 3, 300, 128  # 3 row groups per file: 9 parts


@dataclass(frozen=True)
class Scoring:
    home: Path
    inputs: Path
    sentinel: Path
    expected: pd.DataFrame  # single-process `knot predict` of every file, in order


def read_parts(folder: Path) -> pd.DataFrame:
    parts = sorted(folder.glob("part-*.parquet"))
    return pa.concat_tables([pq.read_table(p) for p in parts]).to_pandas()


@pytest.fixture(scope="module")
def scoring(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scoring]:
    import knot

    base = tmp_path_factory.mktemp("parts")
    inputs, sentinel = base / "inputs", base / "kill-a-worker"
    inputs.mkdir()
    rng = np.random.default_rng(3)
    for i in range(FILES):
        frame = pd.DataFrame(
            {"tenure": rng.uniform(0, 60, ROWS), "seats": rng.integers(1, 9, ROWS)}
        )
        pq.write_table(
            pa.Table.from_pandas(frame), inputs / f"day-{i}.parquet", row_group_size=GROUP
        )
    with prepared_home(tmp_path_factory, "parts-home") as home:
        example = pd.DataFrame({"tenure": [1.0, 2.0], "seats": [1, 2]})
        knot.log_model(DiesOnce(str(sentinel)), registered_model_name="dies", input_example=example)
        frames = []
        for i in range(FILES):
            single = base / f"single-{i}.parquet"
            assert_ok(
                run(
                    home,
                    "predict",
                    "models:/dies/1",
                    "--input",
                    str(inputs / f"day-{i}.parquet"),
                    "--output",
                    str(single),
                )
            )
            frames.append(pq.read_table(single).to_pandas())
        yield Scoring(home, inputs, sentinel, pd.concat(frames, ignore_index=True))


def ray_predict(scoring: Scoring, address: str, out: Path, *more: str) -> str:
    return assert_ok(
        run(
            scoring.home,
            "predict",
            "models:/dies@latest",
            "--input",
            str(scoring.inputs),
            "--output",
            str(out),
            "--executor",
            "ray",
            "--ray-address",
            address,
            "--workers",
            "2",
            *more,
        )
    )


@pytest.fixture(scope="module")
def killed_run(
    scoring: Scoring, ray_cluster: str, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, str]:
    """One Ray job in which the first worker to score dies: its output folder and what
    the command said."""
    scoring.sentinel.write_text("the first worker to find this file dies")
    out = tmp_path_factory.mktemp("ray") / "scored"
    return out, ray_predict(scoring, ray_cluster, out)


def test_a_killed_worker_is_replaced_and_the_output_matches_one_process(
    scoring: Scoring, killed_run: tuple[Path, str]
) -> None:
    out, said = killed_run
    assert not scoring.sentinel.exists()  # a worker found it, removed it and died
    assert f"{FILES * ROWS} rows in {FILES * 3} parts ({FILES * 3} scored now" in said
    pd.testing.assert_frame_equal(read_parts(out), scoring.expected)
    manifest = json.loads((out / "_manifest.json").read_text())
    assert manifest["model"] == "models:/dies/1" and manifest["rows"] == FILES * ROWS
    assert [p["name"] for p in manifest["parts"]] == sorted(p.name for p in out.glob("part-*"))
    assert len(manifest["inputs"]) == FILES
    lineage = json.loads(assert_ok(run(scoring.home, "lineage", "models:/dies/1", "--json")))
    assert "batch_output" in json.dumps(lineage)


def test_a_second_run_scores_only_the_missing_parts(
    scoring: Scoring, ray_cluster: str, killed_run: tuple[Path, str], tmp_path: Path
) -> None:
    out = tmp_path / "scored"
    shutil.copytree(killed_run[0], out)
    (out / "part-00001-00002.parquet").unlink()  # as if its worker died with the job
    (out / "_manifest.json").unlink()
    said = ray_predict(scoring, ray_cluster, out)
    assert f"(1 scored now, {FILES * 3 - 1} already done)" in said
    pd.testing.assert_frame_equal(read_parts(out), scoring.expected)


def test_the_local_executor_makes_the_same_parts(scoring: Scoring, tmp_path: Path) -> None:
    with pytest.MonkeyPatch.context() as env:
        env.setenv("KNOT_HOME", str(scoring.home))
        import knot

        knot.reset()
        result = score_parts("models:/dies/1", str(scoring.inputs / "*.parquet"), tmp_path / "o")
        knot.reset()
    assert (result.parts, result.scored, result.rows) == (FILES * 3, FILES * 3, FILES * ROWS)
    pd.testing.assert_frame_equal(read_parts(tmp_path / "o"), scoring.expected)


def test_a_folder_of_another_job_is_refused(scoring: Scoring, tmp_path: Path) -> None:
    out = tmp_path / "scored"
    with pytest.MonkeyPatch.context() as env:
        env.setenv("KNOT_HOME", str(scoring.home))
        import knot

        knot.reset()
        score_parts("models:/dies/1", str(scoring.inputs), out)
        knot.reset()
    done = run(
        scoring.home,
        "predict",
        "models:/dies/1",
        "--input",
        str(scoring.inputs),
        "--output",
        str(out),
        "--executor",
        "ray",
        "--column",
        "score",
    )
    assert_error(done, "holds the parts of another job", "empty folder")


@pytest.mark.parametrize(
    ("given", "needle"),
    [("nothing-*.parquet", "matches no file"), ("notes.txt", "is not a Parquet file")],
)
def test_bad_input_exits_2_before_any_work(
    scoring: Scoring, tmp_path: Path, given: str, needle: str
) -> None:
    (tmp_path / "notes.txt").write_text("not parquet")
    done = run(
        scoring.home,
        "predict",
        "models:/dies/1",
        "--input",
        str(tmp_path / given),
        "--output",
        str(tmp_path / "out"),
        "--executor",
        "ray",
    )
    assert_error(done, needle)
    assert not (tmp_path / "out").exists()
