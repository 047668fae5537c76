"""`knot ui`: the web UI on the embedded store, served on this machine only."""

from __future__ import annotations

import typer


def ui(
    port: int = typer.Option(8765, help="Port to listen on (0 picks a free one)."),
    store: str = typer.Option(None, help="Metadata store URI (default: KNOT_STORE)."),
    artifacts: str = typer.Option(None, help="Artifact store URI (default: KNOT_ARTIFACTS)."),
) -> None:
    """Open the web UI of the local store at http://127.0.0.1:PORT/ (auth off: only this
    machine can reach it). For a team, run `knot server --auth` and open its address."""
    from knot.server.run import run_server

    if port:
        typer.echo(f"Knot UI: http://127.0.0.1:{port}/ (Ctrl+C stops it)")
    run_server(host="127.0.0.1", port=port, store=store, artifacts=artifacts, auth=False)
