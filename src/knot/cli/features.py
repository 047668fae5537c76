"""`knot features apply/list/materialize`"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import typer

from knot.cli._output import print_json, print_table

app = typer.Typer(
    help="Feature store: feature views and services, the online store.", no_args_is_help=True
)


@app.command("apply")
def apply(
    file: Path = typer.Argument(..., help="A .yaml or .py file of feature views and services."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Register the file's feature views and services; a changed one gets a new version."""
    import knot.features as kf

    applied = kf.apply(file)
    if json_out:
        print_json([a.__dict__ for a in applied])
        return
    for a in applied:
        state = "new version" if a.changed else "unchanged"
        typer.echo(f"{a.kind.replace('_', ' ')} {a.name} v{a.version}: {state}")


@app.command("list")
def list_definitions(json_out: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Every feature view and service at its newest version."""
    from knot.features.fluent import feature_store

    catalog = feature_store().catalog
    views = catalog.list_views()
    services = catalog.list_services()
    if json_out:
        print_json(
            {
                "views": [{"version": v.version, **v.view.spec()} for v in views],
                "services": [{"version": s.version, **s.service.spec()} for s in services],
            }
        )
        return
    print_table(
        "feature views",
        ["view", "version", "entities", "features", "ttl s", "source", "owner"],
        [
            [v.view.name, str(v.version), ", ".join(v.view.entities),
             ", ".join(v.view.feature_names), str(v.view.ttl_seconds or ""), v.view.source,
             v.view.owner]
            for v in views
        ],
    )  # fmt: skip
    print_table(
        "feature services",
        ["service", "version", "features"],
        [[s.service.name, str(s.version), ", ".join(s.service.features)] for s in services],
    )


@app.command("materialize")
def materialize(
    view: list[str] = typer.Option(None, "--view", "-v", help="Only this view (repeatable)."),
    end: datetime = typer.Option(None, "--end", help="Newest event time to write (UTC)."),
    full: bool = typer.Option(
        False, "--full", help="Rewrite from scratch, not from the watermark."
    ),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Write the newest feature values per entity to the online store (KNOT_ONLINE_STORE),
    as a new generation readers switch to at once."""
    from datetime import UTC

    import knot.features as kf

    if end is not None and end.tzinfo is None:
        end = end.replace(tzinfo=UTC)
    done = kf.materialize(view or (), end, full)
    if json_out:
        print_json([m.__dict__ for m in done])
        return
    for m in done:
        how = "incremental" if m.incremental else "full"
        typer.echo(
            f"{m.view} v{m.view_version}: generation {m.generation}, {m.rows:,} entities "
            f"written ({how})"
        )


@app.command("bind")
def bind(
    model: str = typer.Argument(..., help="Registered model name."),
    version: int = typer.Argument(..., help="Its version."),
    service: str = typer.Argument(..., help="The feature service it reads."),
) -> None:
    """Serve MODEL VERSION from entity ids: `knot serve` fetches SERVICE's features."""
    import knot.features as kf

    stored = kf.bind_model(model, version, service)
    typer.echo(f"{model}/{version} reads feature service {stored.node}")


@app.command("skew")
def skew(
    model: str = typer.Argument(..., help="A model bound to a feature service."),
    version: int = typer.Option(..., "--version", help="Its version."),
    log_dir: Path = typer.Option(None, "--log-dir", help="Prediction log folder of knot serve."),
    threshold: float = typer.Option(0.0, "--threshold", help="Share of rows that may differ."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Compare the feature values MODEL was served with (its prediction log) with the
    point-in-time offline values. Exits 1 when a feature differs in more rows than
    --threshold."""
    from dataclasses import asdict

    from knot.cli._exit import check_failed
    from knot.errors import Invalid
    from knot.features.fluent import feature_store
    from knot.features.skew import serving_skew
    from knot.serving.logs.served_features import served_values

    store = feature_store()
    bound = store.catalog.binding(model, version)
    if bound is None:
        raise Invalid(
            f"{model}/{version} reads no feature service; bind one with "
            "`knot features bind MODEL VERSION SERVICE`",
            field="model",
        )
    report = serving_skew(
        store, bound.service.name, served_values(model, version, log_dir), threshold=threshold
    )
    if json_out:
        features = [asdict(f) | {"rate": f.rate} for f in report.features]
        print_json(
            {"service": report.service, "rows": report.rows, "skewed": report.skewed,
             "features": features}
        )  # fmt: skip
    else:
        typer.echo(report.summary())
    if report.skewed:
        check_failed(report.summary())
