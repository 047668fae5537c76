"""The running service's state: the champion and challenger slots, the traffic split,
the prediction log, and the watcher that follows aliases and the traffic record.

Loading happens after start-up in the background (`/health` answers at once, `/ready`
once the model is loaded and warmed up). The watcher polls every `poll_seconds`: the
model's traffic record (knot.serving.traffic; when one exists it overrides the
--challenger/--weight/--shadow flags, which are only the starting values, and once one
was followed, clearing it sends all traffic to the champion) and the aliases served.
When an alias moved it loads the new version beside the old one, warms it up and swaps
the slot's reference: requests already checked against the old version finish on it,
later ones go to the new one, none fail. Each switch is audited once per service
(knot.serving.switches).
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from knot.errors import NotFound
from knot.refs import ModelRef
from knot.registry.entities import ModelVersion, Signature
from knot.serving.columns import TENSOR, Columns, model_input
from knot.serving.config import ServeConfig
from knot.serving.inputs.array_input import takes_array
from knot.serving.logs.label_checks import RecentRequests
from knot.serving.logs.mirror import local_root, shared_store
from knot.serving.logs.predictions import PredictionLog
from knot.serving.logs.shared import replica_id
from knot.serving.metrics import ServiceMetrics
from knot.serving.plugins import load_plugins
from knot.serving.slot import Slot
from knot.serving.sources import Plan, ServedModel, Source, load_source
from knot.serving.switches import mark_served, record_switch
from knot.serving.traffic import Traffic, sql_database, traffic_store
from knot.store.database import Database

__all__ = ["Service", "Split", "route_share"]

log = logging.getLogger("knot.serving")


def route_share(key: str | None) -> float:
    """Where in [0, 1) a request falls: fixed for a key (sticky), random without one."""
    if key is None:
        return random.random()
    digest = hashlib.blake2b(key.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def _warm_up_input(signature: Signature | None) -> Columns | None:
    if signature is None:
        return None
    if signature.input_kind == "tensor":
        spec = signature.inputs[0]
        width = spec.shape[1] if spec.shape and len(spec.shape) == 2 else 1
        return {TENSOR: np.zeros((1, max(width, 1)), dtype=spec.type)}
    out: Columns = {}
    for spec in signature.inputs:
        if spec.type in ("string", "category", "object"):
            out[spec.name or ""] = np.array([""], dtype=object)
        else:
            out[spec.name or ""] = np.zeros(1, dtype=spec.type)
    return out


def load_and_warm(source: Source, version: ModelVersion | None = None) -> ServedModel:
    """Load `source` (as `version`, when already resolved) and call the model once, so
    the first request pays no warm-up."""
    served = load_source(source, version)
    example = _warm_up_input(served.signature)
    if takes_array(served.model, example):
        served = dataclasses.replace(served, takes_array=True)
    if example is not None:
        try:
            given = model_input(served.signature, example, as_array=served.takes_array)
            served.model.model.predict(given)
        except Exception as exc:  # a synthetic row may be one the model refuses
            log.warning("warm-up of %s raised %s; serving it anyway", served.label, exc)
    return served


@dataclass(frozen=True)
class Split:
    """How requests are routed now: the challenger (None: the champion answers
    everything), the share of requests it answers, and shadow mode."""

    challenger: Source | None
    weight: float
    shadow: bool

    @classmethod
    def of(cls, traffic: Traffic) -> Split:
        challenger = ModelRef(traffic.model, alias=traffic.challenger)
        return cls(challenger, traffic.weight, traffic.shadow)


def _followed(source: Source | None) -> tuple[str, str] | None:
    """(name, alias) when `source` follows an alias as it moves, else None."""
    if isinstance(source, ModelRef) and source.followed_alias is not None:
        return source.name, source.followed_alias
    return None


class Service:
    """One worker's service. `plan`: the config's references, parsed (and the champion
    resolved) once by `knot serve`; parsed here when not given."""

    def __init__(self, config: ServeConfig, plan: Plan | None = None) -> None:
        self.config = config.check()
        self.plan = plan or Plan.parse(config.model, config.challenger)
        self.metrics = ServiceMetrics()
        self.plugins = load_plugins(config, self.metrics.registry)
        wait = config.batch_wait_ms / 1000
        self.champion = Slot(
            "champion", self.metrics, max_batch_rows=config.max_batch_rows, wait_s=wait
        )
        self.challenger = Slot(
            "challenger", self.metrics, max_batch_rows=config.max_batch_rows, wait_s=wait
        )
        self.split = Split(self.plan.challenger, config.weight, config.shadow)
        # --log-dir keeps the logs in that folder; else a shared S3 log store when set
        self.log_store = None if config.log_dir is not None else shared_store()
        self.log_root = local_root() if config.log_dir is None else Path(config.log_dir)
        self.log: PredictionLog | None = None
        self.recent = RecentRequests()  # what labels sent to /feedback are checked against
        self.ready = False
        self.settled = asyncio.Event()  # set once loading succeeded or failed
        self.failure: str | None = None
        self._name = self.plan.registered_name
        self._record_seen = False  # a traffic record was followed: its absence means 0
        self._split_error: str | None = None
        self._challenger = self.plan.challenger
        self._sql = True  # False once the store turned out to be a Knot server
        self._watcher: asyncio.Task[None] | None = None
        self.background: set[asyncio.Task[None]] = set()
        self.on_ready: Callable[[], object] | None = None  # called once the model is loaded

    @property
    def model_name(self) -> str | None:
        """The served model's name (labels for it are kept under it)."""
        served = self.champion.served
        return self._name or (served.name if served is not None else None)

    async def start(self) -> None:
        self.champion.start()
        self.challenger.start()
        self.log = PredictionLog(
            self.log_root,
            sample=self.config.log_sample,
            plugins=self.plugins,
            store=self.log_store,
            replica=replica_id() if self.log_store is not None else "",
        )
        self._watcher = asyncio.get_running_loop().create_task(self._load_then_watch())

    async def stop(self) -> None:
        """Stop following aliases, answer what is queued, write the prediction log."""
        if self._watcher is not None:
            self._watcher.cancel()
        if self.background:
            await asyncio.gather(*self.background, return_exceptions=True)
        await self.champion.stop()
        await self.challenger.stop()
        if self.log is not None:
            await asyncio.to_thread(self.log.close)

    def route(self, key: str | None) -> Slot:
        """The slot that answers: the challenger for its `weight` share (never in shadow)."""
        split = self.split
        if self.challenger.served is None or split.shadow or split.weight <= 0:
            return self.champion
        return self.challenger if route_share(key) < split.weight else self.champion

    @property
    def shadowing(self) -> bool:
        return self.split.shadow and self.challenger.served is not None

    async def until_ready(self) -> bool:
        """Wait (at most `load_wait_seconds`) for loading to end: a worker that got a
        request before its model was loaded holds it rather than failing it."""
        if not self.ready and not self.failure:
            try:
                await asyncio.wait_for(self.settled.wait(), self.config.load_wait_seconds)
            except TimeoutError:
                return False
        return self.ready

    def _database(self) -> Database | None:
        """The SQL store the swap markers live in; None (said once) when KNOT_STORE is a
        Knot server, which has no route for them."""
        if not self._sql:
            return None
        db = sql_database()
        if db is None:
            self._sql = False
            log.warning("KNOT_STORE is a Knot server: slot switches are not audited")
        return db

    async def _load_then_watch(self) -> None:
        try:
            plan = self.plan
            self.champion.served = await asyncio.to_thread(load_and_warm, plan.model, plan.version)
        except Exception as exc:
            self.failure = f"{type(exc).__name__}: {exc}"
            log.exception("could not load %s", self.plan.model)
            self.settled.set()
            return
        try:
            await self._refresh_split()
        except Exception:  # the flags still say what to serve
            log.exception("could not read the traffic record of %s", self._name)
        second = self._challenger = self.split.challenger
        if second is not None:
            try:
                self.challenger.served = await asyncio.to_thread(load_and_warm, second)
            except NotFound:
                log.info("challenger %s is not set yet; watching it", second)
            except Exception:
                log.exception("could not load the challenger %s; retrying as it is watched", second)
        await asyncio.to_thread(self._mark_loaded)
        self.ready = True
        self.settled.set()
        if self.on_ready is not None:
            self.on_ready()
        log.info("serving %s", self.champion.served.label)
        await self._watch()

    def _mark_loaded(self) -> None:
        db = self._database()
        if db is None:
            return
        for slot in (self.champion, self.challenger):
            if slot.served is not None:
                try:
                    mark_served(db, self.config.service_id, slot.role, slot.served)
                except Exception:
                    log.exception(
                        "could not record that %s serves %s", slot.role, slot.served.label
                    )

    async def _watch(self) -> None:
        if self._name is None and _followed(self._challenger) is None:
            return  # a kit or other source with no traffic record: nothing can change
        while True:
            await asyncio.sleep(self.config.poll_seconds)
            try:
                await self._poll()
            except Exception:  # the registry being away must not stop the service
                log.exception("could not follow %s", self.plan.model)

    async def _refresh_split(self) -> None:
        name = self._name
        if name is None:
            return
        record = await asyncio.to_thread(lambda: traffic_store().get(name))
        if record is not None:
            self._record_seen = True
            split = Split.of(record)
        elif self._record_seen:
            split = Split(None, 0.0, False)  # the record was cleared: all to the champion
        else:
            return
        if split != self.split:
            log.info("traffic of %s now %s", self._name, split)
            self.split = split

    async def _poll(self) -> None:
        try:
            await self._refresh_split()
            self._split_error = None
        except Exception as exc:  # aliases are still followed; the error is said once
            if str(exc) != self._split_error:
                log.warning("could not read the traffic record of %s: %s", self._name, exc)
            self._split_error = str(exc)
        aliases: dict[str, dict[str, int]] = {}
        ref = _followed(self.plan.model)
        if ref is not None:
            await self._follow(self.champion, ref, aliases)
        second = self.split.challenger
        if second is None:
            await self._switch(self.challenger, None)
        elif (ref := _followed(second)) is not None:
            await self._follow(self.challenger, ref, aliases)
        elif second != self._challenger or self.challenger.served is None:
            await self._switch(self.challenger, await asyncio.to_thread(load_and_warm, second))
        self._challenger = second

    async def _follow(
        self, slot: Slot, ref: tuple[str, str], aliases: dict[str, dict[str, int]]
    ) -> None:
        name, alias = ref
        if name not in aliases:
            from knot.registry.fluent import registry

            aliases[name] = (await asyncio.to_thread(registry().get_model, name)).aliases
        version = aliases[name].get(alias)
        current = slot.served
        if version is None:
            if slot is self.challenger and current is not None:
                log.info("challenger alias removed: all traffic to the champion")
                await self._switch(slot, None)
            return
        if current is not None and (current.name, current.version) == (name, version):
            return
        pinned = ModelRef(name, version=version)
        await self._switch(slot, await asyncio.to_thread(load_and_warm, pinned))

    async def _switch(self, slot: Slot, served: ServedModel | None) -> None:
        before = slot.served
        if before is None and served is None:
            return
        slot.served = served  # one reference assignment: the swap
        if served is not None:
            self.metrics.swaps.labels(slot.role).inc()
        was = before.label if before is not None else "nothing"
        log.info("%s now %s (was %s)", slot.role, served.label if served else "unset", was)
        db = self._database()
        if db is not None:
            try:
                await asyncio.to_thread(
                    record_switch, db, self.config.service_id, slot.role, before, served
                )
            except Exception:
                log.exception("could not audit the switch of %s", slot.role)
