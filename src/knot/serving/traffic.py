"""Traffic records: the champion/challenger split of a model, kept in the store so every
service serving the model follows it without a restart (see knot.serving.service).

One row per model; setting it is one upsert audited in the same transaction
("traffic.set"), clearing it one delete ("traffic.clear"). The challenger is an alias
of the same model (`models:/NAME@challenger`): moving that alias changes the version
the canary runs without touching the record.

When the model has a promotion policy, a live split (a weight above 0, not shadow)
needs the challenger's version to have passed it, unless an admin sets it; moving the
challenger alias while the split is live is held to the same rule
(knot.registry.guards). A shadow split never answers a request, so it needs nothing.
"""

from __future__ import annotations

import math
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict
from sqlalchemy import Connection, select

from knot.errors import Forbidden, Invalid
from knot.governance import audit
from knot.governance.identity import current_actor
from knot.refs import check_alias
from knot.registry.guards import check_traffic
from knot.registry.rows import get_model
from knot.serving.stores import open_traffic
from knot.serving.tables import serving_traffic
from knot.store.database import Database, now_ms

__all__ = [
    "Traffic",
    "TrafficRecords",
    "TrafficStore",
    "check_shadow",
    "check_weight",
    "clear_traffic",
    "get_traffic",
    "read_traffic",
    "set_traffic",
    "sql_database",
    "traffic_store",
]


class Traffic(BaseModel):
    """The split a model's services follow: `weight` of requests to the `challenger`
    alias (or, in `shadow` mode, a copy of every request whose answer is only logged)."""

    model_config = ConfigDict(frozen=True)

    model: str
    challenger: str
    weight: float
    shadow: bool
    updated_at: int
    updated_by: str


def check_weight(weight: object) -> float:
    if (
        isinstance(weight, bool)
        or not isinstance(weight, int | float)
        or not math.isfinite(weight)
        or not 0.0 <= weight <= 1.0
    ):
        raise Invalid(
            f"traffic weight {weight!r} is not a share of requests; give a number from 0 "
            "(all to the champion) to 1 (all to the challenger), e.g. 0.05 for a 5% canary",
            field="weight",
        )
    return float(weight)


def check_shadow(shadow: object) -> bool:
    if not isinstance(shadow, bool):
        raise Invalid(f"shadow {shadow!r} is not true or false", field="shadow")
    return shadow


def _state(traffic: Traffic | None) -> dict[str, Any] | None:
    if traffic is None:
        return None
    return {"challenger": traffic.challenger, "weight": traffic.weight, "shadow": traffic.shadow}


def read_traffic(conn: Connection, model: str) -> Traffic | None:
    """The model's record inside a caller's transaction (None when none is set)."""
    t = serving_traffic
    row = conn.execute(select(t).where(t.c.model == model)).first()
    if row is None:
        return None
    return Traffic(
        model=row.model,
        challenger=row.challenger,
        weight=float(row.weight),
        shadow=bool(row.shadow),
        updated_at=row.updated_at,
        updated_by=row.updated_by,
    )


class TrafficStore:
    """Traffic records on a SQL metadata store."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def set(
        self,
        model: str,
        *,
        challenger: str = "challenger",
        weight: float = 0.0,
        shadow: bool = False,
    ) -> Traffic:
        check_alias(challenger)
        weight = check_weight(weight)
        shadow = check_shadow(shadow)
        t = serving_traffic
        with self.db.write() as conn:
            get_model(conn, model)  # NotFound lists the registered models
            check_traffic(conn, model, challenger, weight, shadow)
            before = read_traffic(conn, model)
            values = {
                "challenger": challenger,
                "weight": weight,
                "shadow": shadow,
                "updated_at": now_ms(),
                "updated_by": current_actor(),
            }
            if before is None:
                conn.execute(t.insert(), {"model": model, **values})
            else:
                conn.execute(t.update().where(t.c.model == model).values(**values))
            after = Traffic(model=model, **values)
            audit.record(conn, "traffic.set", "model", model, _state(before), _state(after))
            return after

    def get(self, model: str) -> Traffic | None:
        with self.db.read() as conn:
            record = read_traffic(conn, model)
            if record is None:  # a record's foreign key says its model exists
                get_model(conn, model)  # NotFound lists the registered models
            return record

    def clear(self, model: str) -> None:
        t = serving_traffic
        with self.db.write() as conn:
            get_model(conn, model)
            before = read_traffic(conn, model)
            if before is None:
                return  # nothing to clear: no audit row for a change that did not happen
            conn.execute(t.delete().where(t.c.model == model))
            audit.record(conn, "traffic.clear", "model", model, _state(before), None)


class TrafficRecords(Protocol):
    """Traffic records on some store: TrafficStore (SQL) or the REST client."""

    def set(
        self, model: str, *, challenger: str = ..., weight: float = ..., shadow: bool = ...
    ) -> Traffic: ...

    def get(self, model: str) -> Traffic | None: ...

    def clear(self, model: str) -> None: ...


def traffic_store() -> TrafficRecords:
    """Traffic records on the current session's metadata store (KNOT_STORE): on its SQL
    database, or through the Knot server it names (sharing the registry's connection)."""
    from knot.registry.fluent import registry

    return open_traffic(registry())


def sql_database() -> Database | None:
    """The session's SQL metadata database, None when KNOT_STORE is a Knot server."""
    from knot.registry.fluent import registry

    db = getattr(registry(), "db", None)
    return db if isinstance(db, Database) else None


def set_traffic(
    model: str, *, challenger: str = "challenger", weight: float = 0.0, shadow: bool = False
) -> Traffic:
    """Send `weight` of `model`'s requests to its `challenger` alias (or, with `shadow`,
    a copy of every request whose answers are only logged). Running services follow
    within their poll interval. Audited as "traffic.set".

    If `model` has a promotion policy, a weight above 0 (not shadow) needs the
    challenger's version to have passed it (promoted to an alias it guards), unless an
    admin's token sets it; otherwise Forbidden names the fix."""
    return traffic_store().set(model, challenger=challenger, weight=weight, shadow=shadow)


def get_traffic(model: str) -> Traffic | None:
    """The split `model`'s services follow, or None when none is set."""
    return traffic_store().get(model)


def clear_traffic(model: str) -> None:
    """All of `model`'s traffic back to the champion (audited as "traffic.clear")."""
    traffic_store().clear(model)


def check_static_split(
    champion: str | None, challenger: str | None, weight: float, shadow: bool
) -> None:
    """Forbidden if `knot serve --challenger REF --weight W` would answer live requests
    of a model that has a promotion policy: a split fixed at start-up is recorded
    nowhere and checked by nobody, so a guarded model's split goes through `knot
    traffic set` (guarded, audited, followed by running services). `champion` and
    `challenger` are registered model names (None for a ModelKit); a shadow split
    answers nothing, so it needs nothing."""
    if weight <= 0 or shadow:
        return
    from knot.registry.fluent import registry

    guarded = sorted({n for n in (champion, challenger) if n and registry().get_policy(n)})
    if guarded:
        name = guarded[0]
        raise Forbidden(
            f"--challenger with --weight {weight:g} would send live requests past the "
            f"promotion policy of model {name!r}; serve the champion alone and split with "
            f"`knot traffic set {name} --weight {weight:g}` (it checks the policy and is "
            "audited), or pass --shadow to only log the challenger's answers",
            field="weight",
        )
