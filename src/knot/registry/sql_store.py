"""The registry store on SQLite or PostgreSQL: every change is one transaction that also
writes its audit record, and registering a version writes its lineage edge."""

from __future__ import annotations

import json
from collections.abc import Collection
from typing import Any

from sqlalchemy import Connection, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from knot.errors import Conflict, Invalid, NotFound
from knot.governance import audit
from knot.governance.identity import current_actor
from knot.governance.lineage import Edge, add_edges, edges_from, edges_to
from knot.governance.roles import allows, check_role
from knot.refs import ModelRef, check_alias, check_model_name, check_version, parse_model_ref
from knot.registry import guards, promotion
from knot.registry.aliases import move_alias, remove_alias, resolve_alias
from knot.registry.entities import (
    LineageRef,
    ModelVersion,
    PromotionPolicy,
    PromotionRequest,
    RegisteredModel,
    RequestStatus,
    TrainingData,
    VersionSource,
    VersionStatus,
    VersionUpdate,
)
from knot.registry.rows import (
    aliases_of,
    get_model,
    lock_model,
    model_entity,
    version_entity,
    version_row,
)
from knot.registry.tables import (
    model_versions,
    promotion_policies,
    promotion_requests,
    registered_models,
)
from knot.store.database import Database, now_ms
from knot.tracking import validate
from knot.tracking.tables import artifacts, runs

__all__ = ["SqlRegistryStore", "open_sql_registry"]


