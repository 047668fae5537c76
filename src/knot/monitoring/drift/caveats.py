"""Why a column's drift verdict deserves less trust: windows too small to test,
columns with many levels for their rows, sparse bins that were pooled, and distances
that crossed their threshold by chance. Each is one sentence naming the numbers and
what to do, carried in the report (`ColumnDrift.warnings`) and printed by the CLI."""

from __future__ import annotations

__all__ = [
    "MIN_VALUES",
    "PER_LEVEL",
    "missing_warning",
    "noise_warning",
    "size_warnings",
    "sparse_warnings",
]

MIN_VALUES = 30  # below this on either side a test has little power and a shaky level
PER_LEVEL = 10  # fewer values per category than this is a high-cardinality column


def size_warnings(reference: int, current: int) -> list[str]:
    out = []
    for side, n in (("reference", reference), ("current", current)):
        if 0 < n < MIN_VALUES:
            out.append(
                f"only {n} {side} values: drift tests need {MIN_VALUES} or more to be "
                "reliable; use a longer window or a larger reference"
            )
    return out


def sparse_warnings(
    kind: str, levels: int, sparse: int, bins: int, reference: int, current: int
) -> list[str]:
    """`levels` non-empty categories or bins, `sparse` of them expected fewer than 5
    values on the smaller side, `bins` buckets left to test after pooling."""
    out = []
    smaller = min(reference, current)
    unit = "categories" if kind == "categorical" else "bins"
    if kind == "categorical" and levels > 2 and levels * PER_LEVEL > smaller:
        out.append(
            f"high cardinality: {levels} categories for {smaller} values on the smaller "
            f"side (fewer than {PER_LEVEL} a category); rare ones are pooled and distances "
            "read high by chance; group rare categories or compare a longer window"
        )
    if bins < 2 and levels >= 2:
        out.append(
            f"too few values to test: every one of the {levels} {unit} expected fewer "
            "than 5 values, so they form one bucket and no drift can be shown; use a "
            "longer window"
        )
    elif sparse:
        out.append(
            f"{sparse} of {levels} {unit} expected fewer than 5 values on a side and were "
            "tested as one pooled bucket"
        )
    return out


def noise_warning(test: str, statistic: float, threshold: float, p_value: float) -> str:
    return (
        f"{test} {statistic:.3g} reached the threshold {threshold:g} but the two-sample "
        f"test does not reject (p = {p_value:.2g}): a gap this size is sampling noise at "
        "these counts, so the column is not counted as drifted"
    )


def missing_warning(reference: int, current: int, rows: tuple[int, int]) -> str:
    if reference == 0 and current == 0:
        return "no values on either side (every row is missing); nothing to compare"
    if reference == 0:
        return (
            f"no values in the reference (all {rows[0]} rows missing) but {current} in "
            "the current data; fix the reference or leave the column out"
        )
    return (
        f"no values in the current data (all {rows[1]} rows missing) against {reference} "
        "in the reference: the column went missing"
    )
