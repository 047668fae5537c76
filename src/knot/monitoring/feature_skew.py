"""Training/serving skew in each monitoring pass, for a model version served from a
feature service: the feature values a window's answers used (its prediction log) are
compared with the point-in-time offline values for the same entities at the same times,
the values a training set built for those requests would hold (knot.features.skew).

Stored per version and window as `skew.share` (the share of the service's features that
differ in any row), `skew.rows` (rows compared) and `skew.<feature>` (the share of rows
whose value differs; the detail keeps the count and a few examples), so alert rules and
the monitoring page see them beside drift.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from knot.errors import KnotError
from knot.monitoring.results import ResultPoint

__all__ = ["FeatureSkewWindow", "VersionSkew", "skew_points"]


class FeatureSkewWindow(BaseModel):
    """One version's window: how many served rows were compared with the offline values
    of `service`, and per feature the share of them that differ."""

    model_config = ConfigDict(frozen=True)

    version: int
    window: str
    window_start: int
    service: str
    rows: int
    mismatched: dict[str, int]  # feature -> rows whose served value differs
    skewed: list[str]
    examples: dict[str, list[dict[str, Any]]] = {}

    @property
    def share(self) -> float:
        return len(self.skewed) / len(self.mismatched) if self.mismatched else 0.0

    def rate(self, feature: str) -> float:
        return self.mismatched[feature] / self.rows if self.rows else 0.0


class VersionSkew:
    """The feature service one model version reads, found once per pass; `find` gives
    None for a version bound to none (or when the session has no feature store: a Knot
    server keeps none)."""

    def __init__(self, store: Any, service: str, node: str) -> None:
        self.store = store
        self.service = service
        self.node = node

    @classmethod
    def find(cls, model: str, version: int) -> VersionSkew | None:
        from knot.features.fluent import feature_store

        try:
            store = feature_store()
            bound = store.catalog.binding(model, version)
        except KnotError:  # no feature store in this session: nothing is served from one
            return None
        if bound is None:
            return None
        return cls(store, bound.service.name, bound.node)

    def compare(
        self, version: int, size: str, start: int, end: int, log: Any
    ) -> FeatureSkewWindow | None:
        """Skew of the window [start, end) of the prediction log `log` (a pyarrow Dataset);
        None when the version answered nothing in it."""
        from knot.features.skew import serving_skew
        from knot.serving.logs.served_features import served_table

        if log is None:
            return None
        served = served_table(log, version, start, end)
        if served.num_rows == 0:
            return None
        report = serving_skew(self.store, self.service, served)
        return FeatureSkewWindow(
            version=version,
            window=size,
            window_start=start,
            service=report.service,
            rows=report.rows,
            mismatched={f.feature: f.mismatched for f in report.features},
            skewed=report.skewed,
            examples={f.feature: f.examples[:3] for f in report.features if f.examples},
        )


def skew_points(model: str, found: FeatureSkewWindow, width: int) -> list[ResultPoint]:
    def point(metric: str, value: float, detail: dict[str, Any] | None = None) -> ResultPoint:
        return ResultPoint(
            model=model,
            version=found.version,
            window=found.window,
            window_start=found.window_start,
            window_end=found.window_start + width,
            metric=metric,
            value=value,
            detail=detail,
        )

    out = [
        point("skew.share", found.share, {"skewed": found.skewed, "service": found.service}),
        point("skew.rows", float(found.rows)),
    ]
    for feature, count in found.mismatched.items():
        detail = {
            "mismatched": count,
            "rows": found.rows,
            "examples": _plain(found.examples.get(feature, [])),
        }
        out.append(point(f"skew.{feature}", found.rate(feature), detail))
    return out


def _plain(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Examples as JSON can hold them (a timestamp or bytes key as its text)."""
    plain = (int, float, str, bool, type(None))
    return [{k: v if isinstance(v, plain) else str(v) for k, v in r.items()} for r in rows]