class SqlRegistryStore:
    """RegistryStore over a SQL database. Pass `db` to share an open Database (the
    tracking store's), so one process keeps one engine per store."""

    def __init__(self, uri: str, db: Database | None = None) -> None:
        self.uri = uri
        self._owns_db = db is None
        self.db = db if db is not None else Database(uri)

    def __repr__(self) -> str:
        return f"SqlRegistryStore({self.uri!r})"

    def close(self) -> None:
        if self._owns_db:
            self.db.close()

    # models ------------------------------------------------------------------------
    def create_model(self, name: str, description: str | None = None) -> RegisteredModel:
        check_model_name(name)
        try:
            with self.db.write() as conn:
                row = _insert_model(conn, name, description)
                audit.record(conn, "create", "registered_model", name, None, row)
                return model_entity(conn, get_model(conn, name))
        except IntegrityError:
            raise Conflict(
                f"model {name!r} already exists; register new versions of it, or pick another name",
                field="name",
            ) from None

    def get_model(self, name: str) -> RegisteredModel:
        with self.db.read() as conn:
            return model_entity(conn, get_model(conn, name))

    def list_models(self) -> list[RegisteredModel]:
        with self.db.read() as conn:
            rows = conn.execute(select(registered_models).order_by(registered_models.c.name))
            return [model_entity(conn, row) for row in rows.all()]

    # versions ----------------------------------------------------------------------
    def create_version(self, name: str, source: VersionSource) -> ModelVersion:
        check_model_name(name)
        validate.check_run_id(source.run_id)
        with self.db.write() as conn:
            created = _ensure_model(conn, name)
            lock_model(conn, name)
            _check_artifact(conn, source)
            t = model_versions
            last = conn.execute(select(func.max(t.c.version)).where(t.c.name == name)).scalar()
            version = (last or 0) + 1
            datasets = sorted(
                {
                    e.from_id
                    for e in edges_to(conn, "run", source.run_id)
                    if e.from_kind == "dataset"
                }
            )
            row = {
                "name": name,
                "version": version,
                "run_id": source.run_id,
                "artifact_path": source.artifact_path,
                "artifact_digest": source.artifact_digest,
                "flavor": source.flavor,
                "signature": source.signature.model_dump_json() if source.signature else None,
                "environment": source.environment.model_dump_json(),
                "datasets": json.dumps(datasets),
                "status": VersionStatus.READY.value,
                "description": source.description,
                "intended_use": None,
                "limitations": None,
                "created_at": now_ms(),
                "created_by": current_actor(),
                "fast_load_digest": source.fast_load_digest,
            }
            conn.execute(t.insert(), row)
            node = f"{name}/{version}"
            add_edges(conn, [Edge("run", source.run_id, "produced", "model_version", node)])
            if created is not None:
                audit.record(conn, "create", "registered_model", name, None, created)
            audit.record(conn, "create", "model_version", node, None, _summary(row))
            return version_entity(version_row(conn, name, version), aliases_of(conn, name))

    def get_version(self, name: str, version: int) -> ModelVersion:
        check_version(version)
        with self.db.read() as conn:
            return version_entity(version_row(conn, name, version), aliases_of(conn, name))

    def list_versions(self, name: str) -> list[ModelVersion]:
        with self.db.read() as conn:
            get_model(conn, name)
            t = model_versions
            rows = conn.execute(select(t).where(t.c.name == name).order_by(t.c.version)).all()
            aliases = aliases_of(conn, name)
            return [version_entity(row, aliases) for row in rows]

    def update_version(self, name: str, version: int, update: VersionUpdate) -> ModelVersion:
        check_version(version)
        changes = update.model_dump(exclude_none=True, mode="json")
        with self.db.write() as conn:
            lock_model(conn, name)
            row = version_row(conn, name, version)
            before = {k: getattr(row, k) for k in changes}
            pinned = sorted(a for a, v in aliases_of(conn, name).items() if v == version)
            if changes.get("status") == VersionStatus.ARCHIVED.value and pinned:
                raise Conflict(
                    f"version {name}/{version} is what alias(es) {', '.join(pinned)} point at; "
                    "move or delete them before archiving it",
                    field="status",
                )
            if changes and changes != before:
                t = model_versions
                conn.execute(
                    t.update().where(t.c.name == name, t.c.version == version).values(**changes)
                )
                audit.record(conn, "update", "model_version", f"{name}/{version}", before, changes)
            return version_entity(version_row(conn, name, version), aliases_of(conn, name))

    def resolve(self, ref: ModelRef | str) -> ModelVersion:
        ref = ref if isinstance(ref, ModelRef) else parse_model_ref(ref)
        with self.db.read() as conn:
            if ref.version is None:
                assert ref.alias is not None  # a ModelRef has a version or an alias
                number = resolve_alias(conn, ref.name, ref.alias)
            else:
                get_model(conn, ref.name)
                number = ref.version
            return version_entity(version_row(conn, ref.name, number), aliases_of(conn, ref.name))

    # aliases -----------------------------------------------------------------------
    def set_alias(
        self, name: str, alias: str, version: int, expected_version: int | None = None
    ) -> ModelVersion:
        check_alias(alias)
        check_version(version)
        if expected_version is not None:
            check_version(expected_version)
        with self.db.write() as conn:
            lock_model(conn, name)
            guards.refuse_guarded_alias(name, alias, guards.load_policy(conn, name), "set")
            row = version_row(conn, name, version)
            if row.status != VersionStatus.READY.value:
                raise Conflict(
                    f"version {name}/{version} is {row.status}; an alias can only point at a "
                    "ready version",
                    field="version",
                )
            guards.check_live_move(conn, name, alias, version)
            move_alias(conn, name, alias, version, expected_version)
            return version_entity(row, aliases_of(conn, name))

    def delete_alias(self, name: str, alias: str) -> None:
        check_alias(alias)
        with self.db.write() as conn:
            lock_model(conn, name)
            guards.refuse_guarded_alias(name, alias, guards.load_policy(conn, name), "delete")
            remove_alias(conn, name, alias)

    # promotion ---------------------------------------------------------------------
    def set_policy(self, name: str, policy: PromotionPolicy | None) -> None:
        if policy is not None:
            _check_policy(policy)
        with self.db.write() as conn:
            lock_model(conn, name)
            before = guards.load_policy(conn, name)
            guards.check_policy_change(name, before, policy)
            t = promotion_policies
            conn.execute(t.delete().where(t.c.name == name))
            if policy is not None:
                conn.execute(
                    t.insert(),
                    {
                        "name": name,
                        "policy": policy.model_dump_json(),
                        "updated_at": now_ms(),
                        "updated_by": current_actor(),
                    },
                )
            if before != policy:
                audit.record(
                    conn,
                    "set_policy" if policy is not None else "delete_policy",
                    "promotion_policy",
                    name,
                    before.model_dump(mode="json") if before else None,
                    policy.model_dump(mode="json") if policy else None,
                )

    def get_policy(self, name: str) -> PromotionPolicy | None:
        with self.db.read() as conn:
            get_model(conn, name)
            return guards.load_policy(conn, name)

    def promote(
        self, name: str, version: int, alias: str = "champion", comment: str | None = None
    ) -> PromotionRequest:
        check_alias(alias)
        check_version(version)
        with self.db.write() as conn:
            return promotion.request_promotion(conn, name, version, alias, comment)

    def decide(
        self,
        request_id: str,
        approve: bool,
        comment: str | None = None,
        roles: Collection[str] | None = None,
    ) -> PromotionRequest:
        with self.db.write() as conn:
            return promotion.decide(conn, request_id, approve, comment, roles)

    def list_requests(
        self, name: str, status: RequestStatus | None = None
    ) -> list[PromotionRequest]:
        t = promotion_requests
        query = select(t).where(t.c.name == name)
        if status is not None:
            query = query.where(t.c.status == RequestStatus(status).value)
        with self.db.read() as conn:
            get_model(conn, name)
            rows = conn.execute(query.order_by(t.c.requested_at, t.c.request_id)).all()
        return [promotion.request_entity(row) for row in rows]

    # lineage -----------------------------------------------------------------------
    def training_data(self, name: str, version: int) -> list[TrainingData]:
        check_version(version)
        with self.db.read() as conn:
            row = version_row(conn, name, version)
            found = []
            for edge in edges_to(conn, "run", row.run_id):
                if edge.from_kind == "dataset":
                    found.append(
                        TrainingData(
                            dataset=edge.from_id,
                            relation=edge.relation,
                            validations=_validations(conn, edge.from_id),
                        )
                    )
            return found


