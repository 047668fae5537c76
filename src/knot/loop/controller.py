"""The retrain loop of one model: trigger -> train a challenger -> evaluate it against the
champion -> canary on the live service -> promote (through the model's promotion policy,
waiting for an approval when it names an approver) or roll back.

Each step ends with one transaction that moves the persisted state (see knot.loop.state)
together with its lineage edges and audit rows, so a controller killed at any point is
resumed by the next one from the last finished step: a retraining killed while training
is trained again under the same retrain id (the pipeline's step cache makes the finished
steps free), never a second retraining. Lineage: each trigger (dataset version, alert)
-> ("retrain", id) -> the challenger's model version, and the held-out dataset ->
the retrain it evaluated.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from knot.errors import Invalid, KnotError, NotFound
from knot.loop.config import LoopConfig
from knot.loop.retrain_steps import CHALLENGER, RetrainSteps
from knot.loop.state import LeaseLost, Retrain, State, default_owner, keep_lease
from knot.loop.stores import loop_store
from knot.registry.fluent import get_promotion_policy
from knot.store.database import Database, database_of

__all__ = ["CHALLENGER", "Controller", "Outcome", "retrain"]


@dataclass(frozen=True)
class Outcome:
    """What one `step` did: the state it left, and whether it is waiting or was locked out."""

    state: State | None
    busy_owner: str | None = None  # another controller holds the lease
    started: str | None = None  # retrain id started by this step
    finished: str | None = None  # retrain id finished (promoted, rejected, rolled back)
    waiting: str | None = None  # why the step stopped before idle (canary, approval)


class Controller(RetrainSteps):
    """Drives the loop of `config.model`; safe to run several at once (one does the work)."""

    def __init__(
        self,
        config: LoopConfig,
        *,
        owner: str | None = None,
        lease_seconds: float = 30.0,
        say: Callable[[str], None] | None = None,
        progress: bool = False,
    ) -> None:
        self.config = config
        self.progress = progress
        self.model = config.model
        self.owner = owner or default_owner()
        self.ttl_ms = int(lease_seconds * 1000)
        self.loop = loop_store()
        self.say = say or (lambda _: None)
        self._check_approval()
        self._check_metrics()

    def _check_approval(self) -> None:
        if not self.config.approval.required:
            return
        try:
            policy = get_promotion_policy(self.model)
        except NotFound:
            policy = None
        if policy is None or policy.approver_role is None or "champion" not in policy.aliases:
            raise Invalid(
                f"approval.required is true, but model {self.model!r} has no promotion policy "
                "with an approver role guarding 'champion'; set one (`knot models policy "
                f"{self.model} --approver-role ROLE`) or set approval.required to false",
                field="approval.required",
            )

    def _check_metrics(self) -> None:
        """Refuse, before anything is trained, evaluation and canary metrics that do not
        measure the model's task (`accuracy` for a regressor), judged on the version the
        challenger will face (the champion, else the latest); a model with no version
        yet is checked when its first challenger is evaluated."""
        if self.config.evaluation is None and self.config.canary is None:
            return
        from knot.loop.config import check_task
        from knot.registry.task import model_task

        alias = self.config.evaluation.champion if self.config.evaluation else "champion"
        found = model_task(self.model, alias) or model_task(self.model)
        if found is not None:
            check_task(self.config, found[1], found[0])

    @property
    def db(self) -> Database:
        """The SQL database under the loop store (for tools and tests that read it);
        Invalid when the store is a Knot server."""
        return database_of(self.loop, str(getattr(self.loop, "uri", "")), "reading the database")

    # the public loop ---------------------------------------------------------------
    def step(self) -> Outcome:
        """Take the lease and advance the loop as far as it goes without waiting."""
        state = self.loop.acquire(self.model, self.owner, self.ttl_ms)
        if state is None:
            held = self.loop.read_state(self.model)
            return Outcome(held.state if held else None, busy_owner=held.owner if held else "?")
        started = finished = None
        with keep_lease(self.loop, self.model, self.owner, self.ttl_ms):
            while True:
                if state.state is State.IDLE:
                    if finished is not None:
                        return Outcome(State.IDLE, started=started, finished=finished)
                    triggers = self._poll()
                    if not triggers:
                        return Outcome(State.IDLE)
                    started = self._start(state, triggers)
                elif state.state is State.TRAINING:
                    self._train(state)
                elif state.state is State.EVALUATING:
                    self._evaluate(state)
                elif state.state is State.CANARY:
                    waiting = self._watch(state)
                    if waiting:
                        return Outcome(State.CANARY, started=started, waiting=waiting)
                elif state.state is State.PROMOTING:
                    self._promote(state)
                elif state.state is State.APPROVAL:
                    waiting = self._await_approval(state)
                    if waiting:
                        return Outcome(State.APPROVAL, started=started, waiting=waiting)
                new = self.loop.read_state(self.model)
                assert new is not None
                if new.state is State.IDLE and state.retrain_id is not None:
                    finished = state.retrain_id
                state = new

    def run(self, *, once: bool = False, interval: float = 5.0) -> Outcome:
        """Step forever (every `interval` s, or poll_seconds while a canary runs); with
        `once`, until the loop is idle again after at most one retraining."""
        longest = self.config.poll_seconds if once else max(interval, self.config.poll_seconds)
        if longest * 1000 >= self.ttl_ms:
            raise Invalid(
                f"the controller sleeps up to {longest:g} s between steps, as long as its "
                f"{self.ttl_ms / 1000:g} s lease: another controller would take over while it "
                "sleeps; use a shorter --interval (and poll_seconds) or a longer --lease-seconds",
                field="interval",
            )
        try:
            while True:
                try:
                    outcome = self.step()
                except LeaseLost as exc:  # stalled past the lease: another controller has it
                    self.say(exc.message)
                    outcome = Outcome(None, busy_owner="another controller")
                except KnotError as exc:
                    if once:
                        raise
                    # a long-running controller outlives a store hiccup or a bad read
                    self.say(f"error: {exc.message}; trying again in {interval:g} s")
                    outcome = Outcome(None)
                if outcome.waiting:
                    self.say(outcome.waiting)
                done = outcome.busy_owner is not None or outcome.state is State.IDLE
                if once and done:
                    return outcome
                pause = self.config.poll_seconds if outcome.waiting else interval
                time.sleep(pause)
        finally:
            self.loop.release(self.model, self.owner)


def retrain(
    config: LoopConfig | str | Path,
    *,
    lease_seconds: float = 30.0,
    say: Callable[[str], None] | None = None,
    progress: bool = False,
) -> Retrain | None:
    """Retrain `config.model` now, through the whole loop (evaluation, canary, promotion),
    and return the finished retraining. When another controller holds the model's loop,
    the request is left for it (it retrains on its next look) and None is returned."""
    from knot.loop.config import load_loop_config
    from knot.loop.triggers import MANUAL

    parsed = config if isinstance(config, LoopConfig) else load_loop_config(config)
    controller = Controller(parsed, lease_seconds=lease_seconds, say=say, progress=progress)
    controller.loop.request_manual(parsed.model)
    outcome = controller.run(once=True)
    if outcome.busy_owner is not None:
        return None
    if MANUAL in controller.loop.read_cursors(
        parsed.model
    ):  # the first run finished a retraining an earlier controller left behind
        outcome = controller.run(once=True)
    done = [
        r for r in controller.loop.list_retrains(parsed.model) if r.retrain_id == outcome.finished
    ]
    return done[0] if done else None
