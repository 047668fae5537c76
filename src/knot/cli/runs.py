"""`knot runs list/show/compare/history`"""

from __future__ import annotations

from pathlib import Path

import typer

from knot.cli._output import fmt_time, fmt_value, print_json, print_table

app = typer.Typer(
    help="Runs: params, metrics and artifacts of training runs.", no_args_is_help=True
)


_RUN_HELP = "A run id or a unique prefix of it (tables print 8 characters)."


@app.command("list")
def list_runs(
    experiment: str = typer.Option(None, "--experiment", "-e", help="Experiment name."),
    filter: str = typer.Option(None, "--filter", "-f", help='e.g. "metrics.auc > 0.8"'),
    order_by: list[str] = typer.Option(None, "--order-by", "-o", help="e.g. 'metrics.auc DESC'"),
    limit: int = typer.Option(50, "--limit", "-n", help="How many runs."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """List runs, newest first, optionally filtered and ordered."""
    import knot

    runs = knot.search_runs(filter, experiment=experiment, order_by=order_by, max_results=limit)
    if json_out:
        print_json([r.model_dump(mode="json") for r in runs])
        return
    keys = sorted({k for r in runs for k in r.metrics})[:6]
    rows = [
        (
            r.run_id,
            r.name,
            r.status.value,
            fmt_time(r.start_time),
            *tuple(fmt_value(r.metrics[k].latest) if k in r.metrics else "" for k in keys),
        )
        for r in runs
    ]
    print_table("runs", ["run id", "name", "status", "started", *keys], rows)


@app.command("show")
def show(
    run_id: str = typer.Argument(..., help=_RUN_HELP),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Show one run: source, params, metrics, tags, artifacts."""
    import knot

    run_id = knot.resolve_run_id(run_id)
    run = knot.get_run(run_id)
    artifacts = knot.list_artifacts(run_id)
    if json_out:
        data = run.model_dump(mode="json")
        data["artifacts"] = [a.model_dump() for a in artifacts]
        print_json(data)
        return
    src = run.source
    info = [
        ("name", run.name),
        ("status", run.status.value),
        ("experiment", run.experiment_id),
        ("user", run.user),
        ("started", fmt_time(run.start_time)),
        ("ended", fmt_time(run.end_time)),
        ("parent", run.parent_run_id),
        ("git", f"{src.git_commit or '-'}{' (dirty)' if src.git_dirty else ''}"),
        ("command", src.command),
        ("python", src.python_version),
    ]
    print_table(f"run {run.run_id}", ["field", "value"], info)
    print_table("params", ["key", "value"], sorted(run.params.items()))
    print_table(
        "metrics",
        ["key", "latest", "step", "min", "max", "count"],
        [
            (k, fmt_value(m.latest), m.latest_step, fmt_value(m.min), fmt_value(m.max), m.count)
            for k, m in sorted(run.metrics.items())
        ],
    )
    if run.tags:
        print_table("tags", ["key", "value"], sorted(run.tags.items()))
    if artifacts:
        print_table(
            "artifacts",
            ["path", "kind", "size", "digest"],
            [(a.path, a.kind, a.size, a.digest[:19]) for a in artifacts],
        )


@app.command("history")
def history(
    run_id: str = typer.Argument(..., help=_RUN_HELP),
    key: str = typer.Argument(..., help="The metric's key."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Every logged point of one metric."""
    import knot

    run_id = knot.resolve_run_id(run_id)
    points = knot.get_metric_history(run_id, key)
    if json_out:
        print_json([p.model_dump(mode="json") for p in points])
        return
    rows = [(p.step, fmt_value(p.value), fmt_time(p.timestamp)) for p in points]
    print_table(f"{key} of {run_id}", ["step", "value", "time"], rows)


@app.command("compare")
def compare(
    run_ids: list[str] = typer.Argument(..., help="Two or more run ids or unique prefixes."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
    html: Path = typer.Option(None, "--html", help="Also write an HTML chart to this file."),
) -> None:
    """Params and latest metrics of runs side by side; differing params are marked."""
    import knot

    result = knot.compare_runs([knot.resolve_run_id(r) for r in run_ids])
    if html is not None:
        from knot.tracking.compare.compare_html import compare_page

        compare_page(result).write_html(html)
        typer.echo(f"wrote {html}", err=True)
    if json_out:
        print_json(result.to_dict())
        return
    names = [f"{r.name}\n{r.run_id[:8]}" for r in result.runs]
    differing = set(result.differing_params())
    rows: list[tuple[str, ...]] = []
    for key, values in result.params.items():
        mark = " *" if key in differing else ""
        rows.append((f"params.{key}{mark}", *[v or "" for v in values]))
    for key, metric_values in result.metrics.items():
        rows.append((f"metrics.{key}", *[fmt_value(v) for v in metric_values]))
    print_table("comparison (* = differs)", ["", *names], rows)


@app.command("sync")
def sync() -> None:
    """Send now what was logged while the server was down (kept in $KNOT_HOME/spool).

    The next knot client for the store also sends it, when it starts.

    Exits 2 when the server still cannot take them; nothing is lost, run it again.
    """
    from knot.errors import KnotError
    from knot.tracking.fluent import session

    current = session()
    writer = current.writer
    sent, refused = writer.sync()
    typer.echo(
        f"sent {sent} spooled batches to {current.store_uri}"
        if sent
        else f"nothing spooled for {current.store_uri}"
    )
    if writer.spool is not None:
        held = writer.spool.orphans()
        if held:
            typer.echo(
                f"{len(held)} spool files are held by running knot processes, which send "
                "them themselves",
                err=True,
            )
        if refused:
            raise KnotError(
                f"{current.store_uri} refused {refused} spooled batches as bad input; they "
                f"are kept, each with the reason, in {writer.spool.rejected_path}"
            )
