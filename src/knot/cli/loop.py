"""`knot loop run|status` and `knot retrain`: the continuous-training controller of a
model, driven by its loop.yaml (see knot.loop.config)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from knot.cli._exit import check_failed
from knot.cli._output import fmt_time, print_json, print_table, say_store

if TYPE_CHECKING:
    from knot.loop.config import LoopConfig
    from knot.loop.controller import Controller

app = typer.Typer(
    help="The retrain loop: triggers -> challenger -> evaluation -> canary -> promotion.",
    no_args_is_help=True,
)

CONFIG = typer.Option(..., "--config", "-c", help="The model's loop.yaml.")
LEASE = typer.Option(
    30.0, "--lease-seconds", help="How long the controller's lease lasts without a heartbeat."
)


def _config(model: str, config: Path) -> LoopConfig:
    from knot.errors import Invalid
    from knot.loop.config import load_loop_config

    parsed = load_loop_config(config)
    if parsed.model != model:
        raise Invalid(
            f"{config} is the loop of model {parsed.model!r}, not {model!r}; pass the "
            "matching config",
            field="model",
        )
    return parsed


def _controller(model: str, config: Path, lease_seconds: float, owner: str | None) -> Controller:
    from rich.console import Console

    from knot.loop.controller import Controller

    parsed = _config(model, config)
    console = Console(stderr=True)
    return Controller(
        parsed,
        owner=owner,
        lease_seconds=lease_seconds,
        say=lambda m: console.print(m, markup=False),
        progress=True,
    )


@app.command("run")
def run(
    model: str = typer.Argument(..., help="The registered model, e.g. churn."),
    config: Path = CONFIG,
    once: bool = typer.Option(False, "--once", help="Stop when idle after at most one retraining."),
    interval: float = typer.Option(5.0, "--interval", help="Seconds between trigger polls."),
    lease_seconds: float = LEASE,
    owner: str | None = typer.Option(None, "--owner", help="Controller name (default host:pid)."),
) -> None:
    """Run the controller: watch the triggers and carry each retraining through."""
    controller = _controller(model, config, lease_seconds, owner)
    say_store()
    outcome = controller.run(once=once, interval=interval)
    if outcome.busy_owner is not None:
        typer.echo(f"the loop of {model} is held by {outcome.busy_owner}; nothing done")
    elif outcome.finished:
        typer.echo(f"retrain {outcome.finished} finished; the loop of {model} is idle")
    else:
        typer.echo(f"nothing triggered; the loop of {model} is idle")


def retrain(
    model: str = typer.Argument(..., help="The registered model, e.g. churn."),
    config: Path = CONFIG,
    lease_seconds: float = LEASE,
) -> None:
    """Retrain MODEL now (or, when a controller holds its loop, ask that controller to).
    Exits 0 when the challenger is promoted (or the request is left to the controller), 1
    when it is rejected by the evaluation or rolled back by the canary, 2 when the
    retraining failed (its pipeline or evaluation raised)."""
    from rich.console import Console

    from knot.errors import KnotError
    from knot.loop.controller import retrain as run_retrain

    parsed = _config(model, config)
    console = Console(stderr=True)
    done = run_retrain(
        parsed,
        lease_seconds=lease_seconds,
        say=lambda m: console.print(m, markup=False),
        progress=True,
    )
    if done is None:
        typer.echo(f"a controller holds the loop of {model}; it retrains on its next look")
        return
    outcome = f"retrain {done.retrain_id}: {done.status}: {done.reason}"
    if done.status == "failed":
        raise KnotError(outcome)
    typer.echo(outcome)
    if done.status != "promoted":
        check_failed(outcome)


@app.command("status")
def status(
    model: str = typer.Argument(..., help="The registered model, e.g. churn."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Where the loop of MODEL is, who holds it, and its retrainings."""
    from knot.loop.stores import loop_store

    loop = loop_store()
    state = loop.read_state(model)
    retrains = loop.list_retrains(model)
    if json_out:
        print_json(
            {
                "state": state.model_dump(mode="json") if state else None,
                "retrains": [r.model_dump(mode="json") for r in retrains],
            }
        )
        return
    if state is None:
        typer.echo(f"the loop of {model} has never run")
    else:
        typer.echo(f"{model}: {state.state.value} (owner {state.owner or 'none'})")
    rows = [
        (
            r.retrain_id,
            r.trigger_kind,
            r.status,
            r.challenger_version or "",
            fmt_time(r.started_at),
            r.reason or "",
        )
        for r in retrains
    ]
    print_table(
        f"retrainings of {model}",
        ["id", "trigger", "status", "challenger", "started", "reason"],
        rows,
    )
