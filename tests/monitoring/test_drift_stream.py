"""DriftAccumulator: counts over the reference's bins, batch by batch, merged across
windows, giving the same binned statistics as `knot.drift` over the whole window."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

import knot
from knot.errors import Invalid
from knot.monitoring.drift.accumulate import DriftAccumulator
from knot.monitoring.drift.batch import Reference, drift

N = 20_000


def _frames(shift: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(11)
    ref = pd.DataFrame(
        {"x": rng.normal(size=N), "plan": rng.choice(["a", "b", "c"], N), "prediction": 0}
    )
    cur = pd.DataFrame(
        {
            "x": np.where(rng.random(N) < 0.01, np.nan, rng.normal(shift, 1.0, N)),
            "plan": rng.choice(["a", "b", "c", "d"], N, p=[0.3, 0.3, 0.3, 0.1]),
            "prediction": rng.integers(0, 2, N),
        }
    )
    return ref, cur


def _log_window(cur: pd.DataFrame) -> pa.Table:
    features = pa.StructArray.from_arrays(
        [pa.array(cur["x"], from_pandas=True), pa.array(cur["plan"])], names=["x", "plan"]
    )
    return pa.table(
        {
            "request_id": [str(i) for i in range(len(cur))],
            "features": features,
            "prediction": pa.array(cur["prediction"]),
        }
    )


def test_batches_and_merged_windows_match_one_pass_and_knot_drift(tmp_path: Path) -> None:
    ref, cur = _frames(shift=0.5)
    reference = Reference.from_source(ref)
    log = tmp_path / "log"
    log.mkdir()
    window = _log_window(cur)
    pq.write_table(window.slice(0, N // 2), log / "part-0.parquet")
    pq.write_table(window.slice(N // 2), log / "part-1.parquet")
    acc = DriftAccumulator(reference)
    first, second = acc.window(), acc.window()
    for batch in ds.dataset(log / "part-0.parquet").to_batches(batch_size=3000):
        first.update(batch)
    for batch in ds.dataset(log / "part-1.parquet").to_batches(batch_size=3000):
        second.update(batch)
    merged = first.merge(second).report(tests={"x": "psi", "plan": "jensenshannon"})
    whole = acc.update(window).report(tests={"x": "psi", "plan": "jensenshannon"})
    batch = drift(reference, cur, tests={"x": "psi", "plan": "jensenshannon"})
    for a, b, c in zip(merged.columns, whole.columns, batch.columns, strict=True):
        assert a.statistic == pytest.approx(b.statistic) == pytest.approx(c.statistic)
        assert a.missing_share_cur == pytest.approx(c.missing_share_cur)
    assert merged.drifted_columns == ["x", "plan"]
    assert merged.column("plan").new_categories == ["d"]  # type: ignore[union-attr]
    assert merged.prediction is not None and merged.prediction.drifted
    assert merged.current_rows == N


def test_defaults_and_a_quiet_window() -> None:
    ref, _ = _frames(shift=0.0)
    acc = DriftAccumulator(ref, columns=["x", "plan"])
    report = acc.update(ref).report()
    assert [c.test for c in report.columns] == ["psi", "jensenshannon"]
    assert report.drifted_columns == [] and report.columns[0].statistic == pytest.approx(0.0)
    chi = acc.window().update(ref.iloc[:500]).report(tests={"plan": "chisquare"})
    assert chi.column("plan").p_value > 0.05  # type: ignore[operator, union-attr]


def test_from_a_stored_profile(knot_home: Path) -> None:
    ref, cur = _frames(shift=0.5)
    knot.register_dataset("stream-ref", ref)
    acc = DriftAccumulator(knot.profile_dataset("stream-ref"))
    report = acc.update(cur).report()
    assert report.drifted_columns == ["x", "plan"]
    quiet = acc.window().update(ref).report()
    assert quiet.drifted_columns == []


def test_bad_use_is_invalid() -> None:
    ref, cur = _frames(shift=0.0)
    acc = DriftAccumulator(ref)
    with pytest.raises(Invalid, match="no rows were counted"):
        acc.report()
    with pytest.raises(Invalid, match="'plan' is not in the batch"):
        acc.update(cur[["x", "prediction"]])
    with pytest.raises(Invalid, match="'x' is large_string in the batch but numeric"):
        acc.update(cur.assign(x="a"))
    assert acc.rows == 0  # the bad batches changed nothing
    acc.update(cur)
    with pytest.raises(Invalid, match=r"cannot run from counts.*knot\.drift"):
        acc.report(tests={"x": "ks"})
    with pytest.raises(Invalid, match="not accumulated"):
        acc.report(tests={"nope": "psi"})
    with pytest.raises(Invalid, match="threshold for column 'x'"):
        acc.report(thresholds={"x": -1.0})
    with pytest.raises(Invalid, match="different references"):
        acc.merge(DriftAccumulator(ref))
    with pytest.raises(Invalid, match=r"\['age'\] are not in the reference"):
        DriftAccumulator(Reference.from_source(ref), columns=["age"])
