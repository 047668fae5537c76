"""Every default drift test raises at most 7% false alarms per column at its default
threshold (nominal level 5%), on random same-distribution splits of real tables
(Telco churn, NYC flights, MovieLens) and of synthetic columns with 2 to 1,000
categories and 200 to 100,000 rows, through `knot.drift` and the streaming
`DriftAccumulator` alike.

Each categorical case draws SPLITS = 2,000 seeded splits, each numeric case 1,500: if a
test's true rate were 5%, reading above 7% would have probability below 1e-4 (resp.
1e-3; P(Binom(2000, 0.05) > 140), checked below), so a case above 7% is a miscalibrated
test, not bad luck, and a test at 8.5% would hardly ever pass. The one 100,000-row case
uses BIG_SPLITS = 150 to stay light: its distance sits far below its threshold, so it
reads 0 alarms, which bounds the true rate under 7% with 99% confidence.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

import knot
from knot.monitoring.drift.accumulate import DriftAccumulator
from knot.monitoring.drift.batch import Reference
from knot.monitoring.drift.compare import ALPHA, default_test, judge_counts
from knot.monitoring.drift.samples import Categories
from knot.monitoring.drift.stats import DEFAULT_THRESHOLDS
from tests.monitoring.calibration import (
    CHUNK,
    LIMIT,
    NUMERIC_SPLITS,
    SPLITS,
    category_counts,
    category_splits,
    population,
    rng_for,
    synthetic_counts,
    table,
    wide_splits,
)

BIG_SPLITS = 150


def test_the_split_count_tells_a_miscalibrated_test_from_bad_luck() -> None:
    # a test at its 5% level reads above 7% hardly ever, one at 8.5% reads 7% or less
    # seldom: a pass tells the two apart
    assert stats.binom.sf(int(LIMIT * SPLITS), SPLITS, ALPHA) < 1e-4
    assert stats.binom.cdf(int(LIMIT * SPLITS), SPLITS, 0.085) < 0.01
    assert stats.binom.sf(int(LIMIT * NUMERIC_SPLITS), NUMERIC_SPLITS, ALPHA) < 1e-3
    # 0 alarms in BIG_SPLITS splits bounds the true rate below 7% with 99% confidence
    assert stats.beta.ppf(0.99, 1, BIG_SPLITS) < LIMIT


def _false_alarms(counts: np.ndarray, current: int, rng: np.random.Generator) -> tuple[str, float]:
    """The default test a split of this size gets and the share of splits it flags."""
    test = default_test(Categories({"n": int(counts.sum()) - current}))
    step = max(1, CHUNK // counts.size)
    flagged = 0
    for start in range(0, SPLITS, step):
        reference, cur = category_splits(counts, current, rng, min(step, SPLITS - start))
        flagged += int(judge_counts(test, reference, cur, DEFAULT_THRESHOLDS[test]).drifted.sum())
    return test, flagged / SPLITS


@pytest.mark.parametrize("levels", [2, 5, 30, 200, 1000])
@pytest.mark.parametrize("rows", [200, 1000, 3000, 20_000, 100_000])
def test_synthetic_categories_of_any_cardinality_and_size(levels: int, rows: int) -> None:
    seen = []
    for shape in ("uniform", "zipf"):
        for current_share in (0.5, 0.2):
            rng = rng_for("synthetic", levels, rows, shape, current_share)
            counts = synthetic_counts(levels, rows, shape, rng)
            test, rate = _false_alarms(counts, int(rows * current_share), rng)
            seen.append((shape, current_share, test, rate))
    assert all(rate <= LIMIT for *_, rate in seen), seen


REAL_CATEGORIES = [
    ("modeldata", "wa_churn", "contract"),
    ("modeldata", "wa_churn", "payment_method"),
    ("modeldata", "wa_churn", "multiple_lines"),
    ("modeldata", "wa_churn", "churn"),
    ("nycflights13", "flights", "carrier"),
    ("nycflights13", "flights", "origin"),
    ("nycflights13", "flights", "dest"),
    ("nycflights13", "flights", "tailnum"),
    ("dslabs", "movielens", "genres"),
    ("dslabs", "movielens", "title"),
    ("dslabs", "movielens", "userId"),
]


@pytest.mark.parametrize(("package", "name", "column"), REAL_CATEGORIES)
def test_real_categorical_columns_split_at_random(package: str, name: str, column: str) -> None:
    values = table(package, name)[column]
    seen = []
    sizes = [(200, 0.5), (1600, 0.5), (1600, 0.2), (6000, 0.5), (100_000, 0.5)]
    for rows, current_share in sizes:
        # thousands of levels at 100,000 rows are the synthetic cases' job (and heavy)
        if rows > len(values) or (rows > 20_000 and values.nunique() > 1000):
            continue
        rng = rng_for(package, name, column, rows, current_share)
        counts = category_counts(population(values, rows, rng))
        test, rate = _false_alarms(counts, int(counts.sum() * current_share), rng)
        seen.append((rows, current_share, test, rate))
    assert all(rate <= LIMIT for *_, rate in seen), seen


REAL_NUMBERS = [
    ("modeldata", "wa_churn", "tenure"),  # 73 whole months: many ties
    ("modeldata", "wa_churn", "monthly_charges"),
    ("modeldata", "wa_churn", "senior_citizen"),  # 0/1: tested as categories
    ("nycflights13", "flights", "dep_delay"),  # long right tail, missing values
    ("dslabs", "movielens", "rating"),  # 10 half-star values
]


# SciPy's exact KS gives way to its asymptotic p-value on heavy ties (ratings), and says so
@pytest.mark.filterwarnings("ignore:ks_2samp. Exact calculation unsuccessful")
@pytest.mark.parametrize(("package", "name", "column"), REAL_NUMBERS)
def test_real_numeric_columns_through_knot_drift_and_the_accumulator(
    package: str, name: str, column: str
) -> None:
    values = table(package, name)[column]
    seen = []
    for rows in (200, 1600, 6000):
        rng = rng_for(package, name, column, rows)
        sample = population(values, rows, rng).to_numpy()
        reference, current = wide_splits(sample, rows // 2, rng, NUMERIC_SPLITS)
        sorted_once = Reference.from_table(reference, reference.column_names)
        report = knot.drift(sorted_once, current)
        live = DriftAccumulator(sorted_once).update(current).report()
        seen.append((rows, report.columns[0].test, report.share_drifted, live.share_drifted))
    assert all(batch <= LIMIT and stream <= LIMIT for *_, batch, stream in seen), seen


def test_a_hundred_thousand_rows_numeric() -> None:
    values = table("nycflights13", "flights")["dep_delay"]
    rng = rng_for("flights", "dep_delay", 100_000)
    sample = population(values, 100_000, rng).to_numpy()
    reference, current = wide_splits(sample, 50_000, rng, BIG_SPLITS)
    report = knot.drift(reference, current)
    assert report.columns[0].test == "wasserstein"
    assert report.share_drifted == 0.0
