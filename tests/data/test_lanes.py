"""Scans split into parallel lanes, and the NumPy path for exact statistics: the same
file written with one row group or many, and profiled exactly or approximately, gives
the same answers."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from knot.data import profile as profile_module
from knot.data.lanes import lanes, split, threads
from knot.data.profile import compute_profile
from knot.data.rules.ruleset import RuleSet
from knot.data.rules.validate import validate_parquet


def _table(rows: int = 30_000) -> pa.Table:
    rng = np.random.default_rng(7)
    return pa.table(
        {
            "id": pa.array(np.arange(rows)),
            "x": pa.array(rng.normal(0, 1, rows), mask=rng.random(rows) < 0.02),
            "n": pa.array(rng.integers(-50, 50, rows)),
            "d": pa.array(
                [Decimal(int(v)) / 100 for v in rng.integers(0, 10_000, rows)], pa.decimal128(9, 2)
            ),
            "s": pa.array(rng.choice(["a", "b", "c"], rows)),
        }
    )


@pytest.fixture
def one_group(tmp_path: Path) -> Path:
    path = tmp_path / "one.parquet"
    pq.write_table(_table(), path)
    return path


@pytest.fixture
def many_groups(tmp_path: Path) -> Path:
    path = tmp_path / "many.parquet"
    pq.write_table(_table(), path, row_group_size=1_000)
    return path


def test_split_balances_cost_and_keeps_order() -> None:
    items = [5, 1, 1, 1, 1, 1, 4, 2]
    groups = split(items, float, 3)
    assert sorted(v for g in groups for v in g) == sorted(items)
    assert [sum(g) for g in groups] == sorted((sum(g) for g in groups), reverse=True)
    assert max(sum(g) for g in groups) - min(sum(g) for g in groups) <= 1
    for g in groups:
        assert [items.index(v) for v in g] == sorted(items.index(v) for v in g)
    assert split([3], float, 4) == [[3]]
    assert split([], float, 2) == []


def test_lanes_follow_row_groups(one_group: Path, many_groups: Path) -> None:
    assert lanes(many_groups) == 1
    assert lanes(one_group) == (1 if threads() <= 1 else 2 * threads())


def test_profile_is_the_same_with_one_row_group_or_many(one_group: Path, many_groups: Path) -> None:
    a, b = compute_profile(one_group), compute_profile(many_groups)
    for col_a, col_b in zip(a.columns, b.columns, strict=True):
        assert col_a.model_dump(exclude={"mean", "std", "distinct"}) == col_b.model_dump(
            exclude={"mean", "std", "distinct"}
        )
        if col_a.mean is not None:
            assert col_a.mean == pytest.approx(col_b.mean) and col_a.std == pytest.approx(col_b.std)


def test_exact_and_approximate_profiles_agree(
    one_group: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    exact = compute_profile(one_group)
    monkeypatch.setattr(profile_module, "EXACT_QUANTILE_VALUES", 10)
    approx = compute_profile(one_group)
    assert exact.columns[1].quantiles_exact and not approx.columns[1].quantiles_exact
    for e, a in zip(exact.columns, approx.columns, strict=True):
        assert (e.count, e.nulls, e.min, e.max, e.distinct) == (
            a.count,
            a.nulls,
            a.min,
            a.max,
            a.distinct,
        )
        assert e.histogram == a.histogram
        if e.kind in ("integer", "float", "decimal"):
            assert e.mean == pytest.approx(a.mean) and e.std == pytest.approx(a.std)
            assert e.quantiles.keys() == a.quantiles.keys()
            spread = float(e.max) - float(e.min)  # type: ignore[arg-type]
            for q, value in e.quantiles.items():
                assert value == pytest.approx(a.quantiles[q], abs=0.02 * spread)


def test_decimal_statistics_match_numpy(one_group: Path) -> None:
    d = compute_profile(one_group).column("d")
    values = np.array([float(v) for v in pq.read_table(one_group, columns=["d"])["d"].to_pylist()])
    assert d is not None and d.mean == pytest.approx(values.mean())
    assert d.quantiles["0.5"] == pytest.approx(np.quantile(values, 0.5))


def test_validation_is_the_same_with_one_row_group_or_many(
    one_group: Path, many_groups: Path
) -> None:
    rules = RuleSet.from_data(
        {
            "columns": {
                "id": {"unique": True, "not_null": True},
                "x": {"min": -3, "max": 3, "max_null_fraction": 0.01},
                "n": {"allowed": list(range(0, 50))},
                "s": {"regex": "^[ab]$"},
            },
            "table": {"checks": [{"name": "pos", "sql": "n >= -40 or x > 0"}]},
        }
    )
    a, b = validate_parquet(one_group, rules), validate_parquet(many_groups, rules)
    assert [(r.name, r.status, r.failing) for r in a.results] == [
        (r.name, r.status, r.failing) for r in b.results
    ]
    failed = {r.name for r in a.results if r.failing}
    assert failed == {"x.range", "x.max_null_fraction", "n.allowed", "s.regex", "pos"}
