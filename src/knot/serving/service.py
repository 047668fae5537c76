"""The running service's state: the champion and challenger slots, the traffic split,
the prediction log, and the watcher that follows aliases.

Loading happens after start-up in the background (`/health` answers at once, `/ready`
once the model is loaded and warmed up). The watcher polls the model's aliases every
`poll_seconds` (one small query); when one moved it loads the new version beside the
old one, warms it up and swaps the slot's reference: requests already checked against
the old version finish on it, later ones go to the new one, none fail.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import random
from pathlib import Path

import numpy as np

from knot.errors import NotFound
from knot.registry.entities import Signature
from knot.serving.columns import TENSOR, Columns, model_input
from knot.serving.config import ServeConfig
from knot.serving.metrics import ServiceMetrics
from knot.serving.predlog import PredictionLog, default_log_dir
from knot.serving.slot import Slot
from knot.serving.sources import ServedModel, load_source, watched_alias

__all__ = ["Service", "route_share"]

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


def load_and_warm(uri: str) -> ServedModel:
    """Load `uri` and call the model once, so the first request pays no warm-up."""
    served = load_source(uri)
    example = _warm_up_input(served.signature)
    if example is not None:
        try:
            served.model.model.predict(model_input(served.signature, example))
        except Exception as exc:  # a synthetic row may be one the model refuses
            log.warning("warm-up of %s raised %s; serving it anyway", served.label, exc)
    return served


class Service:
    def __init__(self, config: ServeConfig) -> None:
        self.config = config.check()
        self.metrics = ServiceMetrics()
        wait = config.batch_wait_ms / 1000
        self.champion = Slot(
            "champion", self.metrics, max_batch_rows=config.max_batch_rows, wait_s=wait
        )
        self.challenger = Slot(
            "challenger", self.metrics, max_batch_rows=config.max_batch_rows, wait_s=wait
        )
        self.log: PredictionLog | None = None
        self.ready = False
        self.settled = asyncio.Event()  # set once loading succeeded or failed
        self.failure: str | None = None
        self._watcher: asyncio.Task[None] | None = None
        self.background: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self.champion.start()
        self.challenger.start()
        root = self.config.log_dir
        self.log = PredictionLog(
            default_log_dir() if root is None else Path(root),
            sample=self.config.log_sample,
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
        c = self.config
        if self.challenger.served is None or c.shadow or c.weight <= 0:
            return self.champion
        return self.challenger if route_share(key) < c.weight else self.champion

    @property
    def shadowing(self) -> bool:
        return self.config.shadow and self.challenger.served is not None

    async def until_ready(self) -> bool:
        """Wait (at most `load_wait_seconds`) for loading to end: a worker that got a
        request before its model was loaded holds it rather than failing it."""
        if not self.ready and not self.failure:
            try:
                await asyncio.wait_for(self.settled.wait(), self.config.load_wait_seconds)
            except TimeoutError:
                return False
        return self.ready

    async def _load_then_watch(self) -> None:
        try:
            self.champion.served = await asyncio.to_thread(load_and_warm, self.config.model)
        except Exception as exc:
            self.failure = f"{type(exc).__name__}: {exc}"
            log.exception("could not load %s", self.config.model)
            self.settled.set()
            return
        if self.config.challenger is not None:
            try:
                served = await asyncio.to_thread(load_and_warm, self.config.challenger)
                self.challenger.served = served
            except NotFound:
                log.info("challenger %s is not set yet; watching it", self.config.challenger)
        self.ready = True
        self.settled.set()
        log.info("serving %s", self.champion.served.label)
        await self._watch()

    async def _watch(self) -> None:
        targets = [
            (slot, ref)
            for slot, uri in (
                (self.champion, self.config.model),
                (self.challenger, self.config.challenger),
            )
            if uri is not None and (ref := watched_alias(uri)) is not None
        ]
        if not targets:
            return
        from knot.registry.fluent import registry

        while True:
            await asyncio.sleep(self.config.poll_seconds)
            for slot, (name, alias) in targets:
                try:
                    aliases = (await asyncio.to_thread(registry().get_model, name)).aliases
                    await self._follow(slot, name, aliases.get(alias))
                except Exception:  # the registry being away must not stop the service
                    log.exception("could not follow %s@%s", name, alias)

    async def _follow(self, slot: Slot, name: str, version: int | None) -> None:
        current = slot.served.version if slot.served is not None else None
        if version == current:
            return
        if version is None:
            if slot is self.challenger:
                log.info("challenger alias removed: all traffic to the champion")
                slot.served = None
            return
        served = await asyncio.to_thread(load_and_warm, f"models:/{name}/{version}")
        slot.served = served  # one reference assignment: the swap
        self.metrics.swaps.labels(slot.role).inc()
        log.info("%s now %s (was version %s)", slot.role, served.label, current)
