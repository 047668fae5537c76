"""`knot.drift`: thresholds on shifted data, test choice, overrides, dataset and
prediction drift, missing values and new categories, every kind of source."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import knot
from knot.monitoring.drift.batch import Reference, drift

N = 10_000


def _frames(shift: float = 0.0, n: int = N, seed: int = 7) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    ref = pd.DataFrame({"x": rng.normal(size=n), "plan": rng.choice(["a", "b", "c"], n)})
    cur = pd.DataFrame({"x": rng.normal(shift, 1.0, n), "plan": rng.choice(["a", "b", "c"], n)})
    return ref, cur


def test_ks_detects_a_fifth_of_a_sd_shift_at_10000_rows() -> None:
    ref, cur = _frames(shift=0.2)
    col = drift(ref, cur, columns=["x"], tests={"x": "ks"}).column("x")
    assert col is not None and col.test == "ks"
    assert col.p_value is not None and col.p_value < 1e-10
    assert col.drifted


def test_ks_stays_quiet_on_two_samples_of_one_distribution() -> None:
    for seed in (1, 2, 3):
        ref, cur = _frames(shift=0.0, seed=seed)
        col = drift(ref, cur, columns=["x"], tests={"x": "ks"}).column("x")
        assert col is not None and not col.drifted and col.p_value is not None
        assert col.p_value > 0.05


def test_default_tests_detect_the_shift_and_stay_quiet_without_it() -> None:
    shifted = drift(*_frames(shift=0.2))
    assert shifted.column("x").test == "wasserstein"  # type: ignore[union-attr]
    assert shifted.column("plan").test == "jensenshannon"  # type: ignore[union-attr]
    assert shifted.drifted_columns == ["x"]
    same = drift(*_frames(shift=0.0))
    assert same.drifted_columns == [] and not same.dataset_drifted


def test_small_samples_use_ks_and_chisquare_and_few_values_count_as_categories() -> None:
    rng = np.random.default_rng(0)
    ref = pd.DataFrame({"x": rng.normal(size=800), "flag": rng.integers(0, 2, 800)})
    cur = pd.DataFrame({"x": rng.normal(size=500), "flag": rng.integers(0, 2, 500)})
    report = drift(ref, cur)
    assert [c.test for c in report.columns] == ["ks", "chisquare"]
    big = pd.concat([ref] * 3, ignore_index=True)
    assert [c.test for c in drift(big, cur).columns] == ["wasserstein", "jensenshannon"]


def test_per_column_test_and_threshold_override() -> None:
    ref, cur = _frames(shift=0.2)
    report = drift(ref, cur, tests={"x": "psi", "plan": "chisquare"}, thresholds={"x": 0.5})
    x = report.column("x")
    assert x is not None and x.test == "psi" and x.threshold == 0.5
    assert 0.01 < x.statistic < 0.5 and not x.drifted  # type: ignore[operator]
    loose = drift(ref, cur, tests={"x": "psi"}, thresholds={"x": 0.01}).column("x")
    assert loose is not None and loose.drifted
    js = drift(ref, cur, tests={"x": "jensenshannon"}).column("x")
    assert js is not None and 0 < js.statistic < np.sqrt(np.log(2))  # type: ignore[operator]
    # a distance carries the p-value of the chi-square on the same bins beside it
    assert js.p_value is not None and js.p_value < 1e-10


def test_dataset_drift_follows_the_share_of_drifted_columns() -> None:
    rng = np.random.default_rng(5)
    ref = pd.DataFrame({f"c{i}": rng.normal(size=N) for i in range(4)})
    cur = pd.DataFrame({f"c{i}": rng.normal(size=N) for i in range(4)})
    cur["c0"] += 1.0
    report = drift(ref, cur)
    assert report.drifted_columns == ["c0"] and report.share_drifted == 0.25
    assert not report.dataset_drifted
    assert drift(ref, cur, drift_share=0.25).dataset_drifted


def test_prediction_drift_is_reported_apart() -> None:
    ref, cur = _frames()
    ref["prediction"] = np.zeros(N)
    cur["prediction"] = np.r_[np.zeros(N // 2), np.ones(N // 2)]
    report = drift(ref, cur)
    assert [c.column for c in report.columns] == ["x", "plan"]
    assert report.prediction is not None and report.prediction.drifted
    assert report.drifted_columns == []


def test_missing_shares_and_new_categories() -> None:
    ref = pd.DataFrame({"x": [1.0, 2.0, None, 4.0] * 500, "plan": ["a", "b", "a", None] * 500})
    cur = pd.DataFrame({"x": [1.0, None, None, 4.0] * 500, "plan": ["a", "b", "z", "y"] * 500})
    report = drift(ref, cur)
    x, plan = report.column("x"), report.column("plan")
    assert x is not None and plan is not None
    assert x.missing_share_ref == 0.25 and x.missing_share_cur == 0.5
    assert plan.missing_share_ref == 0.25 and plan.missing_share_cur == 0.0
    assert plan.new_categories == ["y", "z"] and plan.drifted
    chi = drift(ref, cur, tests={"plan": "chisquare"}).column("plan")
    # categories the reference never saw are counted, not infinite
    assert chi is not None and chi.statistic is not None and math.isfinite(chi.statistic)
    assert chi.p_value is not None and chi.p_value < 1e-100 and chi.drifted


def test_a_column_gone_all_missing_has_drifted() -> None:
    ref, cur = _frames()
    cur["x"] = np.nan
    col = drift(ref, cur).column("x")
    assert col is not None and col.drifted and col.statistic is None
    assert col.missing_share_cur == 1.0


def test_arrow_paths_and_a_reused_reference_give_the_same_answer(tmp_path: Path) -> None:
    ref, cur = _frames(shift=0.2)
    expected = drift(ref, cur).to_dict()
    pq.write_table(pa.Table.from_pandas(ref), tmp_path / "ref.parquet")
    cur.to_csv(tmp_path / "cur.csv", index=False)
    for reference, current in (
        (pa.Table.from_pandas(ref), pa.Table.from_pandas(cur)),
        (tmp_path / "ref.parquet", str(tmp_path / "cur.csv")),
        (Reference.from_source(ref), cur),
    ):
        got = drift(reference, current).to_dict()
        assert got["drifted_columns"] == expected["drifted_columns"]
        for a, b in zip(got["columns"], expected["columns"], strict=True):
            assert a["statistic"] == pytest.approx(b["statistic"])


def test_a_prediction_log_window_is_read_through_its_features_struct() -> None:
    ref, cur = _frames(shift=0.5)
    ref["prediction"] = 0.0
    features = pa.StructArray.from_arrays(
        [pa.array(cur["x"]), pa.array(cur["plan"])], names=["x", "plan"]
    )
    window = pa.table(
        {
            "request_id": [str(i) for i in range(N)],
            "features": features,
            "prediction": np.ones(N),
            "score": np.full(N, 0.5),
        }
    )
    report = drift(ref, window)
    assert [c.column for c in report.columns] == ["x", "plan"]
    assert report.drifted_columns == ["x"]
    assert report.prediction is not None and report.prediction.drifted


def test_the_sdk_name_and_report_outputs(tmp_path: Path) -> None:
    ref, cur = _frames(shift=0.3)
    cur.loc[cur.index[:10], "plan"] = "new"
    report = knot.drift(ref, cur, tests={"plan": "chisquare"})
    assert isinstance(report, knot.DriftReport)
    data = json.loads(json.dumps(report.to_dict()))
    assert data["drifted_columns"] == ["x", "plan"]
    assert data["dataset_drifted"] is True and data["share_drifted"] == 1.0
    written = report.write_html(tmp_path / "out" / "drift.html")
    page = written.read_text()
    assert page.count("plotly.js") >= 1 and "Plotly.newPlot" in page
    assert "Dataset drift detected" in page and "<td>plan</td>" in page
    assert report.to_html().count("<td>plan</td>") == 1
    # the form the README once showed keeps working, and says what replaced it
    with pytest.warns(DeprecationWarning, match=r"report.write_html\(path\)"):
        old = report.to_html(tmp_path / "old.html")
    assert old == tmp_path / "old.html" and "<td>plan</td>" in old.read_text()


def test_datasets_and_their_profiles_as_references(knot_home: Path) -> None:
    ref, cur = _frames(shift=0.3, n=20_000)
    knot.register_dataset("drift-ref", ref)
    knot.register_dataset("drift-cur", cur)
    exact = drift("dataset:drift-ref", "dataset:drift-cur")
    assert exact.drifted_columns == ["x"]
    from_profile = drift("profile:drift-ref", "dataset:drift-cur")
    x = from_profile.column("x")
    assert x is not None and x.test == "wasserstein" and x.approximate and x.drifted
    assert x.statistic == pytest.approx(exact.column("x").statistic, abs=0.03)  # type: ignore[union-attr]
    plan = from_profile.column("plan")
    assert plan is not None and not plan.drifted
    same = drift(knot.profile_dataset("drift-ref"), ref, tests={"x": "ks"})
    assert same.drifted_columns == []
    ks = same.column("x")
    assert ks is not None and ks.approximate and ks.statistic < 0.02  # type: ignore[operator]
    profile = knot.profile_dataset("drift-ref")
    psi = drift(profile, cur, tests={"x": "psi"}, thresholds={"x": 0.05}).column("x")
    assert psi is not None and psi.drifted and not psi.approximate
    quiet = drift(profile, ref, tests={"x": "psi"}, thresholds={"x": 0.05}).column("x")
    assert quiet is not None and not quiet.drifted
