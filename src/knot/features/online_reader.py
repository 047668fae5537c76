"""Reading a feature service's values for a batch of entities: one online store round
trip for every view of the service, values older than a view's TTL read as null."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import orjson

from knot.errors import Invalid
from knot.features.catalog import StoredService, StoredView
from knot.features.keys import entity_key
from knot.features.online.protocol import OnlineStore

__all__ = ["OnlineReader", "service_columns"]


def service_columns(
    service: StoredService, full_names: bool = False
) -> list[tuple[StoredView, list[int], list[str]]]:
    """Per view of `service`: the positions of its requested features in the stored
    value (after the event time) and the output column of each."""
    out = []
    for stored in service.views:
        view = stored.view
        wanted: list[str] = []
        for item in service.service.features:
            name, _, feature = item.partition(":")
            if name == view.name:
                wanted.extend([feature] if feature else view.feature_names)
        wanted = list(dict.fromkeys(wanted))
        columns = [f"{view.name}__{f}" if full_names else f for f in wanted]
        out.append((stored, [view.feature_names.index(f) + 1 for f in wanted], columns))
    return out


def _keys(entities: Mapping[str, Sequence[Any]], names: Sequence[str]) -> list[str]:
    if len(names) == 1:
        values = entities[names[0]]
        if set(map(type, values)) <= {int, str}:  # the common case, converted in C
            return list(map(str, values))
        return [entity_key((v,)) for v in values]
    return [entity_key(key) for key in zip(*(entities[k] for k in names), strict=True)]


def _columns_builder(pairs: list[tuple[str, int]]) -> Callable[[list[Any]], dict[str, list[Any]]]:
    """A function from a decoded value [ts, f1, ...] to {column: [value]}: a dict display
    with the column names as constants builds in about half the time of a comprehension,
    which is most of a one-entity read after the SQL. The names enter as repr() literals
    and the positions as ints, so the source holds nothing else."""
    items = ", ".join(f"{column!r}: [row[{int(position)}]]" for column, position in pairs)
    built: Callable[[list[Any]], dict[str, list[Any]]] = eval(f"lambda row: {{{items}}}")
    return built


class OnlineReader:
    """A service's online reads, planned once (the serving hot path reuses it)."""

    def __init__(self, service: StoredService, store: OnlineStore, full_names: bool = False):
        self.service = service
        self.store = store
        self.plan = service_columns(service, full_names)
        self.entity_keys = list(dict.fromkeys(k for s, _, _ in self.plan for k in s.view.entities))
        self.columns = [c for _, _, cols in self.plan for c in cols]
        clash = sorted(
            {c for c in self.columns if self.columns.count(c) > 1}
            | (set(self.columns) & set(self.entity_keys))
        )
        if clash:
            raise Invalid(
                f"feature service {service.service.name!r} has features named {clash} in more "
                "than one view (or named as an entity key); read it with full names "
                "(view__feature)",
                field="features",
            )
        # a one-view service keyed by one column, asked for one entity (each request of
        # `knot serve`), reads it with one prepared statement and builds no batch lists
        self._one: tuple[str, str, list[tuple[str, int]], int | None] | None = None
        if len(self.plan) == 1 and len(self.plan[0][0].view.entities) == 1:
            stored, positions, columns = self.plan[0]
            ttl = stored.view.ttl_seconds
            pairs = list(zip(columns, positions, strict=True))
            self._one = (self.entity_keys[0], stored.view.name, pairs, ttl)
            self._columns_of = _columns_builder(pairs)
        self._read_one = store.read_one

    def read_columns(self, entities: Mapping[str, Sequence[Any]]) -> dict[str, list[Any]]:
        """Feature columns for entity key columns ({"user_id": [7, 8]})."""
        one = self._one
        if one is not None:
            ids = entities.get(one[0])
            if ids is not None and len(ids) == 1:
                value = ids[0]
                key = (
                    str(value) if type(value) is int or type(value) is str else entity_key((value,))
                )
                got = self._read_one(one[1], key)
                row = orjson.loads(got) if got is not None else None
                limit = one[3]
                if row is not None and limit is not None and row[0] < (time.time() - limit) * 1000:
                    row = None
                if row is None:
                    return {column: [None] for column, _ in one[2]}
                return self._columns_of(row)
        missing = [k for k in self.entity_keys if k not in entities]
        if missing:
            raise Invalid(
                f"feature service {self.service.service.name!r} needs entity keys "
                f"{self.entity_keys}; the input lacks {missing}",
                field=missing[0],
            )
        lookups = [(s.view.name, _keys(entities, s.view.entities)) for s, _, _ in self.plan]
        found = self.store.read(lookups)
        now = time.time() * 1000
        out: dict[str, list[Any]] = {}
        for (stored, positions, columns), values in zip(self.plan, found, strict=True):
            # one orjson call for the whole batch: [[ts, f1, ...], null, ...]
            decoded = orjson.loads(b"[" + b",".join([v or b"null" for v in values]) + b"]")
            ttl = stored.view.ttl_seconds
            if ttl is not None:
                oldest = now - ttl * 1000
                decoded = [d if d is not None and d[0] >= oldest else None for d in decoded]
            width = len(stored.view.feature_names) + 1
            if all(d is None or len(d) == width for d in decoded):
                # every value as wide as the view: transpose in C, an absent one as nulls
                blank = [None] * width
                rows = zip(*[blank if d is None else d for d in decoded], strict=True)
                transposed = list(rows) if decoded else [()] * width
                for position, column in zip(positions, columns, strict=True):
                    out[column] = list(transposed[position])
                continue
            for position, column in zip(positions, columns, strict=True):
                out[column] = [d[position] if d is not None else None for d in decoded]
        return out

    def read_rows(self, rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """Each entity row with its features added."""
        for i, row in enumerate(rows):
            missing = [k for k in self.entity_keys if k not in row]
            if missing:
                raise Invalid(
                    f"entity row {i} ({dict(row)!r}) lacks keys {missing} that feature service "
                    f"{self.service.service.name!r} needs",
                    field=missing[0],
                )
        columns = self.read_columns({k: [r[k] for r in rows] for k in self.entity_keys})
        return [{**row, **{c: columns[c][i] for c in self.columns}} for i, row in enumerate(rows)]
