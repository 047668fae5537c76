"""The web UI bench's data, generated once and bulk-loaded into Knot and into MLflow.

Both stores get the same runs (same ids, names, start times), the same 10 params and
20 metrics per run and the same 10 compared runs of 10,000 `loss` points, so the two
UIs answer the same questions over the same rows. Loading goes straight into each
product's own tables with batched inserts: the SDK path is measured by bench/tracking.py,
and loading 100,000 runs through MLflow's API takes hours on this machine."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass

METRICS = [f"m{i}" for i in range(20)]
PARAMS = [f"p{i}" for i in range(10)]
COMPARE_RUNS, COMPARE_POINTS = 10, 10_000
BATCH = 5_000
# the filter and the sort both UIs are timed with; the grammar is the same in both
FILTER = "metrics.m1 > 0.5 and params.p0 = 'v3'"
SORT_METRIC = "m3"


@dataclass(frozen=True)
class BenchRun:
    run_id: str
    name: str
    start_time: int
    params: dict[str, str]
    metrics: dict[str, float]


@dataclass(frozen=True)
class BenchData:
    n_runs: int
    start: int  # ms; run i starts at start + i * 1000 and lasts 900 ms
    seed: int = 7

    def run_ids(self) -> list[str]:
        rng = random.Random(self.seed)
        return [f"{rng.getrandbits(128):032x}" for _ in range(self.n_runs)]

    def chunks(self) -> Iterator[list[BenchRun]]:
        """The runs in batches of BATCH, the same on every call."""
        rng = random.Random(self.seed + 1)
        ids = self.run_ids()
        for lo in range(0, self.n_runs, BATCH):
            chunk = []
            for offset, run_id in enumerate(ids[lo : lo + BATCH]):
                i = lo + offset
                chunk.append(
                    BenchRun(
                        run_id=run_id,
                        name=f"run-{i}",
                        start_time=self.start + i * 1000,
                        params={k: f"v{rng.randrange(10)}" for k in PARAMS},
                        metrics={k: rng.random() for k in METRICS},
                    )
                )
            yield chunk

    def compared(self) -> list[str]:
        return self.run_ids()[-COMPARE_RUNS:]

    def loss_curve(self, run_id: str) -> list[tuple[int, int, float]]:
        """(step, timestamp, value) of a compared run's `loss`: a noisy 1/step decay."""
        rng = random.Random(run_id)
        return [
            (step, self.start + step, 1.0 / (step + 1) + rng.random() * 0.01)
            for step in range(COMPARE_POINTS)
        ]
