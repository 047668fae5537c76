"""The steps of one retraining, each ending in one transaction that moves the loop's
persisted state with its lineage edges and audit rows (see knot.loop.controller).

`RetrainSteps` is the base of the Controller: it holds what every step needs (the
model's config, the database, this controller's owner name) and one method per state.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress
from typing import Any

from knot.errors import Conflict, Invalid, KnotError, NotFound
from knot.governance import audit
from knot.governance.lineage import Edge, add_edges
from knot.loop.canary import judge, read_canary
from knot.loop.config import LoopConfig, resolve_pipeline
from knot.loop.state import (
    LeaseLost,
    LoopState,
    State,
    finish_retrain,
    start_retrain,
    transition,
    update_retrain,
)
from knot.loop.triggers import Fired, advance, poll
from knot.metrics import check_metric_task
from knot.pipelines.pipeline import Pipeline
from knot.registry.entities import ModelVersion
from knot.registry.fluent import (
    delete_alias,
    get_model_version,
    list_promotion_requests,
    promote,
    set_alias,
)
from knot.registry.task import Task, model_task
from knot.serving.traffic import clear_traffic, set_traffic
from knot.store.database import Database, now_ms

__all__ = ["CHALLENGER", "RetrainSteps"]

CHALLENGER = "challenger"


class RetrainSteps:
    config: LoopConfig
    model: str
    owner: str
    db: Database
    say: Callable[[str], None]
    progress: bool

    def _poll(self) -> list[Fired]:
        return poll(self.db, self.model, self.config.triggers)

    def _start(self, state: LoopState, triggers: list[Fired]) -> str:
        with self.db.write() as conn:
            retrain = start_retrain(conn, self.model, self.owner, [t.to_dict() for t in triggers])
            detail = {"triggers": [t.to_dict() for t in triggers]}
            self._move(conn, state, State.TRAINING, retrain, detail)
            advance(conn, self.model, triggers)
            nodes = [t.node for t in triggers if t.node is not None]
            add_edges(conn, [Edge(k, i, "triggered", "retrain", retrain) for k, i in nodes])
        kinds = "; ".join(
            t.kind + "".join(f" {k}={v}" for k, v in t.detail.items()) for t in triggers
        )
        self.say(f"retrain {retrain} of {self.model} started by {kinds}")
        return retrain

    def _train(self, state: LoopState) -> None:
        retrain = state.retrain_id
        assert retrain is not None
        self.say(f"training: {self.config.pipeline}")
        try:
            fn = resolve_pipeline(self.config.pipeline)
            params = self.config.params
            # a @knot.pipeline shows a progress bar of its steps; a plain function runs as is
            result = (
                fn.run(**params, progress=self.progress)
                if isinstance(fn, Pipeline)
                else fn(**params)
            )
            version, run_id = _version_of(result, self.config.pipeline)
            if version.name != self.model:
                raise Invalid(
                    f"pipeline {self.config.pipeline} registered {version.name}/"
                    f"{version.version}, not a version of {self.model}",
                    field="pipeline",
                )
            set_alias(self.model, CHALLENGER, version.version)
        except LeaseLost:
            raise
        except Exception as exc:  # a failing pipeline ends this retraining, not the loop
            self._finish(state, "failed", f"pipeline {self.config.pipeline} failed: {exc}")
            return
        detail = {**state.detail, "challenger": version.version, "run_id": run_id}
        with self.db.write() as conn:
            self._move(conn, state, State.EVALUATING, retrain, detail)
            update_retrain(conn, retrain, challenger_version=version.version, run_id=run_id)
            node = f"{self.model}/{version.version}"
            edges = [Edge("retrain", retrain, "produced", "model_version", node)]
            edges.append(Edge("retrain", retrain, "ran", "run", run_id))
            add_edges(conn, edges)
        self.say(f"trained challenger {self.model}/{version.version}")

    def _evaluate(self, state: LoopState) -> None:
        from knot.gates.evaluate import evaluate_challenger

        retrain, version = state.retrain_id, int(state.detail["challenger"])
        assert retrain is not None
        detail = dict(state.detail)
        ev = self.config.evaluation
        task = None
        if ev is not None:
            try:
                evaluation = evaluate_challenger(
                    self.model,
                    version,
                    dataset=ev.dataset,
                    label=ev.label,
                    policy=ev.policy(),
                    champion=ev.champion,
                    where="evaluation",
                )
            except KnotError as exc:  # a missing held-out dataset, unmappable labels, ...
                self._finish(state, "failed", f"evaluation failed: {exc.message}")
                return
            detail["evaluation"] = evaluation.summary()
            self.say(evaluation.summary())
            held_out = Edge(
                "dataset", evaluation.dataset or ev.dataset, "evaluated", "retrain", retrain
            )
            with self.db.write() as conn:
                add_edges(conn, [held_out])
            if not evaluation.passed:
                self._finish(state, "rejected", "; ".join(evaluation.reasons), detail)
                return
            detail["champion"] = _version_number(evaluation.champion)
            task = evaluation.task
        canary = self.config.canary
        if canary is None:
            with self.db.write() as conn:
                self._move(conn, state, State.PROMOTING, retrain, detail)
            return
        try:
            task = task if ev is not None else _task(self.model, version)
            check_metric_task(
                canary.metric, task, where="canary.metric", model=f"{self.model}/{version}"
            )
            if "champion" not in detail:  # no evaluation named it: the canary compares with it
                detail["champion"] = _alias_version(self.model, "champion")
        except KnotError as exc:
            self._finish(state, "failed", f"canary cannot start: {exc.message}")
            return
        detail["task"] = task
        # taken before the traffic moves: the first challenger answers fall after it
        detail["canary_started"] = now_ms()
        set_traffic(self.model, challenger=CHALLENGER, weight=canary.weight)
        with self.db.write() as conn:
            self._move(conn, state, State.CANARY, retrain, detail)
        self.say(
            f"canary: {canary.weight:.0%} of requests to {self.model}/{version}, judged by "
            f"live {canary.metric}"
        )

    def _watch(self, state: LoopState) -> str | None:
        canary = self.config.canary
        retrain = state.retrain_id
        assert canary is not None and retrain is not None
        started = int(state.detail["canary_started"])
        reading = read_canary(
            self.model,
            int(state.detail["challenger"]),
            state.detail.get("champion"),
            started,
            canary.metric,
            state.detail.get("task"),
        )
        verdict = judge(canary, reading, (now_ms() - started) / 1000)
        if verdict.action == "wait":
            return verdict.reason
        if verdict.action == "rollback":
            self._finish(state, "rolled_back", verdict.reason)
            return None
        with self.db.write() as conn:
            detail = {**state.detail, "canary": verdict.reason}
            self._move(conn, state, State.PROMOTING, retrain, detail)
        self.say(f"canary passed: {verdict.reason}")
        return None

    def _promote(self, state: LoopState) -> None:
        retrain, version = state.retrain_id, int(state.detail["challenger"])
        assert retrain is not None
        try:
            request = promote(self.model, version, "champion", comment=f"retrain {retrain}")
        except Conflict as exc:  # the registry's policy thresholds said no
            self._finish(state, "rolled_back", exc.message)
            return
        if request.status.value == "pending":
            with self.db.write() as conn:
                detail = {**state.detail, "request_id": request.request_id}
                self._move(conn, state, State.APPROVAL, retrain, detail)
            self.say(f"promotion waits for approval: request {request.request_id}")
            return
        canary = state.detail.get("canary")
        why = f"; canary: {canary}" if canary else ""
        self._finish(state, "promoted", f"{self.model}/{version} is the champion{why}")

    def _await_approval(self, state: LoopState) -> str | None:
        request_id = state.detail["request_id"]
        requests = {r.request_id: r for r in list_promotion_requests(self.model)}
        request = requests.get(request_id)
        if request is None or request.status.value == "pending":
            return f"waiting for approval of promotion request {request_id}"
        if request.status.value == "rejected":
            why = request.decision_comment or "no reason given"
            self._finish(state, "rolled_back", f"promotion rejected by {request.decided_by}: {why}")
        else:
            version = state.detail["challenger"]
            self._finish(
                state, "promoted", f"{self.model}/{version} approved by {request.decided_by}"
            )
        return None

    def _finish(
        self, state: LoopState, status: str, reason: str, detail: dict[str, Any] | None = None
    ) -> None:
        """End the retraining: traffic back to the champion, the challenger alias gone,
        the outcome recorded, the loop idle."""
        retrain = state.retrain_id
        assert retrain is not None
        # a model the pipeline never registered has neither traffic nor a challenger alias;
        # an interrupted attempt may have removed them already
        with suppress(NotFound):
            clear_traffic(self.model)
            delete_alias(self.model, CHALLENGER)
        with self.db.write() as conn:
            finish_retrain(conn, retrain, status, reason)
            last = {"last_retrain": retrain, "last_status": status, **(detail or {})}
            self._move(conn, state, State.IDLE, None, last)
        self.say(f"retrain {retrain}: {status}: {reason}")

    def _move(
        self, conn: Any, state: LoopState, to: State, retrain: str | None, detail: dict[str, Any]
    ) -> None:
        transition(conn, self.model, self.owner, to, retrain_id=retrain, detail=detail)
        audit.record(
            conn,
            "loop.state",
            "model",
            self.model,
            {"state": state.state.value, "retrain_id": state.retrain_id},
            {"state": to.value, "retrain_id": retrain or state.retrain_id},
        )


def _version_of(result: Any, target: str) -> tuple[ModelVersion, str]:
    """The new ModelVersion a pipeline returned (itself, or a PipelineResult's output)."""
    version = getattr(result, "output", result)
    if not isinstance(version, ModelVersion):
        raise Invalid(
            f"pipeline {target} returned {type(result).__name__}; it must return the new "
            "ModelVersion (what knot.log_model(..., registered_model_name=...) gives)",
            field="pipeline",
        )
    run_id = getattr(result, "run_id", None) or version.run_id
    return version, str(run_id)


def _version_number(name: str | None) -> int | None:
    return int(name.rpartition("/")[2]) if name else None


def _task(model: str, version: int) -> Task | None:
    found = model_task(model, version)
    return found[1] if found is not None else None


def _alias_version(model: str, alias: str) -> int | None:
    try:
        return get_model_version(f"models:/{model}@{alias}").version
    except NotFound:
        return None
