"""Inputs from a feature service: a model version bound to one (knot.features.bind_model)
is served from entity ids alone. The request's entity keys are looked up in the online
store, one round trip for every view of the service, and the features join the columns
the model sees; the prediction log then holds the values used."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from knot.errors import Invalid
from knot.registry.entities import Signature

if TYPE_CHECKING:
    from knot.features.online_reader import OnlineReader

__all__ = ["FeatureInputs", "feature_inputs_for"]

log = logging.getLogger("knot.serving")


class FeatureInputs:
    def __init__(self, reader: OnlineReader, signature: Signature | None) -> None:
        self.reader = reader
        self.service = reader.service.node
        # entity keys reach the model only when its signature takes them (a model may
        # need the user id itself, e.g. a matrix factorisation)
        taken = set(signature.columns) if signature is not None else None
        self.keep = [k for k in reader.entity_keys if taken is None or k in taken]

    def fill(self, given: dict[str, Any]) -> dict[str, Any]:
        """The request's columns with the service's features added."""
        features = set(self.reader.columns) & set(given)
        if features:
            name = sorted(features)[0]
            raise Invalid(
                f"input column {name!r} comes from feature service {self.service}; send only "
                f"the entity keys {self.reader.entity_keys}",
                field=name,
            )
        columns = self.reader.read_columns(given)
        keys = set(self.reader.entity_keys)
        rest = {k: v for k, v in given.items() if k not in keys}
        return {**{k: given[k] for k in self.keep}, **rest, **columns}


def feature_inputs_for(
    name: str, version: int, signature: Signature | None
) -> FeatureInputs | None:
    """The feature inputs of a registered model version; None when it is bound to no
    feature service, or the store is a Knot server (which keeps no feature store yet)."""
    try:
        if not _bound(name, version):
            return None
    except Invalid as exc:
        log.info("no feature store for %s/%s: %s", name, version, exc)
        return None
    # only a bound model pays for opening the feature store (its imports take a while)
    from knot.features.fluent import feature_store

    store = feature_store()
    bound = store.catalog.binding(name, version)
    if bound is None:
        return None
    return FeatureInputs(store.reader(bound), signature)


def _bound(name: str, version: int) -> bool:
    """Whether the model version is bound to a feature service: one query on the
    bindings table. Invalid when the store is a Knot server."""
    from sqlalchemy import select

    from knot.features.tables import feature_model_bindings as t
    from knot.store.database import database_of
    from knot.tracking.fluent import session

    s = session()
    db = database_of(s.store, s.store_uri, "the feature store needs")
    with db.read() as conn:
        query = select(t.c.model).where(t.c.model == name, t.c.version == version)
        return conn.execute(query).first() is not None
