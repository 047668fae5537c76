"""`knot logs compact`: merge a model's small prediction and label log parts."""

from __future__ import annotations

import dataclasses

import typer

from knot.cli._output import print_json

app = typer.Typer(help="The prediction and label logs the services write.", no_args_is_help=True)


@app.command("compact")
def compact(
    model: str = typer.Argument(..., help="Registered model name."),
    target_mb: float = typer.Option(
        64.0, min=0.001, help="Merge small parts into files of about this size (MiB)."
    ),
    grace: float = typer.Option(
        300.0,
        min=0.0,
        help="Seconds a merged part is kept after its merge, for readers that listed it.",
    ),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Merge MODEL's small log parts (where the services log: KNOT_LOGS, the S3 artifact
    store's logs/, or KNOT_HOME/predictions) into larger files, and delete the parts
    merged at least --grace seconds ago. Safe while services write; run one at a time
    (e.g. an hourly CronJob)."""
    from knot.serving.logs.compaction import compact as run

    result = run(model, target_bytes=int(target_mb * 2**20), grace_s=grace)
    if json_out:
        print_json(dataclasses.asdict(result))
        return
    typer.echo(
        f"{result.model} in {result.store}: merged {result.merged} part(s) into "
        f"{result.written} file(s), deleted {result.deleted}; {result.files} file(s) "
        f"in {len(result.folders)} folder(s)"
    )
