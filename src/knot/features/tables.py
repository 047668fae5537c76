"""The feature store's tables (migration 0012), on the shared metadata of knot.store.schema.

`feature_views` and `feature_services` keep every version of each definition as JSON
(a new version only when the definition changed). `feature_model_bindings` says which
feature service version a registered model version reads, so `knot serve` can fetch
its inputs from entity ids alone.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Integer, String, Table, Text

from knot.store.schema import metadata

__all__ = ["feature_model_bindings", "feature_services", "feature_views"]


def _definitions(name: str) -> Table:
    return Table(
        name,
        metadata,
        Column("name", String(64), primary_key=True),
        Column("version", Integer, primary_key=True),
        Column("spec", Text, nullable=False),  # JSON: FeatureView.spec() / FeatureService.spec()
        Column("digest", String(64), nullable=False),  # sha256 of the spec
        Column("created_at", BigInteger, nullable=False),
        Column("created_by", String(256), nullable=False),
    )


feature_views = _definitions("feature_views")
feature_services = _definitions("feature_services")

feature_model_bindings = Table(
    "feature_model_bindings",
    metadata,
    Column("model", String(256), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("service", String(64), nullable=False),
    Column("service_version", Integer, nullable=False),
    Column("created_at", BigInteger, nullable=False),
)
