"""`knot deploy kubernetes`: the manifests that run Knot on a Kubernetes cluster, from a
values file (see knot.serving.deploy.values for every key)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from knot.serving.deploy.values import DeployValues

app = typer.Typer(
    help="Deploy beyond one machine: Kubernetes manifests for the server, services, "
    "monitor and loop.",
    no_args_is_help=True,
)


@app.command("kubernetes")
def kubernetes(
    values_path: Path = typer.Option(
        ..., "--values", "-f", help="The values file (YAML): image, Secrets, models."
    ),
    output: str = typer.Option(
        "-", "--output", "-o", help="Folder to write one YAML file per part into ('-': stdout)."
    ),
    image: str | None = typer.Option(None, help="The Knot runtime image (overrides values)."),
    namespace: str | None = typer.Option(None, help="The namespace (overrides values)."),
    model: list[str] = typer.Option(
        [], "--model", help="Serve this models:/ or oci:// reference too (repeatable)."
    ),
) -> None:
    """Write the manifests: knot server (2 replicas), one prediction service per model
    (autoscaled, disruption budget, zero-downtime rollout), the monitor CronJob, the
    loop controller and a Grafana dashboard. Secrets are referenced, never written."""
    from knot.serving.deploy import kubernetes_manifests, to_yaml, write_manifests

    values = _values(values_path, image=image, namespace=namespace, models=model)
    groups = kubernetes_manifests(values, _loop_configs(values, values_path.parent))
    if output == "-":
        typer.echo(to_yaml([m for group in groups.values() for m in group]), nl=False)
        return
    written = write_manifests(groups, Path(output))
    count = sum(len(g) for g in groups.values())
    typer.echo(f"wrote {count} manifests in {len(written)} files to {output}", err=True)
    typer.echo(f"apply them with: kubectl apply -f {output}", err=True)


def _values(
    path: Path, *, image: str | None, namespace: str | None, models: list[str]
) -> DeployValues:
    from knot.errors import Invalid, NotFound
    from knot.gates.config_file import read_config, validate_config
    from knot.serving.deploy.values import DeployValues, credential_paths

    if not path.is_file():
        raise NotFound(f"values file {path} does not exist; check the path (--values)")
    data = read_config(path)
    if image is not None:
        data["image"] = image
    if namespace is not None:
        data["namespace"] = namespace
    if models:
        listed = data.get("models") or []
        given = listed if isinstance(listed, list) else [listed]
        data["models"] = [*given, *({"ref": ref} for ref in models)]
    leaks = credential_paths(data)
    if leaks:
        # named by key only: the error line must not repeat the password
        raise Invalid(
            f"values file {path}: {', '.join(leaks)} carries credentials (user:password@ in a "
            "URL); put them in a Kubernetes Secret and name the Secret in the values "
            "(store.secret, artifacts.secret)",
            field=leaks[0],
        )
    return validate_config(DeployValues, data, f"values file {path} (with the options)")


def _loop_configs(values: DeployValues, base: Path) -> dict[str, str]:
    """The text of each model's loop.yaml (paths relative to the values file), checked
    as a loop config of that model so a wrong file fails here, not in the cluster."""
    from knot.errors import Invalid
    from knot.loop.config import load_loop_config

    texts = {}
    for model in values.models:
        if model.loop is None:
            continue
        path = base / model.loop.config
        config = load_loop_config(path)
        if config.model != model.model_name:
            raise Invalid(
                f"loop config {path} is the loop of model {config.model!r}, not "
                f"{model.model_name!r} ({model.ref}); point loop.config at its loop.yaml",
                field="loop.config",
            )
        texts[model.object_name] = path.read_text(encoding="utf-8")
    return texts
