"""What starts a retraining: a new dataset version, a monitoring alert firing, a cron
schedule coming due, or a person asking (`knot retrain`).

Each trigger keeps a cursor per model in `loop_cursors`: the dataset version it last
saw, the time of the last alert event it acted on, the last cron fire. A cursor moves in
the same transaction that starts the retraining, so a crash never loses a trigger and a
restart never fires one twice. A trigger seen for the first time starts where the
champion stands: the dataset version the champion was trained on (else the latest),
alerts newer than the champion, the next cron fire after now.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, delete, select

from knot.errors import NotFound
from knot.loop.config import TriggerConfig
from knot.loop.tables import loop_cursors
from knot.registry.fluent import get_model_version
from knot.store.database import Database, now_ms

if TYPE_CHECKING:
    from knot.loop.protocol import LoopStore

__all__ = [
    "MANUAL",
    "Fired",
    "advance",
    "next_fire",
    "poll",
    "read_cursors",
    "request_manual",
    "seed_cursors",
]

MANUAL = "manual"
SCHEDULE = "schedule"
ALERTS = "alerts"


@dataclass(frozen=True)
class Fired:
    """One trigger that fired: its cursor's new value, and the lineage node it names."""

    kind: str  # dataset, alert, schedule, manual
    cursor: str
    value: str
    detail: dict[str, Any] = field(default_factory=dict)
    node: tuple[str, str] | None = None  # e.g. ("dataset", "churn@4"), ("alert", id)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, **self.detail}


def read_cursors(conn: Connection, model: str) -> dict[str, str]:
    t = loop_cursors
    rows = conn.execute(select(t.c.trigger, t.c.value).where(t.c.model == model))
    return {r.trigger: r.value for r in rows}


def _set_cursor(conn: Connection, model: str, key: str, value: str) -> None:
    t = loop_cursors
    conn.execute(delete(t).where(t.c.model == model, t.c.trigger == key))
    conn.execute(
        t.insert(), {"model": model, "trigger": key, "value": value, "updated_at": now_ms()}
    )


def next_fire(schedule: str, after_ms: int) -> int:
    """The first time (ms) `schedule` fires strictly after `after_ms`."""
    from croniter import croniter

    base = datetime.fromtimestamp(after_ms / 1000, tz=UTC)
    return int(croniter(schedule, base).get_next(float) * 1000)


def _champion(model: str) -> Any:
    try:
        return get_model_version(f"models:/{model}@champion")
    except NotFound:
        return None


def _dataset(model: str, name: str, seen: str | None) -> tuple[str | None, list[Fired]]:
    """(the cursor to seed when there is none, what fired)."""
    from knot.data.entities import VersionStatus
    from knot.tracking.datasets import dataset_store

    try:
        versions = dataset_store().versions(name)
    except NotFound:
        return None, []  # the dataset does not exist yet: nothing to see
    accepted = [v for v in versions if v.status is VersionStatus.ACCEPTED]
    if not accepted:
        return None, []
    latest = accepted[-1]
    seed = None
    if seen is None:
        champion = _champion(model)
        trained = [
            int(ref.rpartition("@")[2])
            for ref in (champion.datasets if champion is not None else [])
            if ref.rpartition("@")[0] == name and ref.rpartition("@")[2].isdigit()
        ]
        seed = str(max(trained) if trained else latest.version)
        seen = seed
    if latest.version <= int(seen):
        return seed, []
    fired = Fired(
        "dataset",
        f"dataset:{name}",
        str(latest.version),
        {"dataset": latest.ref, "previous": f"{name}@{seen}"},
        ("dataset", latest.ref),
    )
    return seed, [fired]


def _alerts(model: str, rules: list[str] | str, seen: str | None) -> tuple[str | None, list[Fired]]:
    from knot.monitoring.alerts.events import alert_events

    seed = None
    if seen is None:
        champion = _champion(model)
        seed = str(champion.created_at if champion is not None else now_ms())
        seen = seed
    events = alert_events(model, since_ms=int(seen) + 1, state="fired")
    wanted = [e for e in events if rules == "any" or e.rule in rules]
    fired = [
        Fired(
            "alert",
            ALERTS,
            str(e.at_ms),
            {"alert": e.id, "rule": e.rule, "metric": e.metric, "value": e.value},
            ("alert", e.id),
        )
        for e in wanted
    ]
    return seed, fired


def _schedule(schedule: str, seen: str | None, now: int) -> tuple[str | None, list[Fired]]:
    if seen is None:
        return str(now), []
    due = next_fire(schedule, int(seen))
    if due > now:
        return None, []
    return None, [Fired(SCHEDULE, SCHEDULE, str(now), {"schedule": schedule, "due": due})]


def poll(
    store: LoopStore, model: str, triggers: TriggerConfig, now: int | None = None
) -> list[Fired]:
    """Every trigger of `model` that fired since its cursor (seeding cursors seen first)."""
    now = now_ms() if now is None else now
    cursors = store.read_cursors(model)
    seeds: dict[str, str] = {}
    fired: list[Fired] = []
    if MANUAL in cursors:
        fired.append(Fired(MANUAL, MANUAL, cursors[MANUAL], {"requested_at": int(cursors[MANUAL])}))
    checks: list[tuple[str, Any]] = []
    if triggers.dataset is not None:
        key = f"dataset:{triggers.dataset}"
        checks.append((key, lambda seen: _dataset(model, triggers.dataset or "", seen)))
    if triggers.alerts is not None:
        rules = triggers.alerts
        checks.append((ALERTS, lambda seen: _alerts(model, rules, seen)))
    if triggers.schedule is not None:
        schedule = triggers.schedule
        checks.append((SCHEDULE, lambda seen: _schedule(schedule, seen, now)))
    for key, check in checks:
        seed, found = check(cursors.get(key))
        if seed is not None:
            seeds[key] = seed
        fired.extend(found)
    if seeds:
        store.seed_cursors(model, seeds)
    return fired


def seed_cursors(db: Database, model: str, seeds: dict[str, str]) -> None:
    """Set the cursors of `seeds` that have none yet, in one transaction."""
    with db.write() as conn:
        present = read_cursors(conn, model)
        for key, value in seeds.items():
            if key not in present:  # another poller may have seeded it meanwhile
                _set_cursor(conn, model, key, value)


def advance(conn: Connection, model: str, fired: list[Fired]) -> None:
    """Move the cursors past what fired (inside the transaction that starts the retrain)."""
    t = loop_cursors
    newest: dict[str, str] = {}
    for f in fired:
        if f.kind == MANUAL:
            conn.execute(
                delete(t).where(t.c.model == model, t.c.trigger == MANUAL, t.c.value == f.value)
            )
            continue
        if f.cursor not in newest or int(f.value) > int(newest[f.cursor]):
            newest[f.cursor] = f.value
    for key, value in newest.items():
        _set_cursor(conn, model, key, value)


def request_manual(db: Database, model: str) -> int:
    """Ask the loop of `model` to retrain on its next look (what `knot retrain` files when
    a controller holds the loop); returns the request time."""
    at = now_ms()
    with db.write() as conn:
        if MANUAL not in read_cursors(conn, model):
            _set_cursor(conn, model, MANUAL, str(at))
    return at
