"""RestLoop: the retrain loop's state, lease, cursors and history through a Knot
server's /api/v1/loop routes. The server applies each call in one transaction (the
lease's compare-and-set, a whole Move), so controllers on many machines racing through
one server behave as they do on one database."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx
import orjson
from pydantic import TypeAdapter

from knot.client._http import ServerClient, send
from knot.errors import Conflict
from knot.loop.protocol import Move
from knot.loop.state import LeaseLost, LoopState, Retrain

__all__ = ["RestLoop", "open_rest_loop"]

_RETRAINS = TypeAdapter(list[Retrain])


class RestLoop(ServerClient):
    """The LoopStore of the Knot server at `uri` (http://host:port)."""

    def _send(self, method: str, model: str, tail: str, body: Any = None) -> bytes:
        path = f"/api/v1/loop/{quote(model, safe='')}{tail}"
        data = orjson.dumps(body) if body is not None else None
        try:
            return send(self._client, self.uri, method, path, body=data)
        except Conflict as exc:
            if exc.field == "lease":  # the server's LeaseLost: the controller must stop
                raise LeaseLost(exc.message, field="lease") from None
            raise

    def read_state(self, model: str) -> LoopState | None:
        doc = orjson.loads(self._send("GET", model, "/state"))
        return None if doc is None else LoopState.model_validate(doc)

    def acquire(self, model: str, owner: str, ttl_ms: int) -> LoopState | None:
        body = {"owner": owner, "ttl_ms": ttl_ms}
        doc = orjson.loads(self._send("POST", model, "/lease", body))
        return None if doc is None else LoopState.model_validate(doc)

    def heartbeat(self, model: str, owner: str, ttl_ms: int) -> None:
        self._send("POST", model, "/lease/heartbeat", {"owner": owner, "ttl_ms": ttl_ms})

    def release(self, model: str, owner: str) -> None:
        self._send("POST", model, "/lease/release", {"owner": owner})

    def move(self, move: Move) -> None:
        self._send("POST", move.model, "/moves", move.model_dump(mode="json"))

    def list_retrains(self, model: str) -> list[Retrain]:
        return _RETRAINS.validate_json(self._send("GET", model, "/retrains"))

    def read_cursors(self, model: str) -> dict[str, str]:
        doc = orjson.loads(self._send("GET", model, "/cursors"))
        return {str(k): str(v) for k, v in doc.items()}

    def seed_cursors(self, model: str, seeds: dict[str, str]) -> None:
        self._send("POST", model, "/cursors/seed", {"seeds": seeds})

    def request_manual(self, model: str) -> int:
        doc = orjson.loads(self._send("POST", model, "/retrain-requests"))
        return int(doc["requested_at"])


def open_rest_loop(tracking: object, uri: str) -> RestLoop:
    """The loop store of the Knot server `tracking` talks to, on its connection pool."""
    client = getattr(tracking, "_client", None)
    return RestLoop(uri, client=client if isinstance(client, httpx.Client) else None)
