"""Which implementation of each area's store a metadata URI opens, in one place.

sqlite:/// and postgresql:// open the SQL repositories; http(s):// open the REST
clients of a Knot server (knot.client). The areas name only their protocols and ask
the opener that `install` hands them (knot/__init__.py calls it, and every import of
a knot module runs that file first), so no area imports a door and every arrow to an
implementation is a plain import that import-linter sees. The implementations are
imported inside the openers so `import knot` and the CLI start fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from knot.artifacts import register_backend
from knot.data import stores as data_stores
from knot.errors import Invalid
from knot.governance import stores as governance_stores
from knot.loop import stores as loop_stores
from knot.monitoring import stores as monitoring_stores
from knot.pipelines import stores as pipeline_stores
from knot.registry import stores as registry_stores
from knot.serving import stores as serving_stores
from knot.tracking import stores as tracking_stores

if TYPE_CHECKING:
    from collections.abc import Callable

    from knot.artifacts import ArtifactStore, BlobStore
    from knot.data.protocol import DataStore
    from knot.governance.protocol import GovernanceStore
    from knot.governance.sql_store import SqlGovernance
    from knot.loop.protocol import LoopStore
    from knot.monitoring.protocol import MonitoringStore
    from knot.pipelines.protocol import PipelineRecords
    from knot.registry.protocol import RegistryStore
    from knot.serving.traffic import TrafficRecords
    from knot.tracking.protocol import TrackingStore

__all__ = [
    "REST_SCHEMES",
    "SQL_SCHEMES",
    "backend_of",
    "install",
    "open_data_store",
    "open_governance",
    "open_loop_store",
    "open_monitoring",
    "open_pipeline_records",
    "open_registry_store",
    "open_sql_governance",
    "open_tracking_store",
    "open_traffic",
]

#: the schemes a SQL repository answers
SQL_SCHEMES = ("sqlite", "postgresql", "postgres", "postgresql+psycopg")
#: the schemes a Knot server's REST client answers
REST_SCHEMES = ("http", "https")


def backend_of(uri: str) -> Literal["sql", "rest"]:
    """Which kind of store `uri` names; an unknown scheme says which ones exist."""
    scheme = uri.split(":", 1)[0].lower() if ":" in uri else ""
    if scheme in SQL_SCHEMES:
        return "sql"
    if scheme in REST_SCHEMES:
        return "rest"
    raise Invalid(
        f"store URI {uri!r} has no supported scheme; use one of "
        "sqlite:////abs/path/knot.db, postgresql://user@host:port/db, http://host:port",
        field="store",
    )


def open_tracking_store(uri: str) -> TrackingStore:
    """The tracking store `uri` names: SqlTrackingStore or RestTrackingStore."""
    if backend_of(uri) == "sql":
        from knot.tracking.sql_store import SqlTrackingStore

        return SqlTrackingStore(uri)
    from knot.client.rest_store import RestTrackingStore

    return RestTrackingStore(uri)


def open_registry_store(uri: str, tracking: object = None) -> RegistryStore:
    """The registry store `uri` names, sharing `tracking`'s Database or HTTP client."""
    if backend_of(uri) == "sql":
        from knot.registry.sql_store import open_sql_registry

        return open_sql_registry(uri, tracking)
    from knot.client.rest_registry import open_rest_registry

    return open_rest_registry(uri, tracking)


def open_sql_governance(uri: str) -> SqlGovernance:
    """SqlGovernance on `uri`'s database, reading model aliases through the registry."""
    from knot.governance.sql_store import SqlGovernance
    from knot.registry.aliases import resolve_alias

    return SqlGovernance(uri, resolve_alias=resolve_alias)


def open_governance(uri: str) -> GovernanceStore:
    """The governance store `uri` names: SqlGovernance or RestGovernance."""
    if backend_of(uri) == "sql":
        return open_sql_governance(uri)
    from knot.client.rest_governance import RestGovernance

    return RestGovernance(uri)


def open_traffic(registry: RegistryStore) -> TrafficRecords:
    """Traffic records beside `registry`: on its SQL database, or through its Knot
    server on the registry's connection pool."""
    from knot.store.database import Database

    db = getattr(registry, "db", None)
    if isinstance(db, Database):
        from knot.serving.traffic import TrafficStore

        return TrafficStore(db)
    uri = str(getattr(registry, "uri", ""))
    if backend_of(uri) == "sql":
        raise Invalid(
            f"the registry store on {uri!r} has no database for traffic records; open it "
            "with knot.backends.open_registry_store"
        )
    from knot.client.rest_traffic import open_rest_traffic

    return open_rest_traffic(registry)


def open_data_store(
    uri: str, tracking: object, artifacts: Callable[[], ArtifactStore]
) -> DataStore:
    """The data store `uri` names: DatasetStore on `tracking`'s Database and the artifact
    store, or RestDataStore on `tracking`'s HTTP client (blobs go to the server)."""
    if backend_of(uri) == "sql":
        from knot.data.store import DatasetStore
        from knot.store.database import database_of

        return DatasetStore(database_of(tracking, uri, "datasets need"), artifacts())
    from knot.client.rest_data import open_rest_data

    return open_rest_data(uri, tracking)


def open_monitoring(uri: str, tracking: object = None) -> MonitoringStore:
    """The monitoring store `uri` names: SqlMonitoring on `tracking`'s database (or its
    own), or RestMonitoring on `tracking`'s HTTP client (or its own)."""
    from knot.store.database import Database

    if backend_of(uri) == "sql":
        from knot.monitoring.sql_store import SqlMonitoring

        db = getattr(tracking, "db", None)
        if isinstance(db, Database):
            return SqlMonitoring(db)
        return SqlMonitoring(Database(uri), owns=True)
    from knot.client.rest_monitoring import open_rest_monitoring

    return open_rest_monitoring(uri, tracking)


def open_loop_store(tracking: object, uri: str) -> LoopStore:
    """The retrain loop's store beside `tracking`: on its SQL database, or through its
    Knot server on its connection pool."""
    if backend_of(uri) == "sql":
        from knot.loop.sql_store import SqlLoopStore
        from knot.store.database import database_of

        return SqlLoopStore(database_of(tracking, uri, "the retrain loop needs"))
    from knot.client.rest_loop import open_rest_loop

    return open_rest_loop(tracking, uri)


def open_pipeline_records(tracking: object, uri: str) -> PipelineRecords:
    """Pipeline executions and the step cache beside `tracking`: on its SQL database,
    or through its Knot server on its connection pool."""
    if backend_of(uri) == "sql":
        from knot.pipelines.sql_store import SqlPipelineRecords
        from knot.store.database import database_of

        return SqlPipelineRecords(database_of(tracking, uri, "pipelines need"))
    from knot.client.rest_pipelines import open_rest_pipelines

    return open_rest_pipelines(tracking, uri)


def _open_rest_blobs(uri: str) -> BlobStore:
    from knot.client.rest_artifacts import open_rest_blob_store

    return open_rest_blob_store(uri)


def install() -> None:
    """Hand every area its opener (knot/__init__.py calls this once)."""
    for scheme in REST_SCHEMES:  # artifact URI http(s)://: the server's artifact store
        register_backend(scheme, _open_rest_blobs)
    tracking_stores.install(open_tracking_store)
    registry_stores.install(open_registry_store)
    governance_stores.install(open_governance)
    serving_stores.install(open_traffic)
    data_stores.install(open_data_store)
    monitoring_stores.install(open_monitoring)
    loop_stores.install(open_loop_store)
    pipeline_stores.install(open_pipeline_records)
