"""Knot: the whole machine-learning lifecycle in one package.

    import knot
    with knot.start_run(experiment="churn") as run:
        run.log_params({"model": "lgbm"})
        for step in range(100):
            run.log_metric("loss", 1 / (step + 1), step=step)

Names are loaded on first use, so `import knot` and the `knot` CLI start fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from knot._version import __version__
from knot.backends import install as _install_backends

# The areas name only their stores' protocols; knot.backends, a door above them, hands
# each area the opener that picks SQL or REST by URI. Every `import knot.…` runs this
# file first, so the openers are in place before any area asks for a store.
_install_backends()

if TYPE_CHECKING:
    from knot.data.entities import Dataset, DatasetVersion
    from knot.data.rules.report import ValidationReport
    from knot.data.rules.ruleset import RuleSet
    from knot.errors import Conflict, Corrupted, Invalid, KnotError, NotFound, SchemaTooNew
    from knot.gates.check import check
    from knot.gates.evaluate import ComparisonPolicy, Evaluation, evaluate_challenger
    from knot.gates.report import CheckReport
    from knot.governance.fluent import lineage
    from knot.governance.lineage_graph import LineageGraph
    from knot.loop.controller import retrain
    from knot.monitoring.drift.batch import drift
    from knot.monitoring.drift.report import DriftReport
    from knot.monitoring.performance.feedback import feedback
    from knot.packaging.from_registry import pack_model_version
    from knot.packaging.loading import load_model_from_kit
    from knot.pipelines.pipeline import Pipeline, get_pipeline_run, pipeline
    from knot.pipelines.result import PipelineFailed, PipelineResult, StepResult
    from knot.pipelines.steps import Step, step
    from knot.registry.cards.card import model_card
    from knot.registry.entities import (
        LoggedModel,
        ModelVersion,
        PromotionPolicy,
        PromotionRequest,
        RegisteredModel,
    )
    from knot.registry.fluent import (
        approve,
        delete_alias,
        delete_promotion_policy,
        get_model,
        get_model_version,
        get_promotion_policy,
        list_model_versions,
        list_models,
        list_promotion_requests,
        load_model,
        log_model,
        promote,
        register_model,
        reject,
        set_alias,
        set_promotion_policy,
        update_model_version,
    )
    from knot.registry.model_folder import LoadedModel
    from knot.serving.traffic import Traffic, clear_traffic, get_traffic, set_traffic
    from knot.tracking.autolog import autolog
    from knot.tracking.compare.compare import compare_runs
    from knot.tracking.datasets import (
        dataset_reports,
        diff_datasets,
        get_dataset,
        list_dataset_versions,
        list_datasets,
        load_dataset,
        profile_dataset,
        register_dataset,
        set_dataset_alias,
        set_dataset_rules,
        validate_dataset,
    )
    from knot.tracking.entities import Experiment, MetricPoint, Run, RunStatus
    from knot.tracking.fluent import (
        active_run,
        create_experiment,
        download_artifact,
        end_run,
        flush,
        get_experiment_by_name,
        get_metric_history,
        get_run,
        list_artifacts,
        list_experiments,
        log_artifact,
        log_metric,
        log_metrics,
        log_param,
        log_params,
        reset,
        resolve_run_id,
        search_runs,
        set_tag,
        set_tags,
        start_run,
    )
    from knot.tracking.run import ActiveRun

__all__ = [
    "ActiveRun",
    "CheckReport",
    "ComparisonPolicy",
    "Conflict",
    "Corrupted",
    "Dataset",
    "DatasetVersion",
    "DriftReport",
    "Evaluation",
    "Experiment",
    "Invalid",
    "KnotError",
    "LineageGraph",
    "LoadedModel",
    "LoggedModel",
    "MetricPoint",
    "ModelVersion",
    "NotFound",
    "Pipeline",
    "PipelineFailed",
    "PipelineResult",
    "PromotionPolicy",
    "PromotionRequest",
    "RegisteredModel",
    "RuleSet",
    "Run",
    "RunStatus",
    "SchemaTooNew",
    "Step",
    "StepResult",
    "Traffic",
    "ValidationReport",
    "__version__",
    "active_run",
    "approve",
    "autolog",
    "check",
    "clear_traffic",
    "compare_runs",
    "create_experiment",
    "dataset_reports",
    "delete_alias",
    "delete_promotion_policy",
    "diff_datasets",
    "download_artifact",
    "drift",
    "end_run",
    "evaluate_challenger",
    "feedback",
    "flush",
    "get_dataset",
    "get_experiment_by_name",
    "get_metric_history",
    "get_model",
    "get_model_version",
    "get_pipeline_run",
    "get_promotion_policy",
    "get_run",
    "get_traffic",
    "lineage",
    "list_artifacts",
    "list_dataset_versions",
    "list_datasets",
    "list_experiments",
    "list_model_versions",
    "list_models",
    "list_promotion_requests",
    "load_dataset",
    "load_model",
    "load_model_from_kit",
    "log_artifact",
    "log_metric",
    "log_metrics",
    "log_model",
    "log_param",
    "log_params",
    "model_card",
    "pack_model_version",
    "pipeline",
    "profile_dataset",
    "promote",
    "register_dataset",
    "register_model",
    "reject",
    "reset",
    "resolve_run_id",
    "retrain",
    "search_runs",
    "set_alias",
    "set_dataset_alias",
    "set_dataset_rules",
    "set_promotion_policy",
    "set_tag",
    "set_tags",
    "set_traffic",
    "start_run",
    "step",
    "update_model_version",
    "validate_dataset",
]

_HOME = {
    "check": "knot.gates.check",
    "CheckReport": "knot.gates.report",
    "ComparisonPolicy": "knot.gates.evaluate",
    "Evaluation": "knot.gates.evaluate",
    "evaluate_challenger": "knot.gates.evaluate",
    "retrain": "knot.loop.controller",
    "Pipeline": "knot.pipelines.pipeline",
    "get_pipeline_run": "knot.pipelines.pipeline",
    "pipeline": "knot.pipelines.pipeline",
    "PipelineFailed": "knot.pipelines.result",
    "PipelineResult": "knot.pipelines.result",
    "StepResult": "knot.pipelines.result",
    "Step": "knot.pipelines.steps",
    "step": "knot.pipelines.steps",
    "ActiveRun": "knot.tracking.run",
    "Experiment": "knot.tracking.entities",
    "MetricPoint": "knot.tracking.entities",
    "Run": "knot.tracking.entities",
    "RunStatus": "knot.tracking.entities",
    "Conflict": "knot.errors",
    "Corrupted": "knot.errors",
    "Invalid": "knot.errors",
    "KnotError": "knot.errors",
    "NotFound": "knot.errors",
    "SchemaTooNew": "knot.errors",
    "autolog": "knot.tracking.autolog",
    "compare_runs": "knot.tracking.compare.compare",
    "Dataset": "knot.data.entities",
    "DatasetVersion": "knot.data.entities",
    "RuleSet": "knot.data.rules.ruleset",
    "ValidationReport": "knot.data.rules.report",
    "dataset_reports": "knot.tracking.datasets",
    "diff_datasets": "knot.tracking.datasets",
    "get_dataset": "knot.tracking.datasets",
    "list_dataset_versions": "knot.tracking.datasets",
    "list_datasets": "knot.tracking.datasets",
    "load_dataset": "knot.tracking.datasets",
    "profile_dataset": "knot.tracking.datasets",
    "register_dataset": "knot.tracking.datasets",
    "set_dataset_alias": "knot.tracking.datasets",
    "set_dataset_rules": "knot.tracking.datasets",
    "validate_dataset": "knot.tracking.datasets",
    "LoggedModel": "knot.registry.entities",
    "ModelVersion": "knot.registry.entities",
    "PromotionPolicy": "knot.registry.entities",
    "PromotionRequest": "knot.registry.entities",
    "RegisteredModel": "knot.registry.entities",
    "LoadedModel": "knot.registry.model_folder",
    "approve": "knot.registry.fluent",
    "delete_alias": "knot.registry.fluent",
    "delete_promotion_policy": "knot.registry.fluent",
    "get_model": "knot.registry.fluent",
    "get_model_version": "knot.registry.fluent",
    "get_promotion_policy": "knot.registry.fluent",
    "list_model_versions": "knot.registry.fluent",
    "list_models": "knot.registry.fluent",
    "list_promotion_requests": "knot.registry.fluent",
    "load_model": "knot.registry.fluent",
    "log_model": "knot.registry.fluent",
    "promote": "knot.registry.fluent",
    "register_model": "knot.registry.fluent",
    "reject": "knot.registry.fluent",
    "set_alias": "knot.registry.fluent",
    "set_promotion_policy": "knot.registry.fluent",
    "update_model_version": "knot.registry.fluent",
    "model_card": "knot.registry.cards.card",
    "LineageGraph": "knot.governance.lineage_graph",
    "DriftReport": "knot.monitoring.drift.report",
    "drift": "knot.monitoring.drift.batch",
    "lineage": "knot.governance.fluent",
    "feedback": "knot.monitoring.performance.feedback",
    "load_model_from_kit": "knot.packaging.loading",
    "pack_model_version": "knot.packaging.from_registry",
    "Traffic": "knot.serving.traffic",
    "clear_traffic": "knot.serving.traffic",
    "get_traffic": "knot.serving.traffic",
    "set_traffic": "knot.serving.traffic",
}


def __getattr__(name: str) -> Any:
    if name not in __all__:
        raise AttributeError(f"module 'knot' has no attribute {name!r}")
    module = importlib.import_module(_HOME.get(name, "knot.tracking.fluent"))
    value = getattr(module, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
