"""`knot experiments ...`"""

from __future__ import annotations

import typer

from knot.cli._output import fmt_time, print_json, print_table

app = typer.Typer(help="Experiments: named groups of runs.", no_args_is_help=True)


@app.command("list")
def list_experiments(json_out: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """List experiments."""
    import knot

    found = knot.list_experiments()
    if json_out:
        print_json([e.model_dump(mode="json") for e in found])
        return
    rows = [(e.experiment_id, e.name, fmt_time(e.created_at)) for e in found]
    print_table("experiments", ["id", "name", "created"], rows)


@app.command("create")
def create(name: str, description: str = typer.Option(None, help="What it is for.")) -> None:
    """Create an experiment."""
    import knot

    exp = knot.create_experiment(name, description)
    typer.echo(exp.experiment_id)
