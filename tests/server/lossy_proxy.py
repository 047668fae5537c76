"""A TCP proxy in front of a real server that can lose answers: the request reaches the
server and is carried out, but the client's connection is closed instead of receiving
the response, as when a server is killed right after a commit or a network drops the
reply. `with LossyProxy(port) as proxy: proxy.lose(1)` loses the next answer."""

from __future__ import annotations

import contextlib
import socket
import threading
from types import TracebackType

__all__ = ["LossyProxy"]


class LossyProxy:
    def __init__(self, upstream_port: int, host: str = "127.0.0.1") -> None:
        self.upstream = (host, upstream_port)
        self._listener = socket.create_server((host, 0))
        self.url = f"http://{host}:{self._listener.getsockname()[1]}"
        self._lock = threading.Lock()
        self._to_lose = 0
        self.lost = 0  # answers lost so far
        self._threads: list[threading.Thread] = []

    def lose(self, answers: int) -> None:
        """Lose the next `answers` responses (each after the server has sent it)."""
        with self._lock:
            self._to_lose += answers

    def __enter__(self) -> LossyProxy:
        self._spawn(self._accept)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._listener.close()

    def _spawn(self, target: object, *args: object) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)  # type: ignore[arg-type]
        thread.start()
        self._threads.append(thread)

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return  # closed
            try:
                server = socket.create_connection(self.upstream)
            except OSError:
                client.close()
                continue
            self._spawn(self._pipe, client, server, False)
            self._spawn(self._pipe, server, client, True)

    def _pipe(self, source: socket.socket, sink: socket.socket, answers: bool) -> None:
        try:
            while data := source.recv(65536):
                if answers and self._take_loss():
                    break  # the server answered; the client never hears it
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                with contextlib.suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)
                end.close()

    def _take_loss(self) -> bool:
        with self._lock:
            if self._to_lose == 0:
                return False
            self._to_lose -= 1
            self.lost += 1
            return True
