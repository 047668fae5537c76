"""`knot server`: the tracking server (FastAPI + Uvicorn)."""

from __future__ import annotations

import typer


def serve(
    host: str = typer.Option("127.0.0.1", help="Interface to listen on."),
    port: int = typer.Option(8765, help="Port to listen on."),
    store: str = typer.Option(None, help="Metadata store URI (default: KNOT_STORE)."),
    artifacts: str = typer.Option(None, help="Artifact store URI (default: KNOT_ARTIFACTS)."),
    workers: int = typer.Option(1, help="Uvicorn worker processes."),
    auth: bool = typer.Option(
        False, "--auth", help="Require an API token (`knot tokens create`); or KNOT_AUTH=1."
    ),
) -> None:
    """Serve tracking over REST; point clients at it with KNOT_STORE=http://HOST:PORT
    (and KNOT_TOKEN=<token> when the server runs with --auth)."""
    from knot.server.run import run_server

    run_server(
        host=host,
        port=port,
        store=store,
        artifacts=artifacts,
        workers=workers,
        auth=True if auth else None,
    )
