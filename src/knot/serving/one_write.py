"""uvicorn's httptools protocol, with each answer leaving in one system call.

uvicorn writes a response's status line and headers, then its body, as two writes, and
uvloop sends each at once: two system calls and two wake-ups of the client for a
200-byte prediction, which cost more than the prediction itself under load. Here the
writes a connection makes in one pass of the event loop are gathered and sent together
at the end of the pass (writelines: one writev). Nothing else changes: the bytes, their
order, flow control and closing are uvicorn's and the transport's own.
"""

from __future__ import annotations

import asyncio
from typing import Any

__all__ = ["http_protocol"]


class _Gathered:
    """A transport whose writes wait for the end of the event loop's pass; the rest of
    the transport is the real one's."""

    __slots__ = ("_loop", "_parts", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._parts: list[bytes] = []

    def write(self, data: bytes) -> None:
        if not self._parts:
            self._loop.call_soon(self._flush)
        self._parts.append(data)

    def writelines(self, data: Any) -> None:
        for part in data:
            self.write(part)

    def _flush(self) -> None:
        parts, self._parts = self._parts, []
        if not parts or self._transport.is_closing():
            return
        if len(parts) == 1:
            self._transport.write(parts[0])
        else:
            self._transport.writelines(parts)

    def close(self) -> None:
        self._flush()  # what was written goes out before the connection closes
        self._transport.close()

    def abort(self) -> None:
        self._parts = []
        self._transport.abort()

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size() + sum(map(len, self._parts))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


def http_protocol() -> Any:
    """The protocol class to give uvicorn (`http=`), or "auto" without httptools."""
    try:
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
    except ImportError:  # h11 only: uvicorn's own choice
        return "auto"

    class OneWriteProtocol(HttpToolsProtocol):
        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(_Gathered(transport, self.loop))  # type: ignore[arg-type]

    return OneWriteProtocol
