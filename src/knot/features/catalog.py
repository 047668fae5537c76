"""FeatureCatalog: feature view and service definitions in the metadata database.

`apply` stores each definition as a new version when it changed (the same definition
applied twice is one version), in one transaction with its audit record and lineage
edges (dataset version -> feature view -> feature service), so a definition that fails
a check leaves the store as it was.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow.parquet as pq
from sqlalchemy import Connection, Table, select

from knot.data import lookups
from knot.data.entities import DatasetVersion
from knot.errors import Invalid, NotFound
from knot.features.definitions import FeatureService, FeatureView
from knot.features.tables import feature_model_bindings, feature_services, feature_views
from knot.governance import audit
from knot.governance.identity import current_actor
from knot.governance.lineage import Edge, add_edges
from knot.refs import check_model_name, check_version, parse_dataset_ref
from knot.store.database import Database, now_ms

__all__ = ["Applied", "FeatureCatalog", "StoredService", "StoredView"]

Definition = FeatureView | FeatureService


@dataclass(frozen=True)
class StoredView:
    view: FeatureView
    version: int

    @property
    def node(self) -> str:
        return f"{self.view.name}/{self.version}"


@dataclass(frozen=True)
class StoredService:
    service: FeatureService
    version: int
    views: tuple[StoredView, ...]

    @property
    def node(self) -> str:
        return f"{self.service.name}/{self.version}"


@dataclass(frozen=True)
class Applied:
    kind: str  # feature_view | feature_service
    name: str
    version: int
    changed: bool


class FeatureCatalog:
    def __init__(self, db: Database) -> None:
        self.db = db

    def apply(self, definitions: Sequence[Definition]) -> list[Applied]:
        """Register every definition (views first, so a service may name a view applied
        with it); all or nothing."""
        views = [d.check() for d in definitions if isinstance(d, FeatureView)]
        services = [d.check() for d in definitions if isinstance(d, FeatureService)]
        other = [d for d in definitions if not isinstance(d, FeatureView | FeatureService)]
        if other:
            raise Invalid(
                f"{other[0]!r} is not a FeatureView or FeatureService", field="definitions"
            )
        if not views and not services:
            raise Invalid("nothing to apply: no feature view or service given", field="definitions")
        out: list[Applied] = []
        with self.db.write() as conn:
            for view in views:
                dataset = _check_source(conn, view)
                applied = self._store(conn, feature_views, "feature_view", view.name, view.spec())
                out.append(applied)
                if dataset is not None:
                    node = f"{view.name}/{applied.version}"
                    add_edges(conn, [Edge("dataset", dataset.ref, "source", "feature_view", node)])
            for service in services:
                stored = _service_views(conn, service)
                applied = self._store(
                    conn, feature_services, "feature_service", service.name, service.spec()
                )
                out.append(applied)
                node = f"{service.name}/{applied.version}"
                edges = [
                    Edge("feature_view", v.node, "member", "feature_service", node) for v in stored
                ]
                add_edges(conn, edges)
        return out

    @staticmethod
    def _store(
        conn: Connection, table: Table, kind: str, name: str, spec: dict[str, Any]
    ) -> Applied:
        digest = _digest_of(spec)
        latest = conn.execute(
            select(table.c.version, table.c.digest)
            .where(table.c.name == name)
            .order_by(table.c.version.desc())
            .limit(1)
        ).first()
        if latest is not None and latest.digest == digest:
            return Applied(kind, name, latest.version, changed=False)
        version = (latest.version if latest else 0) + 1
        conn.execute(
            table.insert(),
            {
                "name": name,
                "version": version,
                "spec": json.dumps(spec, sort_keys=True),
                "digest": digest,
                "created_at": now_ms(),
                "created_by": current_actor(),
            },
        )
        audit.record(conn, f"{kind}.apply", kind, f"{name}/{version}", None, spec)
        return Applied(kind, name, version, changed=True)

    # reading ---------------------------------------------------------------------
    def view(self, name: str, version: int | None = None) -> StoredView:
        with self.db.read() as conn:
            return _view(conn, name, version)

    def service(self, name: str, version: int | None = None) -> StoredService:
        with self.db.read() as conn:
            row = _row(conn, feature_services, "feature service", name, version)
            service = FeatureService.from_spec(json.loads(row.spec))
            return StoredService(service, row.version, tuple(_service_views(conn, service)))

    def list_views(self) -> list[StoredView]:
        return [self.view(n) for n in self._names(feature_views)]

    def list_services(self) -> list[StoredService]:
        return [self.service(n) for n in self._names(feature_services)]

    def _names(self, table: Table) -> list[str]:
        with self.db.read() as conn:
            return list(
                conn.execute(select(table.c.name).distinct().order_by(table.c.name)).scalars()
            )

    # models -----------------------------------------------------------------------
    def bind_model(self, model: str, version: int, service: str) -> StoredService:
        """Record that `model` version `version` reads its inputs from `service` (its
        newest version), so `knot serve` can answer from entity ids alone."""
        check_model_name(model)
        check_version(version)
        stored = self.service(service)
        with self.db.write() as conn:
            t = feature_model_bindings
            conn.execute(t.delete().where(t.c.model == model, t.c.version == version))
            conn.execute(
                t.insert(),
                {
                    "model": model,
                    "version": version,
                    "service": service,
                    "service_version": stored.version,
                    "created_at": now_ms(),
                },
            )
            node = f"{model}/{version}"
            add_edges(conn, [Edge("feature_service", stored.node, "serves", "model_version", node)])
            audit.record(
                conn, "feature_service.bind", "model_version", node, None, {"service": stored.node}
            )
        return stored

    def binding(self, model: str, version: int) -> StoredService | None:
        """The feature service version a model version reads, or None."""
        t = feature_model_bindings
        with self.db.read() as conn:
            row = conn.execute(
                select(t.c.service, t.c.service_version).where(
                    t.c.model == model, t.c.version == version
                )
            ).first()
        if row is None:
            return None
        return self.service(row.service, row.service_version)

    def add_edges(self, edges: Sequence[Edge]) -> None:
        with self.db.write() as conn:
            add_edges(conn, edges)


def _digest_of(spec: dict[str, Any]) -> str:
    import hashlib

    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()


def _row(conn: Connection, table: Table, what: str, name: str, version: int | None) -> Any:
    query = select(table).where(table.c.name == name)
    if version is not None:
        query = query.where(table.c.version == version)
    row = conn.execute(query.order_by(table.c.version.desc()).limit(1)).first()
    if row is None:
        known = list(conn.execute(select(table.c.name).distinct()).scalars())
        at = f" version {version}" if version is not None else ""
        raise NotFound(
            f"{what} {name!r}{at} not found; known: {', '.join(sorted(known)) or 'none'} "
            "(`knot features apply FILE` registers them)",
            field="features",
        )
    return row


def _view(conn: Connection, name: str, version: int | None = None) -> StoredView:
    row = _row(conn, feature_views, "feature view", name, version)
    return StoredView(FeatureView.from_spec(json.loads(row.spec)), row.version)


def _service_views(conn: Connection, service: FeatureService) -> list[StoredView]:
    """The newest version of each view the service names, its features checked."""
    out = []
    for name in service.view_names:
        stored = _view(conn, name)
        for item in service.features:
            view, _, feature = item.partition(":")
            if view == name and feature and feature not in stored.view.feature_names:
                raise Invalid(
                    f"feature service {service.name!r} names {item!r}, but view {name!r} has "
                    f"only {', '.join(stored.view.feature_names)}",
                    field="features",
                )
        out.append(stored)
    return out


def _check_source(conn: Connection, view: FeatureView) -> DatasetVersion | None:
    """The dataset version behind `view` (None for Parquet), its columns checked."""
    needed = [*view.entities, view.timestamp, *view.feature_names]
    path = view.parquet_path
    if path is not None:
        if not path.is_file():
            raise Invalid(
                f"source of feature view {view.name!r} is {str(path)!r}, which is not a file; "
                "give the path of a Parquet file",
                field="source",
            )
        try:
            have = set(pq.read_schema(path).names)
        except Exception as exc:
            raise Invalid(
                f"source {str(path)!r} of {view.name!r} is not Parquet: {exc}", field="source"
            ) from exc
        where = str(path)
    else:
        version = lookups.resolve(conn, parse_dataset_ref(view.source))
        have = {c.name for c in version.columns}
        where = version.ref
    missing = [c for c in needed if c not in have]
    if missing:
        raise Invalid(
            f"feature view {view.name!r} reads columns {missing} that {where} lacks; it has "
            f"{', '.join(sorted(have))}",
            field="features",
        )
    return None if path is not None else version
