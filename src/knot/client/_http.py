"""The HTTP plumbing every remote client shares: one keep-alive httpx.Client that sends
KNOT_TOKEN as a bearer token, and Knot's error shape turned back into Knot errors."""

from __future__ import annotations

import os
import ssl
from collections.abc import Mapping
from typing import Any

import httpx
import orjson

from knot.errors import KnotError, Unavailable, from_dict
from knot.governance.roles import Forbidden, Unauthorized

__all__ = ["TOKEN_ENV", "ServerClient", "error_from", "make_client", "send"]

TOKEN_ENV = "KNOT_TOKEN"
#: seconds a client keeps an idle connection for reuse
KEEPALIVE_EXPIRY_S = 20.0
_ACCESS: dict[str, type[KnotError]] = {"unauthorized": Unauthorized, "forbidden": Forbidden}


def make_client(uri: str, *, timeout: float = 60.0, connect_timeout: float = 5.0) -> httpx.Client:
    """A client for the Knot server at `uri`, carrying KNOT_TOKEN when it is set."""
    from knot._version import __version__

    headers = {"user-agent": f"knot/{__version__}"}
    token = os.environ.get(TOKEN_ENV, "").strip()
    if token:
        headers["authorization"] = f"Bearer {token}"
    # httpx builds a verifying TLS context for every client, loading the CA bundle (20-30
    # ms). A plain-HTTP server never uses it, so it gets a bare one that verifies nothing
    # against no CAs: were a request ever sent over https with it, it would fail closed.
    tls: ssl.SSLContext | bool = True
    if uri.lower().startswith("http://"):
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    return httpx.Client(
        base_url=uri.rstrip("/"),
        timeout=httpx.Timeout(timeout, connect=connect_timeout),
        # retries only re-attempt connecting, so no request is ever sent twice; an idle
        # connection is dropped well before `knot server` closes it (75 s), so a request is
        # never sent on a connection the server is closing at that moment
        transport=httpx.HTTPTransport(
            verify=tls, retries=2, limits=httpx.Limits(keepalive_expiry=KEEPALIVE_EXPIRY_S)
        ),
        headers=headers,
    )


def send(
    client: httpx.Client,
    uri: str,
    method: str,
    path: str,
    *,
    params: Mapping[str, str | int] | None = None,
    body: bytes | None = None,
) -> bytes:
    """One request to `uri` + `path`; a Knot error (of the server's type) if it fails."""
    headers = {"content-type": "application/json"} if body else None
    try:
        response = client.request(
            method, uri.rstrip("/") + path, params=params, content=body, headers=headers
        )
    except httpx.TimeoutException as exc:
        raise Unavailable(
            f"the Knot server at {uri} did not answer {method} {path} in time "
            f"({type(exc).__name__}); it may be overloaded or stopped"
        ) from exc
    except httpx.TransportError as exc:
        raise Unavailable(
            f"cannot reach the Knot server at {uri} ({exc or type(exc).__name__}); "
            "start one with `knot server --store <uri>`, or point KNOT_STORE at a running one"
        ) from exc
    if response.status_code >= 400:
        raise error_from(response, uri, method, path)
    return response.content


def error_from(response: httpx.Response, uri: str, method: str, path: str) -> KnotError:
    """The Knot error a failed response carries, or one that says it was not Knot's."""
    try:
        payload = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        payload = None
    if isinstance(payload, dict) and "error" in payload and "message" in payload:
        access = _ACCESS.get(str(payload["error"]))
        if access is not None:
            field = payload.get("field")
            return access(str(payload["message"]), field=str(field) if field else None)
        return from_dict(payload)
    code = response.status_code
    text = response.text[:200].strip()
    if code in (502, 503, 504):
        return Unavailable(f"{uri} answered HTTP {code} to {method} {path}: {text}")
    return KnotError(
        f"{uri} answered HTTP {code} to {method} {path}, not a Knot error ({text!r}); "
        "is KNOT_STORE pointing at a Knot server?"
    )


class ServerClient:
    """What the REST client of every area shares: the server's URI, one keep-alive client
    (its own, or the one the tracking store's client already holds), and JSON requests
    under the area's `base_path`."""

    #: where this area's routes start on the server
    base_path = "/api/v1"

    def __init__(self, uri: str, *, client: httpx.Client | None = None) -> None:
        self.uri = uri.rstrip("/")
        self._owns_client = client is None
        self._client = client if client is not None else make_client(self.uri)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.uri!r})"

    def close(self) -> None:
        if self._owns_client:
            self._client.close()

    def _call(
        self,
        method: str,
        path: str,
        payload: Any = None,
        params: Mapping[str, str | int] | None = None,
    ) -> bytes:
        """`method` `base_path + path` with `payload` as JSON; the answer's bytes, or the
        Knot error the server sent."""
        body = None if payload is None else orjson.dumps(payload)
        return send(self._client, self.uri, method, self.base_path + path, params=params, body=body)
