"""Training/serving skew: the feature values a service used, compared with what the
offline store gives for the same entity at the same time.

Both sides should agree exactly: the online store holds the newest value stamped at or
before the last materialization, and the point-in-time join takes the newest value
stamped at or before the request. A difference means the online values are stale (a
materialization did not run), were written by something else, or were computed
differently; each feature gets its share of rows that differ and examples.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from knot.errors import Invalid
from knot.features.online_reader import service_columns
from knot.features.store import FeatureStore

__all__ = ["FeatureSkew", "SkewReport", "serving_skew"]


@dataclass(frozen=True)
class FeatureSkew:
    feature: str
    rows: int
    mismatched: int
    examples: list[dict[str, Any]] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.mismatched / self.rows if self.rows else 0.0


@dataclass(frozen=True)
class SkewReport:
    service: str
    rows: int
    features: list[FeatureSkew]
    threshold: float

    @property
    def skewed(self) -> list[str]:
        return [f.feature for f in self.features if f.rate > self.threshold]

    def summary(self) -> str:
        if not self.skewed:
            return f"no skew: {self.rows} served rows match the offline values of {self.service}"
        worst = ", ".join(
            f"{f.feature} {f.rate:.1%}" for f in self.features if f.rate > self.threshold
        )
        return f"skew in {len(self.skewed)} feature(s) of {self.service}: {worst} of rows differ"


def _same(a: Any, b: Any, tolerance: float) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, float) or isinstance(b, float):
        if math.isnan(a) and math.isnan(b):
            return True
        return abs(float(a) - float(b)) <= tolerance * max(1.0, abs(float(b)))
    return bool(a == b)


def serving_skew(
    store: FeatureStore,
    service: str,
    served: pa.Table,
    timestamp: str = "timestamp",
    threshold: float = 0.0,
    tolerance: float = 1e-9,
) -> SkewReport:
    """Compare `served` rows (entity keys, the request time in `timestamp`, and the
    feature values used) with the point-in-time values of `service`'s features."""
    stored = store.catalog.service(service)
    columns = [c for _, _, cols in service_columns(stored) for c in cols]
    keys = list(dict.fromkeys(k for s in stored.views for k in s.view.entities))
    missing = [c for c in [*keys, timestamp, *columns] if c not in served.column_names]
    if missing:
        raise Invalid(
            f"the served rows lack columns {missing}; they need the entity keys, the request "
            f"time ({timestamp!r}) and the features of {stored.node}",
            field="served",
        )
    entities = served.select([*keys, timestamp])
    offline = store.training_set(entities, service=service, timestamp=timestamp, record=False)
    offline_table = offline.table
    report = []
    for column in columns:
        online_values = served.column(column).to_pylist()
        offline_values = offline_table.column(column).to_pylist()
        bad = [
            i for i, (a, b) in enumerate(zip(online_values, offline_values, strict=True))
            if not _same(a, b, tolerance)
        ]  # fmt: skip
        examples = [
            {**{k: served.column(k)[i].as_py() for k in keys}, "served": online_values[i],
             "offline": offline_values[i]}
            for i in bad[:5]
        ]  # fmt: skip
        report.append(FeatureSkew(column, served.num_rows, len(bad), examples))
    return SkewReport(stored.node, served.num_rows, report, threshold)
