"""`run_server`: serve the app with Uvicorn, quiet (log level warning) and quick to start.

The port is bound here, before Uvicorn starts, so "address in use" is a clear Knot error,
port 0 picks a free port, and the startup line names the port actually listening."""

from __future__ import annotations

import gc
import os
import socket
from typing import Any

from knot.config import redact
from knot.errors import Unavailable

__all__ = ["redact", "run_server"]


#: seconds the server keeps an idle keep-alive connection open
SERVER_KEEP_ALIVE_S = 75


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto=IPPROTO_TCP matters: asyncio sets TCP_NODELAY only on sockets that say TCP, and
    # without it Nagle + delayed ACKs add 40 ms to every keep-alive request
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise Unavailable(
            f"cannot listen on {host}:{port} ({exc.strerror}); pick another with --port, "
            "or stop the process using it"
        ) from None
    # listen now: clients that connect before uvicorn's loop runs wait in the backlog
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


_LOCAL_NAMES = {"localhost", "127.0.0.1", "::1", "0.0.0.0", "::"}


def _refuse_itself(artifacts: str, host: str, port: int, sock: socket.socket) -> None:
    """An http artifact store is another Knot server's blob routes; naming this very
    server would send every upload back to itself, forever."""
    from urllib.parse import urlsplit

    parts = urlsplit(artifacts)
    if parts.scheme not in ("http", "https"):
        return
    try:
        target_port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return  # a malformed port is the artifact store's own error to report
    target = (parts.hostname or "").lower()
    same_host = target == host.lower() or (target in _LOCAL_NAMES and host in _LOCAL_NAMES)
    if target_port == port and same_host:
        sock.close()
        from knot.errors import Invalid

        raise Invalid(
            f"artifacts {redact(artifacts)} is this server itself (port {port}); give it "
            "the store the artifacts live in (a folder, s3://BUCKET/PREFIX, or another "
            "Knot server's URL)",
            field="artifacts",
        )


def run_server(
    host: str = "127.0.0.1",
    port: int = 8765,
    store: str | None = None,
    artifacts: str | None = None,
    workers: int = 1,
    auth: bool | None = None,
) -> None:
    """Serve tracking over REST until interrupted (SIGINT/SIGTERM shut down cleanly).
    `auth` (default: KNOT_AUTH) requires an API token on every route but /health."""
    import uvicorn

    from knot.server.app import ARTIFACTS_ENV, STORE_ENV, create_app
    from knot.server.auth import AUTH_ENV, auth_from_env
    from knot.server.deps import open_store

    if store is None or artifacts is None:
        from knot.config import settings

        current = settings()
        store = store or current.store_uri
        artifacts = artifacts or current.artifacts_uri
    if workers < 1:
        from knot.errors import Invalid

        raise Invalid(f"workers must be 1 or more, got {workers}", field="workers")
    # Open (and migrate) the store once here: a bad URI fails now with a clear message,
    # and worker processes never race each other on the schema.
    opened = open_store(store)
    if auth is None:
        auth = auth_from_env()
    if auth:
        _check_tokens(store)
    sock = _bind(host, port)
    bound = sock.getsockname()[1]
    _refuse_itself(artifacts, host, bound, sock)
    options: dict[str, Any] = {
        "log_level": "warning",
        "access_log": False,
        "loop": "auto",
        "http": "auto",
        "timeout_graceful_shutdown": 10,
        "server_header": False,
        # longer than a Knot client keeps an idle connection (knot.client._http), so the
        # server never closes one the client is about to reuse
        "timeout_keep_alive": SERVER_KEEP_ALIVE_S,
    }
    shown = f"[{host}]" if ":" in host else host
    print(
        f"knot server listening on http://{shown}:{bound} (store {redact(store)}, "
        f"artifacts {redact(artifacts)}, {workers} worker{'s' if workers > 1 else ''}"
        f"{', tokens required' if auth else ''})",
        flush=True,
    )
    try:
        if workers == 1:
            app = create_app(store, artifacts, store=opened, auth=auth)
            # What start-up built (modules, the app, the open store) lives as long as the
            # server: keep it out of the garbage collections a large batch's parse sets
            # off again and again. Only here, in the server's own process: an app made
            # in-process (tests, embedding) leaves the caller's collector alone.
            gc.freeze()
            uvicorn.Server(uvicorn.Config(app, **options)).run(sockets=[sock])
        else:
            opened.close()
            os.environ[STORE_ENV] = store
            os.environ[ARTIFACTS_ENV] = artifacts
            os.environ[AUTH_ENV] = "1" if auth else "0"
            # uvicorn's supervisor forks the workers, each building the app from the env
            uvicorn.run(
                "knot.server.app:app_from_env",
                factory=True,
                workers=workers,
                fd=sock.fileno(),
                **options,
            )
    finally:
        sock.close()
        opened.close()


def _check_tokens(store: str) -> None:
    """Tokens live in a SQL store; with none active nobody can use the server, so say how
    to make one."""
    from knot.errors import Invalid
    from knot.governance.tokens import list_tokens
    from knot.store.database import Database

    if store.split(":", 1)[0].lower() in ("http", "https"):
        raise Invalid(
            f"--auth needs a SQL metadata store to keep API tokens in, not {redact(store)}; "
            "serve sqlite:///... or postgresql://...",
            field="store",
        )
    db = Database(store)
    try:
        active = [t for t in list_tokens(db) if t.active]
    finally:
        db.close()
    if not active:
        print(
            "warning: auth is on but the store has no active API token; create one with "
            f"`knot tokens create NAME --role admin --store {redact(store)}`",
            flush=True,
        )
