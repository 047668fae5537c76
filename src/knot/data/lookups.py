"""Reading the data area's rows: references resolved to versions, rows to entities,
and the NotFound messages that say what exists instead."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, Row, func, select

from knot.data.entities import ColumnSchema, Dataset, DatasetVersion, VersionStatus
from knot.data.tables import dataset_aliases, dataset_versions, datasets
from knot.errors import NotFound
from knot.refs import LATEST, DatasetRef

__all__ = [
    "SUMMARY",
    "all_datasets",
    "by_digest",
    "require_dataset",
    "resolve",
    "unknown",
    "version_of",
]

SUMMARY = [c for c in dataset_versions.c if c.name != "profile"]


def require_dataset(conn: Connection, name: str) -> None:
    if conn.execute(select(datasets.c.name).where(datasets.c.name == name)).first() is None:
        raise unknown(name)


def unknown(name: str) -> NotFound:
    return NotFound(
        f"dataset {name!r} not found; `knot data list` shows the datasets, "
        "`knot data register` adds one",
        field="ref",
    )


def resolve(conn: Connection, ref: DatasetRef) -> DatasetVersion:
    v = dataset_versions
    require_dataset(conn, ref.name)
    query = select(*SUMMARY).where(v.c.name == ref.name)
    if ref.version is not None:
        row = conn.execute(query.where(v.c.version == ref.version)).first()
    elif ref.alias == LATEST:
        row = conn.execute(
            query.where(v.c.status == VersionStatus.ACCEPTED.value)
            .order_by(v.c.version.desc())
            .limit(1)
        ).first()
    else:
        a = dataset_aliases
        number = conn.execute(
            select(a.c.version).where(a.c.name == ref.name, a.c.alias == ref.alias)
        ).scalar()
        if number is None:
            known = conn.execute(select(a.c.alias).where(a.c.name == ref.name)).scalars()
            raise NotFound(
                f"dataset {ref.name!r} has no alias {ref.alias!r}; its aliases: "
                f"{', '.join(known) or 'none'} (plus 'latest')",
                field="ref",
            )
        row = conn.execute(query.where(v.c.version == number)).first()
    if row is None:
        count = conn.execute(select(func.count()).where(v.c.name == ref.name)).scalar()
        what = f"no version {ref.version}" if ref.version is not None else "no accepted version"
        raise NotFound(
            f"dataset {ref.name!r} has {what}; it has {count} version(s), "
            f"`knot data show {ref.name}` lists them",
            field="ref",
        )
    return version_of(row)


def version_of(row: Row[Any]) -> DatasetVersion:
    m = row._mapping
    return DatasetVersion(
        name=m["name"],
        version=m["version"],
        digest=m["digest"],
        rows=m["rows"],
        size=m["size"],
        columns=[ColumnSchema(**c) for c in json.loads(m["columns"])],
        status=VersionStatus(m["status"]),
        description=m["description"],
        tags=json.loads(m["tags"]),
        source=m["source"],
        created_at=m["created_at"],
        created_by=m["created_by"],
        run_id=m["run_id"],
        report_id=m["report_id"],
    )


def all_datasets(conn: Connection) -> list[Dataset]:
    """Every dataset with its version count, latest accepted version and aliases."""
    v, a = dataset_versions, dataset_aliases
    rows = conn.execute(select(datasets).order_by(datasets.c.name)).all()
    counts: dict[str, int] = dict(
        conn.execute(select(v.c.name, func.count()).group_by(v.c.name)).all()
    )
    latest: dict[str, int] = dict(
        conn.execute(
            select(v.c.name, func.max(v.c.version))
            .where(v.c.status == VersionStatus.ACCEPTED.value)
            .group_by(v.c.name)
        ).all()
    )
    aliases: dict[str, dict[str, int]] = {}
    for r in conn.execute(select(a.c.name, a.c.alias, a.c.version)):
        aliases.setdefault(r.name, {})[r.alias] = r.version
    return [
        Dataset(
            name=r.name,
            description=r.description,
            created_at=r.created_at,
            created_by=r.created_by,
            versions=counts.get(r.name, 0),
            latest=latest.get(r.name),
            aliases=aliases.get(r.name, {}),
            has_rules=r.rules is not None,
        )
        for r in rows
    ]


def by_digest(conn: Connection, name: str, digest: str) -> DatasetVersion | None:
    """The version of dataset `name` that holds content `digest`, if one does."""
    row = conn.execute(
        select(*SUMMARY).where(dataset_versions.c.name == name, dataset_versions.c.digest == digest)
    ).first()
    return version_of(row) if row else None
