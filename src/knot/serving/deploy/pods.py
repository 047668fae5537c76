"""The parts every Knot workload shares: labels, the non-root security context, the
environment (store and S3 keys from Secrets, never as values), probes, and a pod
template around one `knot` container."""

from __future__ import annotations

from typing import Any

from knot.serving.deploy.values import DeployValues, Resources

__all__ = [
    "HOME",
    "container",
    "env",
    "http_probes",
    "labels",
    "metadata",
    "pod_template",
    "prometheus_annotations",
    "resources",
]

Manifest = dict[str, Any]

#: KNOT_HOME in every pod: an emptyDir, since the root filesystem is read-only
HOME = "/var/lib/knot"
PART_OF = "knot"


def labels(component: str, instance: str) -> dict[str, str]:
    """The labels that select a workload's pods; `instance` tells apart two of a kind."""
    return {
        "app.kubernetes.io/name": component,
        "app.kubernetes.io/instance": instance,
        "app.kubernetes.io/part-of": PART_OF,
    }


def metadata(values: DeployValues, name: str, component: str, instance: str) -> Manifest:
    return {
        "name": name,
        "namespace": values.namespace,
        "labels": labels(component, instance),
    }


def resources(spec: Resources) -> Manifest:
    return {
        "requests": {"cpu": spec.cpu, "memory": spec.memory},
        "limits": {"cpu": spec.cpu_limit, "memory": spec.memory_limit},
    }


def prometheus_annotations(port: int) -> dict[str, str]:
    """The annotations Prometheus' kubernetes_sd relabelling (and most charts) scrape by."""
    return {
        "prometheus.io/scrape": "true",
        "prometheus.io/port": str(port),
        "prometheus.io/path": "/metrics",
    }


def _secret_env(name: str, secret: str, key: str) -> Manifest:
    return {"name": name, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}}


def env(values: DeployValues, *, is_server: bool = False) -> list[Manifest]:
    """KNOT_* and AWS_* for one container. Secrets arrive by reference; a component
    other than the server talks to the server's Service when store.components says so."""
    items: list[Manifest] = [{"name": "KNOT_HOME", "value": HOME}]
    store, auth = values.store, values.auth
    if is_server or store.components == "database":
        items.append(_secret_env("KNOT_STORE", store.secret.name, store.secret.key))
    else:
        url = f"http://knot-server.{values.namespace}.svc:{values.server.port}"
        items.append({"name": "KNOT_STORE", "value": url})
        if auth.enabled and auth.token_secret is not None:
            token = auth.token_secret
            items.append(_secret_env("KNOT_TOKEN", token.name, token.key))
    artifacts = values.artifacts
    items.append({"name": "KNOT_ARTIFACTS", "value": artifacts.uri})
    if artifacts.endpoint:
        items.append({"name": "KNOT_S3_ENDPOINT_URL", "value": artifacts.endpoint})
    if artifacts.region:
        items.append({"name": "AWS_REGION", "value": artifacts.region})
    if artifacts.secret:
        for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
            items.append(_secret_env(key, artifacts.secret, key))
    return items


def http_probes(port: int, ready_path: str) -> Manifest:
    """Liveness on /health (the process answers), readiness on `ready_path` (a prediction
    service's /ready turns 200 once its models are loaded and warm)."""

    def probe(path: str, period: int, failures: int) -> Manifest:
        return {
            "httpGet": {"path": path, "port": port},
            "periodSeconds": period,
            "timeoutSeconds": 3,
            "failureThreshold": failures,
        }

    return {
        # loading a large model may take minutes: liveness waits until it has started
        "startupProbe": probe("/health", 5, 60),
        "livenessProbe": probe("/health", 10, 3),
        "readinessProbe": probe(ready_path, 5, 2),
    }


def container(
    values: DeployValues,
    name: str,
    args: list[str],
    spec: Resources,
    *,
    port: int | None = None,
    ready_path: str = "/health",
    is_server: bool = False,
    mounts: list[Manifest] | None = None,
) -> Manifest:
    """One `knot ARGS...` container of the Knot runtime image (deploy/container): non-root,
    read-only root, no capabilities."""
    body: Manifest = {
        "name": name,
        "image": values.image,
        "imagePullPolicy": values.image_pull_policy,
        # no command: the runtime image's entrypoint (tini as PID 1, then `knot ARGS`)
        # reaps children and hands SIGTERM on, so knot drains before the pod goes
        "args": args,
        "env": env(values, is_server=is_server),
        "resources": resources(spec),
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": values.run_as_user,
            "runAsGroup": values.run_as_user,
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        },
        "volumeMounts": [
            {"name": "knot-home", "mountPath": HOME},
            {"name": "tmp", "mountPath": "/tmp"},
            *(mounts or []),
        ],
    }
    if port is not None:
        body["ports"] = [{"name": "http", "containerPort": port, "protocol": "TCP"}]
        body.update(http_probes(port, ready_path))
        # the endpoints controller takes a moment to drop a terminating pod; until then
        # requests still arrive, so SIGTERM (which drains) comes after a short pause
        body["lifecycle"] = {"preStop": {"exec": {"command": ["sleep", "5"]}}}
    return body


def pod_template(
    values: DeployValues,
    pod_labels: dict[str, str],
    containers: list[Manifest],
    *,
    annotations: dict[str, str] | None = None,
    volumes: list[Manifest] | None = None,
    restart_policy: str | None = None,
) -> Manifest:
    spec: Manifest = {
        "automountServiceAccountToken": False,
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": values.run_as_user,
            "runAsGroup": values.run_as_user,
            "fsGroup": values.run_as_user,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "terminationGracePeriodSeconds": 45,
        "containers": containers,
        "volumes": [
            {"name": "knot-home", "emptyDir": {}},
            {"name": "tmp", "emptyDir": {}},
            *(volumes or []),
        ],
    }
    if values.image_pull_secret:
        spec["imagePullSecrets"] = [{"name": values.image_pull_secret}]
    if restart_policy:
        spec["restartPolicy"] = restart_policy
    meta: Manifest = {"labels": pod_labels}
    if annotations:
        meta["annotations"] = annotations
    return {"metadata": meta, "spec": spec}
