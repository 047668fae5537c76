"""Seed a store for .github/knot-check.yaml when CI has no team store: the churn table as
dataset `churn` (with examples/churn/rules.yaml), two candidates trained on it by the
example's own code, the first as `champion`, the second as `challenger`.

    KNOT_HOME=/tmp/knot python .github/knot-check-seed.py && knot check -c .github/knot-check.yaml
"""

from __future__ import annotations

import sys
from pathlib import Path

import knot

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "churn"
sys.path.insert(0, str(EXAMPLE))

from train import TARGET, load_churn, split, train_candidate  # noqa: E402

CANDIDATES = [
    ("logreg", {"C": 1.0}),
    ("gbm", {"max_iter": 60, "learning_rate": 0.1, "max_depth": 3}),
]


def main() -> None:
    frame = load_churn()
    dataset = knot.register_dataset("churn", frame, rules=EXAMPLE / "rules.yaml")
    train, valid = split(frame)
    for (kind, params), alias in zip(CANDIDATES, ("champion", "challenger"), strict=True):
        with knot.start_run(f"ci-{kind}", experiment="churn-ci"):
            run_id, pipeline = train_candidate(kind, params, train, valid, dataset.ref)
        with knot.start_run(run_id=run_id):
            version = knot.log_model(
                pipeline,
                "model",
                registered_model_name="churn",
                input_example=valid.drop(columns=[TARGET]).head(),
            )
        knot.set_alias("churn", alias, version.version)
        print(f"{version.uri} ({kind}) -> {alias}")


if __name__ == "__main__":
    main()