def _insert_model(conn: Connection, name: str, description: str | None) -> dict[str, Any]:
    at = now_ms()
    row = {
        "name": name,
        "description": description,
        "created_at": at,
        "created_by": current_actor(),
        "updated_at": at,
    }
    conn.execute(registered_models.insert(), row)
    return row


def _ensure_model(conn: Connection, name: str) -> dict[str, Any] | None:
    """Create the model on its first version (safe when two writers race); returns the new
    row, or None if it existed."""
    at = now_ms()
    row = {"name": name, "description": None, "created_at": at, "created_by": current_actor()}
    row["updated_at"] = at
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    insert = dialect.insert(registered_models).on_conflict_do_nothing()
    inserted = conn.execute(insert.returning(registered_models.c.name), row).first()
    return row if inserted is not None else None


def _check_artifact(conn: Connection, source: VersionSource) -> None:
    if conn.execute(select(runs.c.run_id).where(runs.c.run_id == source.run_id)).first() is None:
        raise NotFound(
            f"run {source.run_id} not found; register a model from a run that exists "
            "(`knot runs list`)",
            field="run_id",
        )
    t = artifacts
    digest = conn.execute(
        select(t.c.digest).where(t.c.run_id == source.run_id, t.c.path == source.artifact_path)
    ).scalar()
    if digest is None:
        raise NotFound(
            f"run {source.run_id} has no artifact {source.artifact_path!r}; log the model on "
            "the run first (knot.log_model inside the run)",
            field="artifact_path",
        )
    if digest != source.artifact_digest:
        raise Conflict(
            f"artifact {source.artifact_path!r} of run {source.run_id} is {digest}, not "
            f"{source.artifact_digest}; it was logged again meanwhile. Register it again",
            field="artifact_digest",
        )


def _check_policy(policy: PromotionPolicy) -> None:
    for alias in policy.aliases:
        check_alias(alias)
    role = policy.approver_role
    if role is not None and not allows(check_role(role), "approver"):
        raise Invalid(
            f"approver_role {role!r} cannot approve promotions; use 'approver' or 'admin'",
            field="approver_role",
        )
    validate.check_keys([t.metric for t in policy.thresholds], "metric")


def _validations(conn: Connection, dataset: str) -> list[LineageRef]:
    """What lineage links to a dataset version whose kind speaks of validation."""
    refs = [
        LineageRef(kind=e.to_kind, id=e.to_id, relation=e.relation)
        for e in edges_from(conn, "dataset", dataset)
        if "validation" in e.to_kind
    ]
    refs += [
        LineageRef(kind=e.from_kind, id=e.from_id, relation=e.relation)
        for e in edges_to(conn, "dataset", dataset)
        if "validation" in e.from_kind
    ]
    return refs


def _summary(row: dict[str, Any]) -> dict[str, Any]:
    """What the audit log keeps of a new version: everything but the bulky JSON."""
    keep = ("run_id", "artifact_path", "artifact_digest", "flavor", "status", "datasets")
    summary = {k: row[k] for k in keep}
    if row["fast_load_digest"] is not None:
        summary["fast_load_digest"] = row["fast_load_digest"]
    return summary


def open_sql_registry(uri: str, tracking: object = None) -> SqlRegistryStore:
    """The SQL registry on `uri`, sharing the tracking store's Database when given one."""
    db = getattr(tracking, "db", None)
    return SqlRegistryStore(uri, db=db if isinstance(db, Database) else None)
