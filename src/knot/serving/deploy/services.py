"""The long-running HTTP workloads: the tracking server and one prediction service per
model, each a Deployment that rolls with zero unavailable, a Service, a
PodDisruptionBudget and, for prediction services, a HorizontalPodAutoscaler."""

from __future__ import annotations

from typing import Any

from knot.serving.deploy import pods
from knot.serving.deploy.values import DeployValues, ModelValues

__all__ = ["model_service", "tracking_server"]

Manifest = dict[str, Any]


def _deployment(
    values: DeployValues, name: str, component: str, replicas: int, template: Manifest
) -> Manifest:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": pods.metadata(values, name, component, name),
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": pods.labels(component, name)},
            # a new pod must be ready before an old one goes: capacity never dips
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1},
            },
            "template": template,
        },
    }


def _service(values: DeployValues, name: str, component: str, port: int) -> Manifest:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": pods.metadata(values, name, component, name),
        "spec": {
            "selector": pods.labels(component, name),
            "ports": [{"name": "http", "port": port, "targetPort": "http", "protocol": "TCP"}],
        },
    }


def _disruption_budget(values: DeployValues, name: str, component: str) -> Manifest:
    # maxUnavailable 1 rather than minAvailable: a node drain never deadlocks on a
    # one-replica service, and a two-replica one keeps serving through it
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": pods.metadata(values, name, component, name),
        "spec": {"maxUnavailable": 1, "selector": {"matchLabels": pods.labels(component, name)}},
    }


def tracking_server(values: DeployValues) -> list[Manifest]:
    """`knot server` on the PostgreSQL URL and S3 keys from Secrets, behind a Service."""
    name, component, spec = "knot-server", "knot-server", values.server
    args = ["server", "--host", "0.0.0.0", "--port", str(spec.port)]
    args += ["--workers", str(spec.workers)]
    if values.auth.enabled:
        args.append("--auth")
    box = pods.container(values, "server", args, spec.resources, port=spec.port, is_server=True)
    template = pods.pod_template(values, pods.labels(component, name), [box])
    return [
        _deployment(values, name, component, spec.replicas, template),
        _service(values, name, component, spec.port),
        _disruption_budget(values, name, component),
    ]


def model_service(values: DeployValues, model: ModelValues) -> list[Manifest]:
    """`knot serve REF` ready on /ready, scraped on /metrics, scaled on CPU."""
    name, component = f"knot-serve-{model.object_name}", "knot-serve"
    args = ["serve", model.ref, "--host", "0.0.0.0", "--port", str(model.port)]
    args += ["--workers", str(model.workers)]
    box = pods.container(
        values, "serve", args, model.resources, port=model.port, ready_path="/ready"
    )
    template = pods.pod_template(
        values,
        pods.labels(component, name),
        [box],
        annotations=pods.prometheus_annotations(model.port),
    )
    autoscaler = {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": pods.metadata(values, name, component, name),
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
            "minReplicas": model.replicas,
            "maxReplicas": model.max_replicas,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {
                        "name": "cpu",
                        "target": {
                            "type": "Utilization",
                            "averageUtilization": model.cpu_target_percent,
                        },
                    },
                }
            ],
        },
    }
    return [
        _deployment(values, name, component, model.replicas, template),
        _service(values, name, component, model.port),
        autoscaler,
        _disruption_budget(values, name, component),
    ]
