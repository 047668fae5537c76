"""The steps of one retraining, each ending in one transaction that moves the loop's
persisted state with its lineage edges and audit rows (see knot.loop.controller).

`RetrainSteps` is the base of the Controller: it holds what every step needs (the
model's config, the database, this controller's owner name) and one method per state.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from contextlib import suppress
from typing import Any

from knot.errors import Conflict, Invalid, KnotError, NotFound
from knot.gates.evaluate import Evaluation
from knot.loop.canary import judge, read_canary
from knot.loop.config import LoopConfig, resolve_pipeline
from knot.loop.protocol import Cursor, LineEdge, LoopStore, Move, RetrainEnd
from knot.loop.state import LeaseLost, LoopState, State
from knot.loop.triggers import Fired, poll
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
from knot.store.database import now_ms

__all__ = ["CHALLENGER", "RetrainSteps"]

CHALLENGER = "challenger"


class RetrainSteps:
    config: LoopConfig
    model: str
    owner: str
    loop: LoopStore
    say: Callable[[str], None]
    progress: bool

    def _poll(self) -> list[Fired]:
        return poll(self.loop, self.model, self.config.triggers)

    def _start(self, state: LoopState, triggers: list[Fired]) -> str:
        retrain = uuid.uuid4().hex
        fired = [t.to_dict() for t in triggers]
        nodes = [t.node for t in triggers if t.node is not None]
        self._move(
            state,
            State.TRAINING,
            retrain,
            {"triggers": fired},
            start=fired,
            advance=[Cursor(kind=t.kind, cursor=t.cursor, value=t.value) for t in triggers],
            edges=[_edge(k, i, "triggered", "retrain", retrain) for k, i in nodes],
        )
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
        node = f"{self.model}/{version.version}"
        self._move(
            state,
            State.EVALUATING,
            retrain,
            detail,
            challenger_version=version.version,
            run_id=run_id,
            edges=[
                _edge("retrain", retrain, "produced", "model_version", node),
                _edge("retrain", retrain, "ran", "run", run_id),
            ],
        )
        self.say(f"trained challenger {self.model}/{version.version}")

    def _evaluate(self, state: LoopState) -> None:
        retrain, version = state.retrain_id, int(state.detail["challenger"])
        assert retrain is not None
        detail = dict(state.detail)
        ev = self.config.evaluation
        task = None
        edges: list[LineEdge] = []  # written with the step's move, whatever it is
        ranking = self.config.ranking
        if ev is not None or ranking is not None:
            try:
                evaluation = self._judge(version)
            except KnotError as exc:  # a missing held-out dataset, unmappable labels, ...
                self._finish(state, "failed", f"evaluation failed: {exc.message}")
                return
            detail["evaluation"] = evaluation.summary()
            self.say(evaluation.summary())
            first = evaluation.comparisons[0] if evaluation.comparisons else None
            if first is not None and first.champion is not None:
                self.say(
                    f"{first.metric}: challenger {first.challenger:.4g}, champion "
                    f"{first.champion:.4g}"
                )
            held_out = evaluation.dataset or (ev.dataset if ev is not None else "")
            edges.append(_edge("dataset", held_out, "evaluated", "retrain", retrain))
            if not evaluation.passed:
                self._finish(state, "rejected", "; ".join(evaluation.reasons), detail, edges)
                return
            detail["champion"] = _version_number(evaluation.champion)
            task = evaluation.task
        canary = self.config.canary
        if canary is None:
            self._move(state, State.PROMOTING, retrain, detail, edges=edges)
            return
        try:
            task = task if ev is not None else _task(self.model, version)
            check_metric_task(
                canary.metric, task, where="canary.metric", model=f"{self.model}/{version}"
            )
            if "champion" not in detail:  # no evaluation named it: the canary compares with it
                detail["champion"] = _alias_version(self.model, "champion")
        except KnotError as exc:
            self._finish(state, "failed", f"canary cannot start: {exc.message}", edges=edges)
            return
        detail["task"] = task
        # taken before the traffic moves: the first challenger answers fall after it
        detail["canary_started"] = now_ms()
        set_traffic(self.model, challenger=CHALLENGER, weight=canary.weight)
        self._move(state, State.CANARY, retrain, detail, edges=edges)
        self.say(
            f"canary: {canary.weight:.0%} of requests to {self.model}/{version}, judged by "
            f"live {canary.metric}"
        )

    def _judge(self, version: int) -> Evaluation:
        """The challenger against the champion: by a ranking metric (a recommender) or
        by the evaluation's metric on held-out rows."""
        from knot.gates.evaluate import evaluate_challenger
        from knot.gates.ranking_evaluate import evaluate_ranking

        if self.config.ranking is not None:
            return evaluate_ranking(self.model, version, self.config.ranking)
        ev = self.config.evaluation
        assert ev is not None
        return evaluate_challenger(
            self.model,
            version,
            dataset=ev.dataset,
            label=ev.label,
            policy=ev.policy(),
            champion=ev.champion,
            where="evaluation",
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
        self._move(state, State.PROMOTING, retrain, {**state.detail, "canary": verdict.reason})
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
            detail = {**state.detail, "request_id": request.request_id}
            self._move(state, State.APPROVAL, retrain, detail)
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
        self,
        state: LoopState,
        status: str,
        reason: str,
        detail: dict[str, Any] | None = None,
        edges: list[LineEdge] | None = None,
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
        last = {"last_retrain": retrain, "last_status": status, **(detail or {})}
        end = RetrainEnd.model_validate({"status": status, "reason": reason})
        self._move(state, State.IDLE, None, last, finish=end, edges=edges or [])
        self.say(f"retrain {retrain}: {status}: {reason}")

    def _move(
        self,
        state: LoopState,
        to: State,
        retrain: str | None,
        detail: dict[str, Any],
        **parts: Any,
    ) -> None:
        """One transaction: the state change, its audit row and `parts` (see Move);
        LeaseLost, with nothing written, when this controller lost the lease."""
        # detail round-trips through JSON as the state row keeps it
        detail = json.loads(json.dumps(detail, sort_keys=True, default=str))
        move = Move(
            model=self.model,
            owner=self.owner,
            before=state.state,
            before_retrain=state.retrain_id,
            to=to,
            retrain_id=retrain,
            detail=detail,
            **parts,
        )
        self.loop.move(move)


def _edge(from_kind: str, from_id: str, relation: str, to_kind: str, to_id: str) -> LineEdge:
    return LineEdge(
        from_kind=from_kind, from_id=from_id, relation=relation, to_kind=to_kind, to_id=to_id
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
