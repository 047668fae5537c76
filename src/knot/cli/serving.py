"""`knot serve`, `knot predict` and `knot rollback`: the prediction service, batch
scoring of Parquet files, and moving an alias back (the service follows)."""

from __future__ import annotations

from pathlib import Path

import typer


def serve(
    model: str = typer.Argument(
        ...,
        help="models:/NAME@ALIAS (followed), models:/NAME/VERSION, a ModelKit as "
        "oci://REGISTRY/REPOSITORY:TAG (pulled, digests checked) or a local kit as NAME:TAG",
    ),
    port: int = typer.Option(8080, help="Port to listen on."),
    host: str = typer.Option("127.0.0.1", help="Interface to listen on (0.0.0.0: all)."),
    workers: int = typer.Option(1, min=1, help="Worker processes."),
    challenger: str | None = typer.Option(
        None, help="A second model, e.g. models:/NAME@challenger."
    ),
    weight: float = typer.Option(
        0.0,
        min=0.0,
        max=1.0,
        help="Share of traffic the challenger answers (refused for a model with a promotion "
        "policy: split it with `knot traffic set`, which checks the policy).",
    ),
    shadow: bool = typer.Option(
        False, help="Copy all traffic to the challenger; log, never return, its answers."
    ),
    poll: float = typer.Option(1.0, min=0.01, help="Seconds between checks of the aliases."),
    log_sample: float = typer.Option(1.0, min=0.0, max=1.0, help="Share of requests logged."),
    log_dir: Path | None = typer.Option(
        None, help="Prediction log folder (default KNOT_HOME/predictions)."
    ),
    max_body_mb: float = typer.Option(64.0, min=0.001, help="Largest request body accepted."),
    batch_wait_ms: float = typer.Option(
        1.0, min=0.0, help="Longest wait to fill a micro-batch under load."
    ),
    plugin: list[str] = typer.Option(
        [], "--plugin", help="Monitor plugin module:factory (repeatable), see knot.serving.plugins."
    ),
) -> None:
    """Serve a registered model over HTTP: POST /predict and /feedback; GET /health,
    /ready, /metrics and /openapi.json (written from the model's signature)."""
    from knot.serving.config import ServeConfig
    from knot.serving.sources import Plan
    from knot.serving.workers import serve as run_service

    config = ServeConfig(
        model=model,
        challenger=challenger,
        weight=weight,
        shadow=shadow,
        poll_seconds=poll,
        log_sample=log_sample,
        log_dir=str(log_dir.resolve()) if log_dir else None,
        max_body_bytes=int(max_body_mb * 2**20),
        batch_wait_ms=batch_wait_ms,
        plugins=tuple(plugin or ()),
    ).check()
    if log_dir is None:  # a wrong KNOT_LOGS or KNOT_REPLICA_ID fails here, not in a worker
        from knot.serving.logs.mirror import shared_store
        from knot.serving.logs.shared import replica_id

        if shared_store() is not None:
            replica_id()
    # parsed and resolved once, before saying anything: a reference naming nothing fails here
    plan = Plan.parse(config.model, config.challenger, resolve=True)
    if plan.challenger is not None:
        from knot.refs import ModelRef
        from knot.serving.traffic import check_static_split

        second = plan.challenger.name if isinstance(plan.challenger, ModelRef) else None
        check_static_split(plan.registered_name, second, weight, shadow)
    typer.echo(f"serving {model} on http://{host}:{port} ({workers} worker(s))", err=True)
    run_service(config, host=host, port=port, workers=workers, plan=plan)


def predict(
    model: str = typer.Argument(..., help="models:/NAME@ALIAS or models:/NAME/VERSION"),
    input_path: str = typer.Option(
        ...,
        "--input",
        help="Parquet or CSV file (.csv) with the model's columns and any others; with "
        "--executor ray a Parquet file, folder or glob.",
    ),
    output_path: Path = typer.Option(
        ...,
        "--output",
        help="Parquet or CSV file (.csv) to write: every input column and the prediction "
        "(with --executor ray: a folder of parts).",
    ),
    chunk_rows: int = typer.Option(50_000, help="Rows scored at a time."),
    column: str = typer.Option("prediction", help="Name of the prediction column."),
    executor: str = typer.Option(
        "local",
        help="local: one process, one output file; ray: parts (file x row group) on a Ray "
        "cluster, one file each, a manifest, resumable by running it again.",
    ),
    ray_address: str | None = typer.Option(
        None, help="The Ray cluster (host:port; default RAY_ADDRESS or a local Ray)."
    ),
    workers: int | None = typer.Option(
        None, min=1, help="Ray workers, each loading the model once (default: the CPUs)."
    ),
) -> None:
    """Score a Parquet or CSV file in chunks; writes every input row and column (ids and
    labels pass through, only the model's columns reach it) with its prediction."""
    if executor == "local":
        from knot.serving.batch import score_file

        rows = score_file(model, input_path, output_path, chunk_rows=chunk_rows, column=column)
        typer.echo(f"scored {rows} rows -> {output_path}")
        return
    from knot.serving.parts import score_parts

    result = score_parts(
        model,
        input_path,
        output_path,
        executor=executor,
        address=ray_address,
        workers=workers,
        column=column,
    )
    reused = result.parts - result.scored
    typer.echo(
        f"scored {result.rows} rows in {result.parts} parts ({result.scored} scored now, "
        f"{reused} already done) -> {output_path}; manifest {result.manifest_digest}"
    )


def rollback(
    name: str = typer.Argument(..., help="Registered model name."),
    alias: str = typer.Option("champion", help="The alias to move back."),
    to: int | None = typer.Option(None, help="Version to move to (default: the previous one)."),
) -> None:
    """Move an alias back to the version it pointed at before (audited); services follow."""
    from knot.serving.rollback import rollback as run_rollback

    version = run_rollback(name, alias, to)
    typer.echo(f"{name}@{alias} -> version {version.version}")
