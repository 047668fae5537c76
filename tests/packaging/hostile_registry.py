"""A tiny OCI registry that says whatever a test tells it to: manifests whose bytes do
not match their digest, descriptors with `..` digests or wrong sizes, blobs whose content
is not what their digest names. It listens on 127.0.0.1 in a thread of the test process
and records every path it was asked for."""

from __future__ import annotations

import contextlib
import hashlib
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from knot.packaging.media import CONFIG_TYPE, MANIFEST_TYPE

__all__ = ["HostileRegistry", "Reply", "hostile_registry", "manifest_of", "sha256"]


def sha256(data: bytes) -> str:
    return f"sha256:{hashlib.sha256(data).hexdigest()}"


@dataclass(frozen=True)
class Reply:
    """What one GET answers: bytes, extra headers, and whether to announce the length
    (without it the body ends when the connection closes, so only counting stops it)."""

    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    content_length: bool = True


@dataclass
class HostileRegistry:
    address: str
    replies: dict[str, Reply] = field(default_factory=dict)
    asked: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def manifest(
        self, repo: str, reference: str, body: bytes, header_digest: str | None = None
    ) -> None:
        """Serve `body` as manifest `reference` with Docker-Content-Digest `header_digest`
        (by default the true digest of `body`)."""
        headers = {
            "content-type": MANIFEST_TYPE,
            "docker-content-digest": header_digest or sha256(body),
        }
        self.set(f"/v2/{repo}/manifests/{reference}", Reply(body, headers))

    def blob(self, repo: str, digest: str, body: bytes, *, content_length: bool = True) -> None:
        self.set(f"/v2/{repo}/blobs/{digest}", Reply(body, {}, content_length))

    def set(self, path: str, reply: Reply) -> None:
        with self.lock:
            self.replies[path] = reply

    def asked_under(self, repo: str) -> list[str]:
        with self.lock:
            return [p for p in self.asked if p.startswith(f"/v2/{repo}/")]


def manifest_of(config: bytes, layers: list[dict[str, Any]]) -> bytes:
    """A ModelKit manifest with a real config descriptor and the given layer descriptors."""
    return json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": MANIFEST_TYPE,
            "config": {"mediaType": CONFIG_TYPE, "digest": sha256(config), "size": len(config)},
            "layers": layers,
        }
    ).encode()


def _handler(registry: HostileRegistry) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"  # one request per connection: a close ends a body

        def log_message(self, format: str, *args: object) -> None:
            pass

        def _answer(self, with_body: bool) -> None:
            with registry.lock:
                registry.asked.append(self.path)
                reply = registry.replies.get(self.path)
            if self.path == "/v2/":
                reply = Reply(b"{}", {"content-type": "application/json"})
            if reply is None:
                body = b'{"errors":[{"code":"NOT_FOUND","message":"unknown"}]}'
                self.send_response(404)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body if with_body else b"")
                return
            self.send_response(200)
            for key, value in reply.headers.items():
                self.send_header(key, value)
            if reply.content_length:
                self.send_header("content-length", str(len(reply.body)))
            self.end_headers()
            if with_body:
                # the client may stop reading: that is what a refusal looks like
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(reply.body)

        def do_GET(self) -> None:
            self._answer(True)

        def do_HEAD(self) -> None:
            self._answer(False)

    return Handler


@contextmanager
def hostile_registry() -> Iterator[HostileRegistry]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(HostileRegistry("")))
    registry = HostileRegistry(f"127.0.0.1:{server.server_address[1]}")
    server.RequestHandlerClass = _handler(registry)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield registry
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
