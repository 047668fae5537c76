"""The `knot` command line. Each area has one module; heavy imports happen inside
commands, so `knot --help` answers fast."""

from __future__ import annotations

import typer

from knot.cli import (
    _exit,
    check,
    data,
    deploy,
    experiments,
    features,
    imports,
    logs,
    loop,
    models,
    packaging,
    pipelines,
    runs,
    server,
    serving,
    traffic,
    ui,
)
from knot.cli.governance import audit, lineage, tokens
from knot.cli.monitoring import monitor, monitor_alerts

app = typer.Typer(
    name="knot",
    help="Knot: data, tracking, registry, ModelKits, serving and monitoring in one tool.",
    epilog=_exit.EXIT_CODES,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(runs.app, name="runs")
app.add_typer(experiments.app, name="experiments")
app.add_typer(data.app, name="data")
app.add_typer(models.app, name="models")
app.command("server")(server.serve)
app.command("ui")(ui.ui)
app.command("lineage")(lineage.lineage)
app.add_typer(audit.app, name="audit")
app.add_typer(tokens.app, name="tokens")
app.command("serve")(serving.serve)
app.command("predict")(serving.predict)
app.command("rollback")(serving.rollback)
app.add_typer(traffic.app, name="traffic")
app.command("pack")(packaging.pack)
app.add_typer(packaging.kits_app, name="kits")
app.command("push")(packaging.push)
app.command("pull")(packaging.pull)
app.command("unpack")(packaging.unpack)
app.command("sign")(packaging.sign)
app.command("verify")(packaging.verify)
app.add_typer(packaging.keys_app, name="keys")
app.add_typer(monitor.monitor_app, name="monitor")
app.command("feedback")(monitor_alerts.feedback)
app.command("check")(check.check)
app.add_typer(loop.app, name="loop")
app.command("retrain")(loop.retrain)
app.add_typer(pipelines.app, name="pipeline")
app.add_typer(features.app, name="features")
app.add_typer(imports.app, name="import")
app.add_typer(deploy.app, name="deploy")
app.add_typer(logs.app, name="logs")


@app.callback(invoke_without_command=True)
def _root(
    version: bool = typer.Option(
        False, "--version", help="Print Knot's version and the stores in use, and exit."
    ),
) -> None:
    if version:
        from knot._version import __version__
        from knot.config import redact, settings

        current = settings()
        typer.echo(__version__)
        typer.echo(f"store: {redact(current.store_uri)}", err=True)
        typer.echo(f"artifacts: {redact(current.artifacts_uri)}", err=True)
        raise typer.Exit()


def main() -> None:
    """Entry point: run the app with Knot's exit codes (see knot.cli._exit)."""
    _exit.run_app(app)
