"""Inputs real tables hold: nanosecond timestamps and integers past 2**53 are compared,
text mixed into a number column is refused naming the column and the fix, all-null
columns are reported as drifted, and small windows and high-cardinality columns carry
warnings, in the SDK and from the installed `knot` command."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import knot
from knot.errors import Invalid
from knot.monitoring.drift.accumulate import DriftAccumulator

rng = np.random.default_rng(3)
N = 2000
NS = 1_704_067_200_123_456_789  # 2024-01-01 in nanoseconds, far past 2**53


def _times(days: float = 0.0) -> pd.Series:
    offsets = rng.integers(0, 30 * 86_400 * 10**9, N) + int(days * 86_400 * 10**9)
    return pd.Series(pd.to_datetime(NS + offsets, utc=True))


def test_nanosecond_timestamps_and_integers_beyond_2_53() -> None:
    big = np.int64(2**62) + rng.integers(0, 2**40, N)
    ref = pd.DataFrame({"at": _times(), "id": big, "u": (big.astype(np.uint64) * 3)})
    same = pd.DataFrame({"at": _times(), "id": big[::-1], "u": (big.astype(np.uint64) * 3)})
    quiet = knot.drift(ref, same)
    assert [c.column for c in quiet.columns] == ["at", "id", "u"]
    assert quiet.drifted_columns == []
    later = same.assign(at=_times(days=20), id=big + np.int64(2**41))
    assert knot.drift(ref, later).drifted_columns == ["at", "id"]
    streamed = DriftAccumulator(ref).update(later).report()
    assert streamed.drifted_columns == ["at", "id"]


def test_other_temporal_types_compare_as_their_units() -> None:
    table = pa.table(
        {
            "t32": pa.array(rng.integers(0, 86_400, N).astype(np.int32), pa.time32("s")),
            "t64": pa.array(rng.integers(0, 86_400 * 10**9, N), pa.time64("ns")),
            "d64": pa.array(rng.integers(0, 10**12, N), pa.date64()),
            "dur": pa.array(rng.integers(0, 2**60, N), pa.duration("ns")),
        }
    )
    report = knot.drift(table, table)
    assert len(report.columns) == 4 and report.drifted_columns == []


@pytest.mark.parametrize("side", ["reference", "current"])
def test_text_mixed_into_a_number_column_is_refused_by_name(side: str) -> None:
    clean = pd.DataFrame({"price": rng.normal(size=N), "plan": rng.choice(["a", "b"], N)})
    dirty = clean.copy().astype({"price": object})
    dirty.loc[7, "price"] = "n/a"
    before = dirty.copy()
    args = (dirty, clean) if side == "reference" else (clean, dirty)
    with pytest.raises(Invalid) as caught:
        knot.drift(*args)
    message = caught.value.message
    for words in (side, "'price'", "mixes numbers and text", "'n/a'", "pd.to_numeric", "astype"):
        assert words in message, message
    assert caught.value.field == "price"
    pd.testing.assert_frame_equal(dirty, before)  # nothing changed


def test_a_text_column_against_a_number_reference_names_a_value() -> None:
    ref = pa.table({"price": rng.normal(size=N)})
    cur = pa.table({"price": ["1.5", "2.0", "about 3", None] * 10})
    with pytest.raises(Invalid, match=r"'price' is numeric in the reference.*'about 3'.*cast"):
        knot.drift(ref, cur)


def test_all_null_columns_are_reported_as_drifted() -> None:
    ref = pd.DataFrame({"x": rng.normal(size=N), "plan": rng.choice(["a", "b"], N)})
    gone = pd.DataFrame({"x": [None] * N, "plan": [None] * N})  # Arrow's null type
    report = knot.drift(ref, gone)
    assert report.drifted_columns == ["x", "plan"]
    for column in report.columns:
        assert column.missing_share_cur == 1.0 and column.statistic is None
        assert "went missing" in column.warnings[0]
    nan = knot.drift(ref, ref.assign(x=np.nan, plan=pd.Series([None] * N, dtype=object)))
    assert nan.drifted_columns == ["x", "plan"]
    came = knot.drift(gone, ref)
    assert came.drifted_columns == ["x", "plan"]
    assert "no values in the reference" in came.columns[0].warnings[0]
    both = knot.drift(gone, gone)
    assert both.drifted_columns == [] and "either side" in both.columns[0].warnings[0]
    streamed = DriftAccumulator(ref).update(gone).report()
    assert streamed.drifted_columns == ["x", "plan"]


def test_warnings_on_small_windows_and_many_levels() -> None:
    ref = pd.DataFrame(
        {"x": rng.normal(size=N), "user": [f"u{i}" for i in rng.integers(0, 900, N)]}
    )
    small = knot.drift(ref, ref.iloc[:20])
    assert any("only 20 current values" in w for w in small.column("x").warnings)  # type: ignore[union-attr]
    wide = knot.drift(ref, ref.sample(500, random_state=1))
    user = wide.column("user")
    assert user is not None and not user.drifted
    assert any("high cardinality" in w for w in user.warnings)
    assert any(w.startswith("user: high cardinality") for w in wide.warnings)
    assert knot.drift(ref, ref.sample(1500, random_state=2)).column("x").warnings == []  # type: ignore[union-attr]


def _knot(*args: str) -> subprocess.CompletedProcess[str]:
    command = [str(Path(sys.executable).parent / "knot"), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)


def test_the_command_prints_warnings_and_names_mixed_columns(tmp_path: Path) -> None:
    ref = pd.DataFrame(
        {"x": rng.normal(size=N), "user": [f"u{i}" for i in rng.integers(0, 900, N)]}
    )
    ref.to_parquet(tmp_path / "ref.parquet")
    ref.iloc[:25].to_csv(tmp_path / "small.csv", index=False)
    done = _knot("monitor", "drift", str(tmp_path / "ref.parquet"), str(tmp_path / "small.csv"))
    assert done.returncode == 0, done.stderr
    assert "drift per column" in done.stdout
    assert "warning: x: only 25 current values" in done.stderr
    assert "warning: user: high cardinality" in done.stderr
    as_json = _knot(
        "monitor", "drift", str(tmp_path / "ref.parquet"), str(tmp_path / "small.csv"), "--json"
    )
    data = json.loads(as_json.stdout)
    assert any(w.startswith("x: only 25") for w in data["warnings"])
    mixed = ref.iloc[:100].astype({"x": str})
    mixed.loc[3, "x"] = "oops"
    mixed.to_csv(tmp_path / "mixed.csv", index=False)
    refused = _knot("monitor", "drift", str(tmp_path / "ref.parquet"), str(tmp_path / "mixed.csv"))
    assert refused.returncode == 2
    assert "'x' is numeric in the reference" in refused.stderr and "'oops'" in refused.stderr
    assert "Traceback" not in refused.stderr


def test_a_pandas_index_stored_in_parquet_is_not_a_column(tmp_path: Path) -> None:
    """`df[mask].to_parquet(path)` stores the filtered index as `__index_level_0__`; the
    command compares the user's columns and neither refuses nor reports the index."""
    frame = pd.DataFrame({"x": rng.normal(size=N), "y": rng.normal(size=N)})
    frame.to_csv(tmp_path / "ref.csv", index=False)
    frame[frame.x > -1.0].to_parquet(tmp_path / "cur.parquet")
    assert "__index_level_0__" in pq.read_schema(tmp_path / "cur.parquet").names
    done = _knot(
        "monitor", "drift", str(tmp_path / "ref.csv"), str(tmp_path / "cur.parquet"), "--json"
    )
    assert done.returncode in (0, 1), done.stderr
    columns = [c["column"] for c in json.loads(done.stdout)["columns"]]
    assert columns == ["x", "y"]
