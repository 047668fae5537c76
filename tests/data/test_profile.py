"""Profiles: each statistic checked against NumPy on data with known values, the bin
edges kept, non-finite values left out, and the HTML report."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from knot.data.profile import BINS, compute_profile
from knot.data.profile_html import profile_page


@pytest.fixture
def sample(tmp_path: Path) -> tuple[Path, np.ndarray]:
    rng = np.random.default_rng(3)
    values = rng.normal(50, 10, 20_000)
    mask = np.zeros(20_000, dtype=bool)
    mask[::100] = True
    table = pa.table(
        {
            "x": pa.array(values, mask=mask),
            "n": pa.array(rng.integers(0, 5, 20_000)),
            "s": pa.array(rng.choice(["a", "b", "c"], 20_000, p=[0.6, 0.3, 0.1])),
            "flag": pa.array(rng.random(20_000) < 0.25),
            "t": pa.array(np.arange(20_000).astype("datetime64[s]")),
        }
    )
    path = tmp_path / "p.parquet"
    pq.write_table(table, path)
    return path, values[~mask]


def test_numeric_statistics_match_numpy(sample: tuple[Path, np.ndarray]) -> None:
    path, x = sample
    profile = compute_profile(path)
    col = profile.column("x")
    assert col is not None and profile.rows == 20_000
    assert (col.count, col.nulls, col.null_fraction) == (19_800, 200, 0.01)
    assert col.min == pytest.approx(x.min()) and col.max == pytest.approx(x.max())
    assert col.mean == pytest.approx(x.mean()) and col.std == pytest.approx(x.std(ddof=1))
    for q, value in col.quantiles.items():
        assert value == pytest.approx(np.quantile(x, float(q)))
    assert col.distinct == pytest.approx(19_800, rel=0.05)
    h = col.histogram
    assert h is not None and len(h.edges) == BINS + 1 and len(h.counts) == BINS
    counts, edges = np.histogram(x, bins=BINS, range=(x.min(), x.max()))
    assert h.counts == counts.tolist()
    assert h.edges == pytest.approx(edges.tolist())


def test_top_values_and_other_kinds(sample: tuple[Path, np.ndarray]) -> None:
    profile = compute_profile(sample[0])
    s = profile.column("s")
    assert s is not None and [t.value for t in s.top] == ["a", "b", "c"]
    assert sum(t.count for t in s.top) == 20_000
    flag = profile.column("flag")
    assert flag is not None and {t.value for t in flag.top} == {"true", "false"}
    t = profile.column("t")
    assert t is not None and t.min == "1970-01-01T00:00:00" and t.histogram is None
    n = profile.column("n")
    assert n is not None and n.histogram is not None and sum(n.histogram.counts) == 20_000


def test_nan_and_infinities_are_left_out_of_statistics(tmp_path: Path) -> None:
    path = tmp_path / "odd.parquet"
    pq.write_table(pa.table({"x": [1.0, 2.0, float("nan"), float("inf"), 3.0]}), path)
    col = compute_profile(path).column("x")
    assert col is not None
    assert (col.min, col.max, col.mean) == (1.0, 3.0, 2.0)
    assert col.histogram is not None and sum(col.histogram.counts) == 3


def test_constant_and_empty_columns(tmp_path: Path) -> None:
    path = tmp_path / "flat.parquet"
    pq.write_table(
        pa.table({"c": [7, 7, 7], "e": pa.array([None, None, None], pa.float64())}), path
    )
    profile = compute_profile(path)
    c, e = profile.column("c"), profile.column("e")
    assert c is not None and c.histogram is not None and c.histogram.counts == [3]
    assert e is not None and (e.count, e.nulls, e.mean, e.histogram) == (0, 3, None, None)


def test_html_report_has_a_chart_per_column(
    sample: tuple[Path, np.ndarray], tmp_path: Path
) -> None:
    out = profile_page(compute_profile(sample[0]), "P").write_html(tmp_path / "out" / "p.html")
    page = out.read_text()
    assert page.count("plotly-graph-div") == 4  # x, n histograms; s, flag top values
    assert "20,000 rows" in page
