"""Validation and profiling, Knot against Great Expectations, pandera, ydata-profiling and
the plain pandas / polars / NumPy floors, side by side in one run.

    python bench/data.py [--rows 1000000] [--skip ge,ydata]

A 1,000,000-row Parquet file (id, 10 float, 5 int and 5 string columns, ~1% nulls) is
checked with the same 30 rules by every tool, then profiled (quantiles, 20-bin histograms,
top-10 values). The NumPy floor computes every statistic Knot's profile holds except the
distinct counts (Knot's are HyperLogLog estimates, which neither NumPy nor pyarrow has);
a second floor row adds exact distinct counts with pyarrow. Each measurement runs in its
own process, so peak memory (max RSS) is the tool's own; times include reading the file
and exclude importing the library. Ratios are the other tool's time over Knot's. Results
also go to bench/results/data.json. Nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
FLOATS = [f"f{i}" for i in range(10)]
INTS = [f"i{i}" for i in range(5)]
STRINGS = [f"s{i}" for i in range(5)]
PLANS = ["basic", "plus", "pro", "team", "enterprise"]
INT_MAX = [1000 * (i + 1) for i in range(5)]
F_RANGE = (-200.0, 200.0)
REGEX = "^[a-z]+$"
MIN_ROWS = 1000
NULLS = 0.02  # max null fraction allowed; the data has ~1%
QUANTILES = [0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99]


def generate(path: Path, rows: int) -> None:
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(0)
    cols: dict[str, Any] = {"id": pa.array(np.arange(rows))}
    for i, name in enumerate(FLOATS):
        cols[name] = pa.array(rng.normal(i, 1 + i, rows), mask=rng.random(rows) < 0.01)
    for name, high in zip(INTS, INT_MAX, strict=True):
        cols[name] = pa.array(rng.integers(0, high, rows))
    plans = np.array(PLANS)
    for name in STRINGS:
        cols[name] = pa.array(
            plans[rng.integers(0, len(PLANS), rows)], mask=rng.random(rows) < 0.01
        )
    pq.write_table(pa.table(cols), path)  # pyarrow's defaults, as a user would write it


# --- the 30 rules, once per tool ----------------------------------------------------------
def knot_rules() -> dict[str, Any]:
    columns: dict[str, Any] = {"id": {"not_null": True, "unique": True}}
    for i, name in enumerate(FLOATS):
        columns[name] = {"max_null_fraction": NULLS}
        if i < 5:
            columns[name].update(min=F_RANGE[0], max=F_RANGE[1])
    for name, high in zip(INTS, INT_MAX, strict=True):
        columns[name] = {"min": 0, "max": high}
    for name in STRINGS:
        columns[name] = {"allowed": PLANS}
    columns["s0"]["regex"] = REGEX
    checks = [{"name": "cross", "sql": "i0 >= 0 or f0 > -100"}]
    return {"columns": columns, "table": {"row_count": {"min": MIN_ROWS}, "checks": checks}}


def run_knot_validate(path: Path) -> int:
    from knot.data.rules.ruleset import RuleSet
    from knot.data.rules.validate import validate_parquet

    rules = RuleSet.from_data(knot_rules())
    start = time.perf_counter()
    report = validate_parquet(path, rules)
    assert report.passed, report.summary()
    _report(start, sum(r.status.value != "skipped" and r.kind != "present" for r in report.results))
    return 0


def run_pandas_validate(path: Path) -> int:
    import pandas as pd

    start = time.perf_counter()
    df = pd.read_parquet(path)
    ok = [
        df["id"].notna().all(),
        df["id"].is_unique,
        len(df) >= MIN_ROWS,
        ((df["i0"] >= 0) | (df["f0"] > -100)).all(),
    ]
    for i, name in enumerate(FLOATS):
        ok.append(df[name].isna().mean() <= NULLS)
        if i < 5:
            s = df[name].dropna()
            ok.append(s.between(*F_RANGE).all())
    for name, high in zip(INTS, INT_MAX, strict=True):
        ok.append(df[name].between(0, high).all())
    for name in STRINGS:
        ok.append(df[name].dropna().isin(PLANS).all())
    ok.append(df["s0"].dropna().str.match(REGEX).all())
    assert all(ok)
    _report(start, len(ok))
    return 0


def run_polars_validate(path: Path) -> int:
    import polars as pl

    start = time.perf_counter()
    df = pl.read_parquet(path)
    exprs = [
        pl.col("id").is_not_null().all(),
        pl.col("id").is_unique().all(),
        (pl.len() >= MIN_ROWS),
        ((pl.col("i0") >= 0) | (pl.col("f0") > -100)).all(),
    ]
    for i, name in enumerate(FLOATS):
        exprs.append(pl.col(name).is_null().mean() <= NULLS)
        if i < 5:
            exprs.append(pl.col(name).drop_nulls().is_between(*F_RANGE).all())
    for name, high in zip(INTS, INT_MAX, strict=True):
        exprs.append(pl.col(name).is_between(0, high).all())
    for name in STRINGS:
        exprs.append(pl.col(name).drop_nulls().is_in(PLANS).all())
    exprs.append(pl.col("s0").drop_nulls().str.contains(REGEX).all())
    row = df.select([e.alias(f"r{i}") for i, e in enumerate(exprs)]).row(0)
    assert all(row)
    _report(start, len(exprs))
    return 0


def run_pandera_validate(path: Path) -> int:
    import pandas as pd
    import pandera.pandas as pa

    def null_share(s: pd.Series) -> bool:
        return bool(s.isna().mean() <= NULLS)

    columns: dict[str, Any] = {"id": pa.Column(int, nullable=False, unique=True)}
    for i, name in enumerate(FLOATS):
        checks = [pa.Check(null_share, ignore_na=False)]
        if i < 5:
            checks.append(pa.Check.in_range(*F_RANGE))
        columns[name] = pa.Column(float, nullable=True, checks=checks)
    for name, high in zip(INTS, INT_MAX, strict=True):
        columns[name] = pa.Column(int, checks=pa.Check.in_range(0, high))
    for name in STRINGS:
        checks = [pa.Check.isin(PLANS)]
        if name == "s0":
            checks.append(pa.Check.str_matches(REGEX))
        columns[name] = pa.Column(str, nullable=True, checks=checks)
    schema = pa.DataFrameSchema(
        columns,
        checks=[
            pa.Check(lambda df: len(df) >= MIN_ROWS),
            pa.Check(lambda df: (df["i0"] >= 0) | (df["f0"] > -100)),
        ],
    )
    start = time.perf_counter()
    schema.validate(pd.read_parquet(path), lazy=True)
    _report(start, 30)
    return 0


def run_pandera_polars_validate(path: Path) -> int:
    import pandera.polars as pa
    import polars as pl

    def null_share(data: Any) -> Any:
        return data.lazyframe.select(pl.col(data.key).is_null().mean() <= NULLS)

    columns: dict[str, Any] = {"id": pa.Column(pl.Int64, nullable=False, unique=True)}
    for i, name in enumerate(FLOATS):
        checks = [pa.Check(null_share)]
        if i < 5:
            checks.append(pa.Check.in_range(*F_RANGE))
        columns[name] = pa.Column(pl.Float64, nullable=True, checks=checks)
    for name, high in zip(INTS, INT_MAX, strict=True):
        columns[name] = pa.Column(pl.Int64, checks=pa.Check.in_range(0, high))
    for name in STRINGS:
        checks = [pa.Check.isin(PLANS)]
        if name == "s0":
            checks.append(pa.Check.str_matches(REGEX))
        columns[name] = pa.Column(pl.Utf8, nullable=True, checks=checks)
    schema = pa.DataFrameSchema(
        columns,
        checks=[
            pa.Check(lambda data: data.lazyframe.select(pl.len() >= MIN_ROWS)),
            pa.Check(
                lambda data: data.lazyframe.select((pl.col("i0") >= 0) | (pl.col("f0") > -100))
            ),
        ],
    )
    start = time.perf_counter()
    schema.validate(pl.read_parquet(path), lazy=True)
    _report(start, 30)
    return 0


def run_ge_validate(path: Path) -> int:
    import logging

    logging.disable(logging.WARNING)
    import great_expectations as gx
    import great_expectations.expectations as gxe
    import pandas as pd

    context = gx.get_context(mode="ephemeral")
    batch_def = (
        context.data_sources.add_pandas("bench")
        .add_dataframe_asset("data")
        .add_batch_definition_whole_dataframe("all")
    )
    suite = context.suites.add(gx.ExpectationSuite(name="bench"))
    exps: list[Any] = [
        gxe.ExpectColumnValuesToNotBeNull(column="id"),
        gxe.ExpectColumnValuesToBeUnique(column="id"),
        gxe.ExpectTableRowCountToBeBetween(min_value=MIN_ROWS),
        # GE has no row predicate over two columns on pandas; the nearest:
        gxe.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="f9", column_B="i0", or_equal=True, mostly=0.0
        ),
    ]
    for i, name in enumerate(FLOATS):
        exps.append(gxe.ExpectColumnValuesToNotBeNull(column=name, mostly=1 - NULLS))
        if i < 5:
            exps.append(
                gxe.ExpectColumnValuesToBeBetween(
                    column=name, min_value=F_RANGE[0], max_value=F_RANGE[1]
                )
            )
    for name, high in zip(INTS, INT_MAX, strict=True):
        exps.append(gxe.ExpectColumnValuesToBeBetween(column=name, min_value=0, max_value=high))
    for name in STRINGS:
        exps.append(gxe.ExpectColumnValuesToBeInSet(column=name, value_set=PLANS))
    exps.append(gxe.ExpectColumnValuesToMatchRegex(column="s0", regex=REGEX))
    for e in exps:
        suite.add_expectation(e)
    start = time.perf_counter()
    batch = batch_def.get_batch(batch_parameters={"dataframe": pd.read_parquet(path)})
    result = batch.validate(suite)
    assert result.success, [r.expectation_config.type for r in result.results if not r.success]
    _report(start, len(exps))
    return 0


def run_knot_profile(path: Path) -> int:
    from knot.data.profile import compute_profile

    start = time.perf_counter()
    profile = compute_profile(path)
    assert profile.rows > 0
    _report(start, len(profile.columns))
    return 0


def run_numpy_profile(path: Path, distinct: bool = False) -> int:
    """The floor: what Knot's profile holds, straight from pyarrow and NumPy on the whole
    table in memory. Knot also counts distinct values of every column (a HyperLogLog
    estimate); NumPy and pyarrow have no estimate, so that is left out unless `distinct`,
    which counts them exactly with pyarrow instead."""
    import numpy as np
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    start = time.perf_counter()
    table = pq.read_table(path)
    for name in table.column_names:
        col = table.column(name)
        col.null_count, len(col) - col.null_count
        if distinct:
            pc.count_distinct(col)
        if name in STRINGS:
            counts = pc.value_counts(col.drop_null())  # NumPy has no fast text counting
            top = sorted(counts.to_pylist(), key=lambda x: -x["counts"])[:10]
            assert top
            continue
        x = col.drop_null().to_numpy()
        x.min(), x.max(), x.mean(), x.std(ddof=1)
        np.quantile(x, QUANTILES)
        np.histogram(x, bins=20)
    _report(start, table.num_columns)
    return 0


def run_ydata_profile(path: Path) -> int:
    import logging
    import warnings

    logging.disable(logging.WARNING)
    warnings.simplefilter("ignore")
    import pandas as pd
    from ydata_profiling import ProfileReport

    start = time.perf_counter()
    frame = pd.read_parquet(path)
    report = ProfileReport(frame, minimal=True, progress_bar=False)
    report.get_description()
    _report(start, frame.shape[1])
    return 0


WORKERS: dict[str, Callable[[Path], int]] = {
    "knot-validate": run_knot_validate,
    "pandas-validate": run_pandas_validate,
    "polars-validate": run_polars_validate,
    "pandera-validate": run_pandera_validate,
    "pandera-polars-validate": run_pandera_polars_validate,
    "ge-validate": run_ge_validate,
    "knot-profile": run_knot_profile,
    "numpy-profile": run_numpy_profile,
    "numpy-distinct-profile": lambda path: run_numpy_profile(path, distinct=True),
    "ydata-profile": run_ydata_profile,
}


def _report(start: float, checks: int) -> None:
    seconds = time.perf_counter() - start
    # VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the parent across fork.
    status = Path("/proc/self/status").read_text()
    hwm = [line for line in status.splitlines() if line.startswith("VmHWM:")]
    peak = (
        int(hwm[0].split()[1]) / 1024
        if hwm
        else (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    )
    print(json.dumps({"seconds": seconds, "peak_mb": peak, "checks": checks}))


def measure(worker: str, path: Path) -> dict[str, Any]:
    """One fresh process running `worker`: its seconds and peak memory, or the error."""
    from _memory import in_fresh_process  # not at the top: workers run without bench/ on sys.path

    return in_fresh_process(__file__, worker, path, timeout=1800)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip", default="", help="comma list: ge, pandera, ydata, polars")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("path", nargs="?", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        sys.exit(WORKERS[args.worker](Path(args.path)))
    from rich.console import Console
    from rich.table import Table

    console = Console()
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    with tempfile.TemporaryDirectory(prefix="knot-bench-data-") as tmp:
        path = Path(tmp) / "bench.parquet"
        generate(path, args.rows)
        size = path.stat().st_size / 1e6
        console.print(
            f"{args.rows:,} rows x 21 columns, {size:,.0f} MB Parquet; "
            f"best of {args.repeats} rounds of fresh processes, {os.cpu_count()} CPUs"
        )
        plan = [
            ("validate", "knot", "Knot (DuckDB)", "knot-validate", None),
            ("validate", "ge", "Great Expectations 1.24", "ge-validate", 5.0),
            ("validate", "pandera", "pandera (pandas)", "pandera-validate", 1.0),
            ("validate", "pandera", "pandera (polars)", "pandera-polars-validate", 1.0),
            ("validate", "pandas", "plain pandas (floor)", "pandas-validate", 1 / 1.5),
            ("validate", "polars", "plain polars (floor)", "polars-validate", 1 / 1.5),
            ("profile", "knot", "Knot (DuckDB)", "knot-profile", None),
            ("profile", "ydata", "ydata-profiling (minimal)", "ydata-profile", 10.0),
            ("profile", "numpy", "plain NumPy, no distinct (floor)", "numpy-profile", 1 / 1.5),
            (
                "profile",
                "numpy",
                "plain NumPy + exact distinct",
                "numpy-distinct-profile",
                1 / 1.5,
            ),
        ]
        # Rounds over every tool, best of each: on a shared machine all tools then see the
        # same spells of load. The page cache is warm after the first round.
        best: dict[str, dict[str, Any]] = {}
        for round_ in range(args.repeats):
            for task, key, label, worker, goal in plan:
                if key in skip or (round_ and (key in ("ydata", "ge") or "error" in best[worker])):
                    continue  # the slow peers run once
                console.print(f"  round {round_ + 1}, {task}: {label} ...")
                got = measure(worker, path)
                if worker not in best or got.get("seconds", 1e9) < best[worker].get("seconds", 1e9):
                    best[worker] = {"task": task, "tool": label, "goal": goal, **got}
        results = [best[worker] for *_, worker, _ in plan if worker in best]
    knot_time = {r["task"]: r.get("seconds") for r in results if r["tool"].startswith("Knot")}
    table = Table(title="Validation (30 rules) and profiling, read included", title_justify="left")
    for name in ("task", "tool", "time", "peak RSS", "tool / Knot", "goal", "met"):
        table.add_column(name, justify="left" if name in ("task", "tool") else "right")
    for r in results:
        ratio = (
            r["seconds"] / knot_time[r["task"]]
            if "seconds" in r and knot_time.get(r["task"])
            else None
        )
        r["ratio"] = ratio
        goal = r["goal"]
        met = (
            "-"
            if goal is None or ratio is None
            else ("[green]met[/]" if ratio >= goal else "[red]not met[/]")
        )
        goal_text = (
            "-"
            if goal is None
            else (f">= {goal:g}x" if goal >= 1 else f"Knot <= {1 / goal:g}x floor")
        )
        time_text = f"{r['seconds']:.2f} s" if "seconds" in r else f"[red]{r['error']}[/]"
        table.add_row(
            r["task"],
            r["tool"],
            time_text,
            f"{r['peak_mb']:,.0f} MB" if "peak_mb" in r else "-",
            f"{ratio:.2f}x" if ratio else "-",
            goal_text,
            met,
        )
    console.print(table)
    console.print(
        "[dim]NumPy floors: every statistic of Knot's profile; the first leaves out distinct "
        "counts (Knot's are HyperLogLog estimates, NumPy and pyarrow have none), the second "
        "counts them exactly with pyarrow.compute.count_distinct.[/]"
    )
    out = HERE / "results" / "data.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(
        json.dumps(
            {
                "rows": args.rows,
                "when": time.strftime("%Y-%m-%dT%H:%M:%S"),
                "cpus": os.cpu_count(),
                "results": results,
            },
            indent=2,
        )
        + "\n"
    )
    console.print(f"results: {out}")


if __name__ == "__main__":
    main()
