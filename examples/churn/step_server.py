"""The demo's `knot server`: step 5 starts one to log over HTTP, and with
KNOT_DEMO_SERVER=1 (`make demo-server`) the whole demo runs through one, as a team's
laptops would: the server keeps the metadata store and the artifacts, and the demo
itself has only KNOT_STORE=http://... (no KNOT_ARTIFACTS: artifacts go through the
server) and a token. The server runs with --auth, because a promotion's approver must
be someone other than its requester, and only a token proves who is calling: the demo
works as `data-scientist` (editor), and `ml-lead` (approver) approves with a token of
its own. A KNOT_STORE that already names a server is used as it is (with KNOT_TOKEN,
and KNOT_DEMO_APPROVER_TOKEN for the approvals)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
from ports import port_for

import knot
from knot.config import settings

__all__ = ["SERVER_ENV", "approve_as_lead", "demo_server", "knot_server", "through_a_server"]

SERVER_ENV = "KNOT_DEMO_SERVER"
APPROVER_ENV = "KNOT_DEMO_APPROVER_TOKEN"


def through_a_server() -> bool:
    """Whether KNOT_DEMO_SERVER asks for the whole demo to run through a server."""
    value = os.environ.get(SERVER_ENV, "").strip().lower()
    if value in ("", "0", "no", "false"):
        return False
    if value in ("1", "yes", "true"):
        return True
    raise SystemExit(f"{SERVER_ENV}={value!r} is not a yes or no; set it to 1 or 0")


@contextmanager
def knot_server(
    store_uri: str, artifacts_uri: str, *, auth: bool = False
) -> Iterator[tuple[str, float]]:
    """`knot server` on `store_uri` and `artifacts_uri`; its URL and seconds to ready."""
    port = port_for("server")
    knot_cli = [sys.executable, "-c", "from knot.cli import main; main()"]
    command = [*knot_cli, "server", "--port", str(port), "--store", store_uri]
    command += ["--artifacts", artifacts_uri, *(["--auth"] if auth else [])]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        started = time.perf_counter()
        while True:
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if server.poll() is not None or time.perf_counter() - started > 120:
                raise SystemExit("knot server did not start; run `knot server` to see why")
            time.sleep(0.05)
        yield url, time.perf_counter() - started
    finally:
        server.terminate()
        server.wait(timeout=10)


@contextmanager
def demo_server() -> Iterator[str | None]:
    """With KNOT_DEMO_SERVER=1: the demo's SDK and CLI calls all go to a server (one
    started with --auth on the configured SQL store and artifacts, or the one
    KNOT_STORE names); its URL, else None and nothing changes."""
    if not through_a_server():
        yield None
        return
    s = settings()
    if s.store_uri.startswith(("http://", "https://")):
        yield s.store_uri
        return
    names = ("KNOT_STORE", "KNOT_ARTIFACTS", "KNOT_TOKEN", APPROVER_ENV)
    saved = {name: os.environ.get(name) for name in names}
    editor, approver = _tokens(s.store_uri)
    with knot_server(s.store_uri, s.artifacts_uri, auth=True) as (url, _):
        os.environ.update({"KNOT_STORE": url, "KNOT_TOKEN": editor, APPROVER_ENV: approver})
        os.environ.pop("KNOT_ARTIFACTS", None)
        knot.reset()
        try:
            yield url
        finally:
            knot.reset()
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value


def _tokens(store_uri: str) -> tuple[str, str]:
    """New tokens for data-scientist (editor) and ml-lead (approver), made where the
    store is, as `knot tokens create` does (a token is shown once, so each run makes
    its own)."""
    from knot.governance.tokens import create_token
    from knot.store.database import Database

    db = Database(store_uri)
    try:
        suffix = os.urandom(3).hex()
        _, editor = create_token(db, f"data-scientist-{suffix}", "editor")
        _, approver = create_token(db, f"ml-lead-{suffix}", "approver")
    finally:
        db.close()
    return editor, approver


def approve_as_lead(request_id: str, comment: str) -> str:
    """Approve a pending promotion as ml-lead; who it was recorded as approved by. Through
    a server that is ml-lead's own token on its own request (thread-safe: the loop's
    controller keeps working with the demo's token meanwhile); on a local store,
    acting as ml-lead."""
    token = os.environ.get(APPROVER_ENV, "").strip()
    store = settings().store_uri
    if not token or not store.startswith(("http://", "https://")):
        from knot.governance.identity import acting_as

        with acting_as("ml-lead"):
            return knot.approve(request_id, comment, roles={"approver"}).decided_by or ""
    response = httpx.post(
        f"{store.rstrip('/')}/api/v1/promotions/{request_id}/approve",
        json={"comment": comment},
        headers={"authorization": f"Bearer {token}"},
        timeout=60,
    )
    if response.status_code != 200:
        raise SystemExit(f"ml-lead could not approve {request_id}: {response.text[:300]}")
    return str(response.json()["decided_by"])
