"""Known shifts in real columns are detected by the default tests, the distance alone
would have raised the false alarms the verdict does not, and the vectorised verdict the
calibration measures is the one `knot.drift` and the accumulator give."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import knot
from knot.monitoring.drift.accumulate import DriftAccumulator
from knot.monitoring.drift.batch import Reference
from knot.monitoring.drift.binned import jensenshannon_many
from knot.monitoring.drift.compare import judge_counts
from tests.monitoring.calibration import (
    category_counts,
    category_splits,
    population,
    rng_for,
    table,
    wide_splits,
)

SHIFT_SPLITS = 300


def _move(cur: np.ndarray, share: float, source: int, target: int) -> np.ndarray:
    """Current counts with `share` of each split's values moved from one category to
    another (or to a new one, when `target` is the last, empty, column)."""
    moved = np.minimum(cur[:, source], np.round(cur.sum(axis=1) * share).astype(np.int64))
    out = cur.copy()
    out[:, source] -= moved
    out[:, target] += moved
    return out


def test_a_ten_point_move_between_payment_methods_at_800_rows_a_side() -> None:
    rng = rng_for("power", "payment_method")
    counts = category_counts(
        population(table("modeldata", "wa_churn")["payment_method"], 1600, rng)
    )
    reference, current = category_splits(counts, 800, rng, SHIFT_SPLITS)
    shifted = _move(current, 0.10, 0, 1)
    assert judge_counts("chisquare", reference, shifted, 0.05).drifted.mean() >= 0.95


def test_a_new_tail_number_on_a_fifth_of_the_flights() -> None:
    rng = rng_for("power", "tailnum")
    counts = category_counts(population(table("nycflights13", "flights")["tailnum"], 6000, rng))
    reference, current = category_splits(counts, 3000, rng, SHIFT_SPLITS)
    # a new aircraft takes a fifth of the current flights, from the common ones alike
    new = np.zeros((SHIFT_SPLITS, 1), dtype=np.int64)
    taken = np.floor(current * 0.2).astype(np.int64)
    shifted = np.concatenate([current - taken, new + taken.sum(axis=1, keepdims=True)], axis=1)
    reference = np.concatenate([reference, new], axis=1)
    judged = judge_counts("jensenshannon", reference, shifted, 0.1)
    assert judged.drifted.mean() == 1.0


@pytest.mark.filterwarnings("ignore:ks_2samp. Exact calculation unsuccessful")
@pytest.mark.parametrize(
    ("rows", "test", "power"), [(1600, "ks", 0.8), (6000, "wasserstein", 0.99)]
)
def test_a_quarter_sd_rise_in_monthly_charges(rows: int, test: str, power: float) -> None:
    rng = rng_for("power", "monthly_charges", rows)
    sample = population(table("modeldata", "wa_churn")["monthly_charges"], rows, rng).to_numpy()
    reference, current = wide_splits(sample, rows // 2, rng, SHIFT_SPLITS)
    raised = current.from_arrays(
        [np.asarray(c) + 0.25 * float(np.std(sample)) for c in current.columns],
        names=current.column_names,
    )
    report = knot.drift(reference, raised)
    assert report.columns[0].test == test
    assert report.share_drifted >= power
    quiet = knot.drift(reference, current)
    assert quiet.share_drifted <= 0.1


def test_the_distance_alone_would_flag_a_high_cardinality_column_the_verdict_does_not() -> None:
    rng = rng_for("noise", "tailnum")
    counts = category_counts(population(table("nycflights13", "flights")["tailnum"], 6000, rng))
    reference, current = category_splits(counts, 3000, rng, SHIFT_SPLITS)
    # about 4,000 tail numbers over 3,000 flights a side: JS >= 0.1 on every split by chance
    assert (jensenshannon_many(reference, current) >= 0.1).mean() == 1.0
    assert judge_counts("jensenshannon", reference, current, 0.1).drifted.mean() <= 0.07


def test_knot_drift_and_the_accumulator_give_the_vectorised_verdict() -> None:
    values = table("nycflights13", "flights")["dest"].dropna()
    rng = rng_for("same verdict", "dest")
    for rows, share in ((1600, 0.5), (6000, 0.2)):
        sample = population(values, rows, rng)
        for _ in range(5):
            order = rng.permutation(rows)
            cut = rows - int(rows * share)
            ref = pd.DataFrame({"dest": sample.iloc[order[:cut]].to_numpy()})
            cur = pd.DataFrame({"dest": sample.iloc[order[cut:]].to_numpy()})
            cur.loc[: len(cur) // 10, "dest"] = "LAX"  # some windows drift, some do not
            column = knot.drift(ref, cur).column("dest")
            assert column is not None
            keys = sorted(set(ref["dest"]) | set(cur["dest"]))
            r = ref["dest"].value_counts().reindex(keys, fill_value=0).to_numpy()
            c = cur["dest"].value_counts().reindex(keys, fill_value=0).to_numpy()
            judged = judge_counts(column.test, r, c, column.threshold)
            assert column.statistic == pytest.approx(float(judged.statistic))
            assert column.p_value == pytest.approx(float(judged.p_value))
            assert column.drifted == bool(judged.drifted)
            streamed = DriftAccumulator(Reference.from_source(ref)).update(cur).report()
            same = ("test", "statistic", "p_value", "drifted", "warnings", "new_categories")
            assert streamed.column("dest").model_dump(include=set(same)) == column.model_dump(  # type: ignore[union-attr]
                include=set(same)
            )
