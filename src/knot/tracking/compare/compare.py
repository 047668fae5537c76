"""Compare runs side by side: the same params and metrics, one column per run."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from knot.tracking.entities import Run

__all__ = ["Comparison", "compare_runs"]


@dataclass(frozen=True)
class Comparison:
    runs: list[Run]
    params: dict[str, list[str | None]]
    metrics: dict[str, list[float | None]]

    def differing_params(self) -> list[str]:
        return [k for k, values in self.params.items() if len(set(values)) > 1]

    def to_dict(self) -> dict[str, object]:
        return {
            "runs": [
                {"run_id": r.run_id, "name": r.name, "status": r.status.value} for r in self.runs
            ],
            "params": self.params,
            "metrics": self.metrics,
        }


def compare(runs: Sequence[Run]) -> Comparison:
    params = sorted({k for r in runs for k in r.params})
    metrics = sorted({k for r in runs for k in r.metrics})
    return Comparison(
        runs=list(runs),
        params={k: [r.params.get(k) for r in runs] for k in params},
        metrics={
            k: [r.metrics[k].latest if k in r.metrics else None for r in runs] for k in metrics
        },
    )


def compare_runs(run_ids: Sequence[str]) -> Comparison:
    """Load runs by id and line up their params and latest metrics."""
    from knot.tracking.fluent import get_run

    return compare([get_run(run_id) for run_id in run_ids])
