"""Feature views and feature services: what a feature is, defined once.

A FeatureView names the rows of a source (a Knot dataset or a Parquet file) keyed by
entity columns and stamped by an event-time column, the features taken from them with
their types, and how long a value stays valid (TTL). A FeatureService is a named set of
views (or of some of their features) that a model reads together. Both are plain
values; `check()` raises Invalid naming the field, the value and the fix, so a bad
definition changes nothing.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from knot.errors import Invalid
from knot.refs import check_dataset_name

__all__ = [
    "DTYPES",
    "Feature",
    "FeatureService",
    "FeatureView",
    "parse_ttl",
]

#: feature types and the DuckDB type each is cast to
DTYPES = {"int64": "BIGINT", "float64": "DOUBLE", "string": "VARCHAR", "bool": "BOOLEAN"}
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")
_TTL = re.compile(r"^\s*([0-9]+)\s*([smhdw]?)\s*$")
_UNIT = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def check_name(value: object, what: str) -> str:
    """A view, service, feature or column name: letters, digits and '_', starting with a
    letter, so it is a safe SQL identifier and a Redis key part."""
    if not isinstance(value, str) or not _NAME.match(value):
        raise Invalid(
            f"{what} {value!r} is not a valid name; use 1 to 64 letters, digits or '_', "
            "starting with a letter (e.g. user_stats)",
            field=what.split()[-1],
        )
    return value


def parse_ttl(value: object) -> int | None:
    """Seconds from an int or a string like '90d', '12h', '30m', '45s'; None: no TTL."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise Invalid(
            f"ttl {value!r} is not a duration; write e.g. 3600, '12h' or '30d'", field="ttl"
        )
    if isinstance(value, int):
        seconds = value
    else:
        match = _TTL.match(str(value))
        if match is None:
            raise Invalid(
                f"ttl {value!r} is not a duration; write seconds (3600) or a number with "
                "s, m, h, d or w (e.g. '12h', '30d')",
                field="ttl",
            )
        seconds = int(match.group(1)) * _UNIT[match.group(2)]
    if seconds <= 0:
        raise Invalid(f"ttl {value!r} must be positive; leave it out for no TTL", field="ttl")
    return seconds


@dataclass(frozen=True)
class Feature:
    name: str
    dtype: str = "float64"

    def check(self) -> Feature:
        check_name(self.name, "feature name")
        if self.dtype not in DTYPES:
            raise Invalid(
                f"feature {self.name!r} has type {self.dtype!r}; use one of {', '.join(DTYPES)}",
                field="dtype",
            )
        return self


@dataclass(frozen=True)
class FeatureView:
    """Features of one entity over time, read from `source`.

    `source` is a Knot dataset reference (ratings, ratings@3) or a Parquet file
    (anything ending in .parquet, or 'parquet:PATH'). `ttl`: seconds, or '30d'.
    """

    name: str
    entities: tuple[str, ...]
    timestamp: str
    features: tuple[Feature, ...]
    source: str
    ttl: int | str | None = None
    owner: str = ""
    description: str = ""

    def __post_init__(self) -> None:
        # accept lists, a single key and ("name", "dtype") pairs from Python callers
        entities = (self.entities,) if isinstance(self.entities, str) else tuple(self.entities)
        object.__setattr__(self, "entities", entities)
        object.__setattr__(self, "features", tuple(_feature(f) for f in self.features))
        object.__setattr__(self, "source", str(self.source))

    @property
    def ttl_seconds(self) -> int | None:
        return parse_ttl(self.ttl)

    @property
    def source_kind(self) -> str:
        """'parquet' or 'dataset'."""
        return "parquet" if _parquet_path(self.source) is not None else "dataset"

    @property
    def parquet_path(self) -> Path | None:
        return _parquet_path(self.source)

    @property
    def feature_names(self) -> list[str]:
        return [f.name for f in self.features]

    def check(self) -> FeatureView:
        check_name(self.name, "feature view name")
        if not self.entities:
            raise Invalid(
                f"feature view {self.name!r} names no entity key; add entities: [user_id]",
                field="entities",
            )
        for key in self.entities:
            check_name(key, "entity key")
        check_name(self.timestamp, "timestamp column")
        if not self.features:
            raise Invalid(
                f"feature view {self.name!r} has no features; list at least one", field="features"
            )
        names = [f.check().name for f in self.features]
        clash = sorted(
            {n for n in names if names.count(n) > 1}
            | (set(names) & {*self.entities, self.timestamp})
        )
        if clash:
            raise Invalid(
                f"feature view {self.name!r} names {clash} twice (as a feature, entity key or "
                "timestamp); give each column one role",
                field="features",
            )
        if self.source_kind == "dataset":
            check_dataset_name(self.source.split("@", 1)[0])
        self.ttl_seconds  # noqa: B018  (raises Invalid for a bad TTL)
        return self

    def spec(self) -> dict[str, Any]:
        """The definition as stored: plain JSON values, TTL in seconds."""
        out = asdict(self)
        out["entities"] = list(self.entities)
        out["features"] = [{"name": f.name, "dtype": f.dtype} for f in self.features]
        out["ttl"] = self.ttl_seconds
        return out

    def digest(self) -> str:
        return _digest(self.spec())

    @classmethod
    def from_spec(cls, spec: dict[str, Any], base: Path | None = None) -> FeatureView:
        """A view from a YAML/JSON mapping; a relative Parquet path is taken from `base`."""
        known = {
            "name",
            "entities",
            "timestamp",
            "features",
            "source",
            "ttl",
            "owner",
            "description",
        }
        name = spec.get("name", "?")
        unknown = sorted(set(spec) - known - {"kind"})
        if unknown:
            raise Invalid(
                f"feature view {name!r} has unknown fields {unknown}; the fields are "
                f"{', '.join(sorted(known))}",
                field=unknown[0],
            )
        missing = sorted({"name", "entities", "timestamp", "features", "source"} - set(spec))
        if missing:
            raise Invalid(f"feature view {name!r} lacks {missing}; add them", field=missing[0])
        source = _source_of(spec["source"], name)
        path = _parquet_path(source)
        if path is not None and base is not None and not path.is_absolute():
            source = str((base / path).resolve())
        features = spec["features"]
        if isinstance(features, dict):  # {rating_mean: float64, ...}
            features = [{"name": k, "dtype": v} for k, v in features.items()]
        if not isinstance(features, list):
            raise Invalid(
                f"features of {name!r} must be a list or a name: type mapping", field="features"
            )
        return cls(
            name=spec["name"],
            entities=spec["entities"],
            timestamp=spec["timestamp"],
            features=tuple(_feature(f) for f in features),
            source=source,
            ttl=spec.get("ttl"),
            owner=str(spec.get("owner") or ""),
            description=str(spec.get("description") or ""),
        ).check()


