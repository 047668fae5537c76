"""A server that does no work: it answers each request with the response a real server gave.

    python bench/_replay.py PORT UPSTREAM_URL

It starts in record mode: every request is forwarded to UPSTREAM_URL and the answer
(status, content type, body) is kept under the request's method and path.
`POST /__replay__/freeze` ends recording (and returns the requests counted per route
while recording); from then on each request is answered at once with the body recorded
for its method and path (the first one seen), nothing forwarded, nothing parsed but the
HTTP framing. `GET /__replay__/calls` returns (and resets) the requests counted per
route. A client timed against it measures its own cost per call: the floor no server
can go under. One process, one asyncio loop, keep-alive, TCP_NODELAY.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import socket
import sys
from urllib.parse import urlsplit

Key = tuple[str, str]
Answer = tuple[int, str, bytes]

_REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 502: "Bad Gateway"}


class Replay:
    def __init__(self, upstream: str) -> None:
        parts = urlsplit(upstream)
        self.host, self.port = parts.hostname or "", parts.port or 80
        self.answers: dict[Key, Answer] = {}
        self.calls: dict[str, int] = {}  # requests per "METHOD /path", recorded or replayed
        self.recording = True

    def forward(self, method: str, target: str, headers: dict[str, str], body: bytes) -> Answer:
        """Ask the upstream server (record mode only; blocking is fine, one client at a time)."""
        keep = {k: v for k, v in headers.items() if k in ("content-type", "accept")}
        # a connection per request: the upstream closes idle keep-alive connections, and
        # recording may pause for minutes while the other servers are being filled
        upstream = http.client.HTTPConnection(self.host, self.port, timeout=300)
        try:
            upstream.request(method, target, body=body or None, headers=keep)
            resp = upstream.getresponse()
            data = resp.read()
        finally:
            upstream.close()
        return resp.status, resp.getheader("content-type") or "application/json", data

    def answer(self, method: str, target: str, headers: dict[str, str], body: bytes) -> Answer:
        path = target.split("?", 1)[0]
        if path == "/__replay__/freeze":
            self.recording = False
        if path in ("/__replay__/freeze", "/__replay__/calls"):
            calls, self.calls = self.calls, {}
            return 200, "application/json", json.dumps(calls).encode()
        key = (method, path)
        name = f"{method} {path}"
        self.calls[name] = self.calls.get(name, 0) + 1
        if self.recording:
            got = self.forward(method, target, headers, body)
            self.answers.setdefault(key, got)
            return got
        found = self.answers.get(key)
        if found is None:
            return 502, "application/json", b'{"error_code": "NOT_RECORDED"}'
        return found


class Connection(asyncio.Protocol):
    def __init__(self, replay: Replay) -> None:
        self.replay = replay
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buffer[:end].decode("latin-1").split("\r\n")
            headers = {}
            for line in head[1:]:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            length = int(headers.get("content-length", "0"))
            if len(self.buffer) < end + 4 + length:
                return
            body = self.buffer[end + 4 : end + 4 + length]
            self.buffer = self.buffer[end + 4 + length :]
            method, target, _version = head[0].split(" ", 2)
            try:
                status, kind, payload = self.replay.answer(method, target, headers, body)
            except OSError as exc:  # the upstream went away while recording: say so
                status, kind = 502, "application/json"
                payload = json.dumps({"error_code": "REPLAY_UPSTREAM", "message": repr(exc)})
                payload = payload.encode()
            assert self.transport is not None
            self.transport.write(
                f"HTTP/1.1 {status} {_REASONS.get(status, 'Status')}\r\n"
                f"content-type: {kind}\r\ncontent-length: {len(payload)}\r\n\r\n".encode()
                + payload
            )


async def serve(port: int, upstream: str) -> None:
    replay = Replay(upstream)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: Connection(replay), "127.0.0.1", port)
    async with server:
        await server.serve_forever()


def main() -> None:
    port, upstream = int(sys.argv[1]), sys.argv[2]
    if port == 0:
        raise SystemExit("give a port")
    print(f"replay on 127.0.0.1:{port}, recording from {upstream}", flush=True)
    asyncio.run(serve(port, upstream))


if __name__ == "__main__":
    main()
