"""FeatureStore: definitions in the metadata database, sources in the artifact store or
Parquet files, latest values in an online store; the one object the SDK, the CLI and
`knot serve` use."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow as pa

from knot.artifacts import ArtifactStore
from knot.errors import Invalid
from knot.features.catalog import Applied, FeatureCatalog, StoredService, StoredView
from knot.features.definitions import FeatureService, FeatureView
from knot.features.materialization import Materialized, materialize_view
from knot.features.offline import ViewRequest, point_in_time_join
from knot.features.online.open import open_online_store
from knot.features.online.protocol import OnlineStore
from knot.features.online_reader import OnlineReader, service_columns
from knot.features.sources import view_files
from knot.governance.lineage import Edge
from knot.store.database import Database

__all__ = ["FeatureStore", "TrainingSet"]


class TrainingSet:
    """A point-in-time-correct training set: its rows and its lineage node id."""

    def __init__(self, table: pa.Table, node: str, views: list[str]) -> None:
        self.table = table
        self.node = node  # training_set:<sha256 of the rows>
        self.views = views


class FeatureStore:
    def __init__(self, db: Database, artifacts: ArtifactStore, online_uri: str) -> None:
        self.db = db
        self.artifacts = artifacts
        self.catalog = FeatureCatalog(db)
        self.online_uri = online_uri
        self._online: OnlineStore | None = None

    @property
    def online(self) -> OnlineStore:
        if self._online is None:
            self._online = open_online_store(self.online_uri)
        return self._online

    def close(self) -> None:
        if self._online is not None:
            self._online.close()

    def apply(self, definitions: Sequence[FeatureView | FeatureService]) -> list[Applied]:
        return self.catalog.apply(definitions)

    # offline ------------------------------------------------------------------------
    def training_set(
        self,
        entities: pa.Table | Path,
        features: Sequence[str] = (),
        *,
        service: str | None = None,
        timestamp: str = "event_timestamp",
        full_names: bool = False,
        run_id: str | None = None,
        record: bool = True,
    ) -> TrainingSet:
        """Point-in-time-correct features for each entity row; recorded (unless `record`
        is False) in the lineage graph as feature views (and dataset versions) ->
        training set (-> run)."""
        plan = self._plan(features, service, full_names)
        views = [stored for stored, _ in plan]
        with view_files(self.db, self.artifacts, views) as files:
            table = point_in_time_join(entities, timestamp, [r for _, r in plan], files)
            datasets = sorted({f.dataset for f in files.values() if f.dataset})
        node = _digest(table)
        edges = [Edge("feature_view", v.node, "input", "training_set", node) for v in views]
        edges += [Edge("dataset", d, "input", "training_set", node) for d in datasets]
        if run_id is not None:
            edges.append(Edge("training_set", node, "input", "run", run_id))
        if record:
            self.catalog.add_edges(edges)
        return TrainingSet(table, node, [v.node for v in views])

    def _plan(
        self, features: Sequence[str], service: str | None, full_names: bool
    ) -> list[tuple[StoredView, ViewRequest]]:
        if service is not None:
            if features:
                raise Invalid("give features or service, not both", field="features")
            stored = self.catalog.service(service)
            return [
                (
                    view,
                    ViewRequest(
                        view.view.name,
                        tuple(view.view.feature_names[p - 1] for p in positions),
                        tuple(columns),
                    ),
                )
                for view, positions, columns in service_columns(stored, full_names)
            ]
        if not features:
            raise Invalid(
                "name the features (['view:feature', 'view']) or a service", field="features"
            )
        wanted: dict[str, list[str]] = {}
        views: dict[str, StoredView] = {}
        for item in features:
            name, _, feature = str(item).partition(":")
            stored_view = views.get(name) or self.catalog.view(name)
            views[name] = stored_view
            names = stored_view.view.feature_names
            if feature and feature not in names:
                raise Invalid(
                    f"feature view {name!r} has no feature {feature!r}; it has {', '.join(names)}",
                    field="features",
                )
            wanted.setdefault(name, []).extend([feature] if feature else names)
        plan = []
        for name, chosen in wanted.items():
            chosen = list(dict.fromkeys(chosen))
            columns = [f"{name}__{f}" if full_names else f for f in chosen]
            plan.append((views[name], ViewRequest(name, tuple(chosen), tuple(columns))))
        columns = [c for _, r in plan for c in r.columns]
        clash = sorted({c for c in columns if columns.count(c) > 1})
        if clash:
            raise Invalid(
                f"features {clash} are in more than one view; ask for full names "
                "(full_names=True gives view__feature)",
                field="features",
            )
        return plan

    # online -------------------------------------------------------------------------
    def materialize(
        self, views: Sequence[str] = (), end: datetime | None = None, full: bool = False
    ) -> list[Materialized]:
        """Write the newest values of `views` (default: every view) to the online store."""
        chosen = [self.catalog.view(v) for v in views] if views else self.catalog.list_views()
        if not chosen:
            raise Invalid(
                "no feature views to materialize; `knot features apply FILE` first", field="views"
            )
        with view_files(self.db, self.artifacts, chosen) as files:
            return [materialize_view(files[s.view.name], self.online, end, full) for s in chosen]

    def reader(self, service: str | StoredService, full_names: bool = False) -> OnlineReader:
        stored = self.catalog.service(service) if isinstance(service, str) else service
        return OnlineReader(stored, self.online, full_names)

    def get_online_features(
        self, service: str, entities: Sequence[Mapping[str, Any]], full_names: bool = False
    ) -> list[dict[str, Any]]:
        """Each entity row with the service's features, in one read of the online store."""
        return self.reader(service, full_names).read_rows(entities)


def _digest(table: pa.Table) -> str:
    """sha256 of the schema and the column buffers as they lie in memory (no copy: a
    training set of a million rows hashes in a fraction of a second)."""
    h = hashlib.sha256(table.schema.to_string().encode())
    for column in table.columns:
        for chunk in column.chunks:
            for buffer in chunk.buffers():
                if buffer is not None:
                    h.update(memoryview(buffer))
    return h.hexdigest()
