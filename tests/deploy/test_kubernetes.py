"""`knot deploy kubernetes` run as a user runs it: every manifest it writes validates
against the official schemas of the two newest Kubernetes versions kubernetes-validate
ships, and holds the invariants a cluster operator relies on (probes, resources,
non-root, disruption budgets, zero-unavailable rollouts, no secret values)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from kubernetes_validate.utils import major_minor

from tests.cli.knot_process import ROOT, assert_ok, run
from tests.deploy.values import LOOP_YAML, VALUES, write_values

Manifest = dict[str, Any]

# env vars whose value is a credential: only ever a reference to a Secret
SECRET_ENV = {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "KNOT_TOKEN"}


def newest_versions(count: int = 2) -> list[str]:
    """The newest `count` Kubernetes minor versions kubernetes-validate has schemas for."""
    minors: list[str] = []
    for version in reversed(kubernetes_validate.utils.all_versions()):
        minor = major_minor(version)
        if minor not in minors:
            minors.append(minor)
    return minors[:count]


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Manifest]]:
    """File name -> the manifests `knot deploy kubernetes -o DIR` wrote there."""
    base = tmp_path_factory.mktemp("deploy")
    values = write_values(base, VALUES)
    out = base / "manifests"
    assert_ok(run(base / "home", "deploy", "kubernetes", "-f", str(values), "-o", str(out)))
    return {
        p.name: [d for d in yaml.safe_load_all(p.read_text()) if d is not None]
        for p in sorted(out.glob("*.yaml"))
    }


@pytest.fixture(scope="module")
def manifests(written: dict[str, list[Manifest]]) -> list[Manifest]:
    return [m for group in written.values() for m in group]


def by_kind(manifests: list[Manifest], kind: str) -> dict[str, Manifest]:
    return {m["metadata"]["name"]: m for m in manifests if m["kind"] == kind}


def pod_specs(manifests: list[Manifest]) -> dict[str, Manifest]:
    specs = {}
    for m in manifests:
        if m["kind"] == "Deployment":
            specs[m["metadata"]["name"]] = m["spec"]["template"]["spec"]
        elif m["kind"] == "CronJob":
            specs[m["metadata"]["name"]] = m["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return specs


def test_kubernetes_validate_ships_two_versions() -> None:
    versions = newest_versions()
    assert len(versions) == 2 and versions[0] != versions[1]


@pytest.mark.parametrize("version", newest_versions())
def test_every_manifest_validates_against_the_schemas(
    manifests: list[Manifest], version: str
) -> None:
    for manifest in manifests:
        # strict: an unknown field is an error; a kind without a schema raises too
        kubernetes_validate.validate(manifest, version, strict=True)


def test_the_validator_rejects_a_broken_manifest(manifests: list[Manifest]) -> None:
    # the validation above could pass by checking nothing
    deployment = json.loads(json.dumps(by_kind(manifests, "Deployment")["knot-server"]))
    deployment["spec"]["replicas"] = "two"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, newest_versions()[0], strict=True)


def test_every_part_is_written(written: dict[str, list[Manifest]]) -> None:
    kinds = {name: sorted(m["kind"] for m in group) for name, group in written.items()}
    assert kinds == {
        "30-grafana-dashboard.yaml": ["ConfigMap"],
        "20-model-churn.yaml": [
            "ConfigMap",
            "CronJob",
            "CronJob",
            "Deployment",
            "Deployment",
            "HorizontalPodAutoscaler",
            "PodDisruptionBudget",
            "PodDisruptionBudget",
            "Service",
        ],
        "20-model-fraud-v2.yaml": [
            "CronJob",
            "CronJob",
            "Deployment",
            "HorizontalPodAutoscaler",
            "PodDisruptionBudget",
            "Service",
        ],
        "00-namespace.yaml": ["Namespace"],
        "10-server.yaml": ["Deployment", "PodDisruptionBudget", "Service"],
    }


def test_the_server_runs_two_replicas_on_the_store_secret(manifests: list[Manifest]) -> None:
    server = by_kind(manifests, "Deployment")["knot-server"]
    assert server["spec"]["replicas"] == 2
    box = server["spec"]["template"]["spec"]["containers"][0]
    assert box["args"][:1] == ["server"] and "--auth" in box["args"]
    env = {e["name"]: e for e in box["env"]}
    assert env["KNOT_STORE"]["valueFrom"]["secretKeyRef"] == {"name": "knot-store", "key": "url"}
    assert env["KNOT_ARTIFACTS"]["value"] == "s3://knot-artifacts/team"


def test_each_model_is_served_monitored_and_looped(manifests: list[Manifest]) -> None:
    deployments = by_kind(manifests, "Deployment")
    serve = deployments["knot-serve-churn"]["spec"]["template"]["spec"]["containers"][0]
    assert serve["args"][:2] == ["serve", "models:/churn@champion"]
    kit = deployments["knot-serve-fraud-v2"]["spec"]["template"]["spec"]["containers"][0]
    assert kit["args"][:2] == ["serve", "oci://registry.example.com/kits/fraud:3"]
    jobs = by_kind(manifests, "CronJob")
    assert jobs["knot-monitor-churn"]["spec"]["schedule"] == "*/15 * * * *"
    assert jobs["knot-monitor-churn"]["spec"]["concurrencyPolicy"] == "Forbid"
    monitor = jobs["knot-monitor-fraud-v2"]["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    assert monitor["containers"][0]["args"] == ["monitor", "run", "fraud"]
    compact = jobs["knot-compact-churn"]["spec"]
    assert compact["concurrencyPolicy"] == "Forbid" and compact["schedule"] == "7 * * * *"
    box = compact["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
    assert box["args"] == ["logs", "compact", "churn"]
    # a missed monitor pass may start up to 5 min late, a compaction 10; each keeps its
    # failed Jobs for inspection, the frequent compaction only its last good one
    limits = [
        (j["startingDeadlineSeconds"], j["successfulJobsHistoryLimit"], j["failedJobsHistoryLimit"])
        for j in (jobs["knot-monitor-churn"]["spec"], compact)
    ]
    assert limits == [(300, 3, 3), (600, 1, 3)]
    loop = deployments["knot-loop-churn"]["spec"]["template"]["spec"]["containers"][0]
    assert loop["args"][:5] == ["loop", "run", "churn", "--config", "/etc/knot/loop/loop.yaml"]
    config = by_kind(manifests, "ConfigMap")["knot-loop-churn"]
    assert config["data"]["loop.yaml"] == LOOP_YAML


def test_http_containers_have_probes_and_every_container_resources(
    manifests: list[Manifest],
) -> None:
    for name, spec in pod_specs(manifests).items():
        for box in spec["containers"]:
            requests, limits = box["resources"]["requests"], box["resources"]["limits"]
            assert set(requests) == set(limits) == {"cpu", "memory"}, name
            if "ports" not in box:
                continue
            port = box["ports"][0]["containerPort"]
            assert box["livenessProbe"]["httpGet"] == {"path": "/health", "port": port}, name
            ready = box["readinessProbe"]["httpGet"]["path"]
            assert ready == ("/ready" if name.startswith("knot-serve-") else "/health"), name
            assert box["lifecycle"]["preStop"], name


def test_everything_runs_as_non_root(manifests: list[Manifest]) -> None:
    specs = pod_specs(manifests)
    assert len(specs) == 8  # server, 2 services, 2 monitors, 2 compactions, 1 loop
    for name, spec in specs.items():
        assert spec["securityContext"]["runAsNonRoot"] is True, name
        assert spec["securityContext"]["runAsUser"] != 0, name
        assert spec["imagePullSecrets"] == [{"name": "regcred"}], name
        for box in spec["containers"]:
            context = box["securityContext"]
            assert context["runAsNonRoot"] is True and context["runAsUser"] != 0, name
            assert context["allowPrivilegeEscalation"] is False, name
            assert context["readOnlyRootFilesystem"] is True, name
            assert context["capabilities"] == {"drop": ["ALL"]}, name


def test_no_secret_value_is_written(manifests: list[Manifest]) -> None:
    assert not by_kind(manifests, "Secret")
    for name, spec in pod_specs(manifests).items():
        env = {e["name"]: e for box in spec["containers"] for e in box["env"]}
        assert SECRET_ENV - {"KNOT_TOKEN"} <= set(env), name
        for key in SECRET_ENV | {"KNOT_STORE"}:
            if key in env:
                assert "value" not in env[key], (name, key)
                assert env[key]["valueFrom"]["secretKeyRef"]["name"], (name, key)


def test_rollouts_never_drop_capacity_and_budgets_cover_every_service(
    manifests: list[Manifest],
) -> None:
    budgets = [
        b["spec"]["selector"]["matchLabels"]
        for b in by_kind(manifests, "PodDisruptionBudget").values()
    ]
    for name, deployment in by_kind(manifests, "Deployment").items():
        strategy = deployment["spec"]["strategy"]
        assert strategy["rollingUpdate"]["maxUnavailable"] == 0, name
        assert deployment["spec"]["selector"]["matchLabels"] in budgets, name
    scalers = by_kind(manifests, "HorizontalPodAutoscaler")
    for name in ("knot-serve-churn", "knot-serve-fraud-v2"):
        assert scalers[name]["spec"]["scaleTargetRef"]["name"] == name
        assert scalers[name]["spec"]["minReplicas"] <= scalers[name]["spec"]["maxReplicas"]


def test_prediction_services_are_scraped_and_the_dashboard_shipped(
    manifests: list[Manifest],
) -> None:
    for name, deployment in by_kind(manifests, "Deployment").items():
        if name.startswith("knot-serve-"):
            annotations = deployment["spec"]["template"]["metadata"]["annotations"]
            assert annotations["prometheus.io/scrape"] == "true"
            assert annotations["prometheus.io/path"] == "/metrics"
    dashboard = by_kind(manifests, "ConfigMap")["knot-grafana-dashboard"]
    assert dashboard["metadata"]["labels"]["grafana_dashboard"] == "1"
    shipped = json.loads((ROOT / "deploy" / "grafana" / "knot-dashboard.json").read_text())
    assert json.loads(dashboard["data"]["knot-dashboard.json"]) == shipped


def test_stdout_holds_the_same_manifests(tmp_path: Path, manifests: list[Manifest]) -> None:
    values = write_values(tmp_path, VALUES)
    out = assert_ok(run(tmp_path / "home", "deploy", "kubernetes", "-f", str(values)))
    assert [d for d in yaml.safe_load_all(out) if d] == manifests


def test_the_example_values_in_the_repository_work(tmp_path: Path) -> None:
    example = ROOT / "deploy" / "kubernetes" / "values.example.yaml"
    out = assert_ok(run(tmp_path / "home", "deploy", "kubernetes", "-f", str(example)))
    kinds = sorted(d["kind"] for d in yaml.safe_load_all(out) if d)
    assert kinds.count("Deployment") == 2 and "CronJob" in kinds