@dataclass(frozen=True)
class FeatureService:
    """A named set of features a model reads together: 'view' (all its features) or
    'view:feature' items."""

    name: str
    features: tuple[str, ...]
    owner: str = ""
    description: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "features", tuple(self.features))

    @property
    def view_names(self) -> list[str]:
        return list(dict.fromkeys(item.split(":", 1)[0] for item in self.features))

    def check(self) -> FeatureService:
        check_name(self.name, "feature service name")
        if not self.features:
            raise Invalid(
                f"feature service {self.name!r} lists no features; add views", field="features"
            )
        for item in self.features:
            view, _, feature = str(item).partition(":")
            check_name(view, "feature view name")
            if feature:
                check_name(feature, "feature name")
        return self

    def spec(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "features": list(self.features),
            "owner": self.owner,
            "description": self.description,
        }

    def digest(self) -> str:
        return _digest(self.spec())

    @classmethod
    def from_spec(cls, spec: dict[str, Any]) -> FeatureService:
        name = spec.get("name", "?")
        known = {"name", "features", "owner", "description"}
        unknown = sorted(set(spec) - known - {"kind"})
        if unknown or "features" not in spec or "name" not in spec:
            raise Invalid(
                f"feature service {name!r} needs name and features (optional: owner, "
                f"description); got {sorted(spec)}",
                field=(unknown or ["features"])[0],
            )
        features = spec["features"]
        if not isinstance(features, list):
            raise Invalid(
                f"features of service {name!r} must be a list of view[:feature]", field="features"
            )
        return cls(
            name=spec["name"],
            features=tuple(str(f) for f in features),
            owner=str(spec.get("owner") or ""),
            description=str(spec.get("description") or ""),
        ).check()


def _feature(value: object) -> Feature:
    if isinstance(value, Feature):
        return value
    if isinstance(value, tuple | list) and len(value) == 2:
        return Feature(str(value[0]), str(value[1]))
    if isinstance(value, dict) and "name" in value:
        return Feature(str(value["name"]), str(value.get("dtype", "float64")))
    if isinstance(value, str):
        return Feature(value)
    raise Invalid(
        f"feature {value!r} is not a Feature, a name, a (name, dtype) pair or "
        "{name: ..., dtype: ...}",
        field="features",
    )


def _parquet_path(source: str) -> Path | None:
    if source.startswith("parquet:"):
        return Path(source.removeprefix("parquet:"))
    if source.endswith(".parquet"):
        return Path(source)
    return None


def _source_of(value: object, view: str) -> str:
    """'dataset: ratings@3' / 'parquet: data/x.parquet' mappings, or a bare string."""
    if isinstance(value, dict) and len(value) == 1:
        kind, target = next(iter(value.items()))
        if kind == "dataset":
            return str(target)
        if kind == "parquet":
            return f"parquet:{target}"
    if isinstance(value, str) and value:
        return value
    raise Invalid(
        f"source of feature view {view!r} is {value!r}; write {{dataset: NAME@VERSION}} or "
        "{parquet: PATH}",
        field="source",
    )


def _digest(spec: dict[str, Any]) -> str:
    body = json.dumps(spec, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(body.encode()).hexdigest()
