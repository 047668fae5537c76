"""`knot import mlflow`: copy another tool's store into Knot's."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import typer

from knot.cli._exit import check_failed
from knot.cli._output import print_json, print_table

app = typer.Typer(help="Copy another tool's store into Knot's store.", no_args_is_help=True)

_COLUMNS = ("what", "imported", "already there", "skipped", "failed")


@app.command("mlflow")
def from_mlflow(
    source_uri: str = typer.Option(
        ...,
        "--from",
        help="MLflow tracking URI: sqlite:////path/mlflow.db, postgresql://..., "
        "http://host:5000 or an mlruns folder.",
    ),
    json_out: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Copy an MLflow store into KNOT_STORE: experiments, runs with every metric point,
    params, tags, artifacts, registered models, versions and aliases. Run ids stay the
    same; running it again (after a crash, or later) copies only what is missing.

    Exits 1 when some item could not be imported (each is listed with the reason; what
    was imported stays, so fix it and run the command again) and 2 when the source is
    not an MLflow store or cannot be read (nothing is copied)."""
    import logging

    from knot.mlflow_import.importer import import_mlflow, plan_import
    from knot.mlflow_import.source import open_source
    from knot.registry.fluent import registry
    from knot.tracking.fluent import session

    # MLflow logs its store set-up at INFO on stderr; the summary says what happened
    logging.getLogger("mlflow").setLevel(logging.WARNING)
    source = open_source(source_uri)
    plan = plan_import(source)
    s = session()
    with _progress(plan.runs, len(plan.models), show=not json_out) as advance:
        summary = import_mlflow(source, plan, s.store, registry(), s.artifacts, advance)
    if json_out:
        print_json(summary.to_dict())
    else:
        rows = [
            (kind, c["imported"], c["present"], c["skipped"], c["failed"])
            for kind, c in summary.counts.items()
        ]
        print_table(f"MLflow import from {source_uri}", _COLUMNS, rows)
        typer.echo(f"metric points copied: {summary.metric_points}")
        for note in summary.notes:
            typer.echo(f"{note.outcome}: {note.kind}: {note.item}: {note.why}")
    failed = summary.total("failed")
    if failed:
        check_failed(
            f"{failed} item(s) could not be imported (listed above); fix what they name and "
            "run the same command again: what was imported is kept and not copied twice"
        )


@contextmanager
def _progress(runs: int, models: int, show: bool) -> Iterator[Callable[[str], None]]:
    """A bar for runs and one for registered models, on stderr."""
    if not show:
        yield lambda _kind: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = [TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn()]
    with Progress(*columns, TimeElapsedColumn(), console=Console(stderr=True)) as progress:
        tasks = {
            "runs": progress.add_task("runs", total=runs),
            "models": progress.add_task("registered models", total=models),
        }
        yield lambda kind: progress.advance(tasks[kind])
