"""`knot traffic set/show/clear`: the champion/challenger split running services follow."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from knot.cli._output import fmt_time, print_json

if TYPE_CHECKING:
    from knot.serving.traffic import Traffic

app = typer.Typer(
    help="Traffic splits (canary, shadow) that running services follow.", no_args_is_help=True
)


def _describe(traffic: Traffic) -> str:
    if traffic.shadow:
        share = "shadow: a copy of every request, answers only logged"
    else:
        share = f"{traffic.weight:.4g} of requests"
    return (
        f"{traffic.model}: challenger @{traffic.challenger} gets {share} "
        f"(set {fmt_time(traffic.updated_at)} by {traffic.updated_by})"
    )


@app.command("set")
def set_(
    model: str = typer.Argument(..., help="Registered model name."),
    weight: float = typer.Option(0.0, help="Share of requests the challenger answers (0-1)."),
    challenger: str = typer.Option("challenger", help="The alias of MODEL that challenges."),
    shadow: bool = typer.Option(
        False, help="Send the challenger a copy of every request; log, never return, its answers."
    ),
) -> None:
    """Set the split (audited); services serving MODEL follow within their poll interval.

    If MODEL has a promotion policy, a weight above 0 needs the challenger's
    version to have passed it (promoted to an alias the policy guards), unless
    an admin's token sets it. --shadow needs nothing: its answers are only
    logged."""
    from knot.serving.traffic import set_traffic

    typer.echo(_describe(set_traffic(model, challenger=challenger, weight=weight, shadow=shadow)))


@app.command("show")
def show(
    model: str = typer.Argument(..., help="Registered model name."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """The split MODEL's services follow now."""
    from knot.serving.traffic import get_traffic

    traffic = get_traffic(model)
    if json_out:
        print_json(None if traffic is None else traffic.model_dump())
    elif traffic is None:
        typer.echo(f"{model}: no traffic record; services use their --challenger/--weight flags")
    else:
        typer.echo(_describe(traffic))


@app.command("clear")
def clear(model: str = typer.Argument(..., help="Registered model name.")) -> None:
    """All of MODEL's traffic back to the champion (audited)."""
    from knot.serving.traffic import clear_traffic

    clear_traffic(model)
    typer.echo(f"{model}: all traffic to the champion")
