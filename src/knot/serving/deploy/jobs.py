"""The workloads around a prediction service: the monitor as a CronJob (one
`knot monitor run` per schedule, never two at once) and the loop controller, a
Deployment whose store lease makes a second replica a safe standby."""

from __future__ import annotations

from typing import Any

from knot.serving.deploy import pods
from knot.serving.deploy.values import COMPACT_SCHEDULE, DeployValues, ModelValues

__all__ = ["compact_job", "loop_controller", "monitor_job"]

Manifest = dict[str, Any]

LOOP_CONFIG_DIR = "/etc/knot/loop"


def monitor_job(values: DeployValues, model: ModelValues) -> list[Manifest]:
    """`knot monitor run MODEL` on the model's schedule."""
    if model.monitor is None or model.model_name is None:
        return []
    # a pass that outlives its period is not doubled: the next one waits (Forbid)
    return [
        _cron_job(
            values,
            model,
            "monitor",
            ["monitor", "run", model.model_name],
            schedule=model.monitor.schedule,
            deadline_s=300,
            keep_done=3,
        )
    ]


def compact_job(values: DeployValues, model: ModelValues) -> list[Manifest]:
    """`knot logs compact MODEL` hourly: the replicas' small prediction and label log
    parts in the shared store merged, so the monitor reads few files."""
    if model.model_name is None:
        return []
    schedule = model.monitor.compact_schedule if model.monitor else COMPACT_SCHEDULE
    # two compactions of one model at once could each merge the same parts (Forbid)
    return [
        _cron_job(
            values,
            model,
            "compact",
            ["logs", "compact", model.model_name],
            schedule=schedule,
            deadline_s=600,
            keep_done=1,
        )
    ]


def _cron_job(
    values: DeployValues,
    model: ModelValues,
    role: str,
    args: list[str],
    *,
    schedule: str,
    deadline_s: int,
    keep_done: int,
) -> Manifest:
    """A CronJob running `knot ARGS` on `schedule`, never two of its Jobs at once."""
    name, component = f"knot-{role}-{model.object_name}", f"knot-{role}"
    box = pods.container(values, role, args, model.resources)
    template = pods.pod_template(
        values, pods.labels(component, name), [box], restart_policy="OnFailure"
    )
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": pods.metadata(values, name, component, name),
        "spec": {
            "schedule": schedule,
            "concurrencyPolicy": "Forbid",
            "startingDeadlineSeconds": deadline_s,
            "successfulJobsHistoryLimit": keep_done,
            "failedJobsHistoryLimit": 3,
            "jobTemplate": {"spec": {"backoffLimit": 2, "template": template}},
        },
    }


def loop_controller(values: DeployValues, model: ModelValues, config_text: str) -> list[Manifest]:
    """`knot loop run MODEL --config loop.yaml`, the file from a ConfigMap."""
    if model.loop is None or model.model_name is None:
        return []
    name, component = f"knot-loop-{model.object_name}", "knot-loop"
    config_map = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": pods.metadata(values, name, component, name),
        "data": {"loop.yaml": config_text},
    }
    args = ["loop", "run", model.model_name, "--config", f"{LOOP_CONFIG_DIR}/loop.yaml"]
    args += ["--interval", f"{model.loop.interval:g}"]
    box = pods.container(
        values,
        "loop",
        args,
        model.resources,
        mounts=[{"name": "loop-config", "mountPath": LOOP_CONFIG_DIR, "readOnly": True}],
    )
    template = pods.pod_template(
        values,
        pods.labels(component, name),
        [box],
        volumes=[{"name": "loop-config", "configMap": {"name": name}}],
    )
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": pods.metadata(values, name, component, name),
        "spec": {
            "replicas": model.loop.replicas,
            "selector": {"matchLabels": pods.labels(component, name)},
            # the lease lets a standby take over; rolling keeps one controller running
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1},
            },
            "template": template,
        },
    }
    budget = {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": pods.metadata(values, name, component, name),
        "spec": {"maxUnavailable": 1, "selector": {"matchLabels": pods.labels(component, name)}},
    }
    return [config_map, deployment, budget]
