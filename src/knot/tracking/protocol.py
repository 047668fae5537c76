"""The tracking store interface. The SQL store and the HTTP client both implement it,
and one conformance suite (tests/store/) runs against every implementation."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol, runtime_checkable

from knot.tracking.entities import (
    ArtifactRecord,
    Batch,
    Experiment,
    MetricPoint,
    MetricSeries,
    Run,
    RunPage,
    RunSource,
    RunStatus,
)

__all__ = ["TrackingStore"]


@runtime_checkable
class TrackingStore(Protocol):
    uri: str

    def create_experiment(self, name: str, description: str | None = None) -> Experiment: ...

    def get_experiment(self, experiment_id: str) -> Experiment: ...

    def get_experiment_by_name(self, name: str) -> Experiment | None: ...

    def list_experiments(self) -> list[Experiment]: ...

    def create_run(
        self,
        experiment_id: str,
        *,
        user: str,
        name: str | None = None,
        run_id: str | None = None,
        parent_run_id: str | None = None,
        tags: Mapping[str, str] | None = None,
        source: RunSource | None = None,
        start_time: int | None = None,
    ) -> Run: ...

    def set_run_status(
        self, run_id: str, status: RunStatus, end_time: int | None = None
    ) -> Run: ...

    def get_run(self, run_id: str) -> Run: ...

    def run_ids_starting(self, prefix: str, limit: int = 11) -> list[str]: ...

    def log_batch(self, batch: Batch) -> None: ...

    def get_metric_history(self, run_id: str, key: str) -> list[MetricPoint]: ...

    def metric_histories(
        self, run_ids: Sequence[str], key: str, max_points: int = 2000
    ) -> dict[str, MetricSeries]:
        """Each run's history of `key` as step and value columns, in step order, thinned
        to at most `max_points` per run: the lowest and highest value per bucket of
        steps, the first and last point always kept (see knot.tracking.thinning). A run
        without the metric has an empty series; an unknown run is NotFound."""
        ...

    def search_runs(
        self,
        experiment_ids: Sequence[str] | None = None,
        filter: str | None = None,
        order_by: Sequence[str] | None = None,
        max_results: int = 1000,
        page_token: str | None = None,
    ) -> RunPage: ...

    def log_artifact(self, run_id: str, record: ArtifactRecord) -> None: ...

    def list_artifacts(self, run_id: str) -> list[ArtifactRecord]: ...

    def close(self) -> None: ...
