"""RestTraffic: traffic records (knot.serving.traffic) through a Knot server's routes,
with the same checks and errors as the SQL repository."""

from __future__ import annotations

from urllib.parse import quote

import httpx
import orjson

from knot.client._http import ServerClient, send
from knot.refs import check_alias
from knot.serving.traffic import Traffic, check_shadow, check_weight

__all__ = ["RestTraffic", "open_rest_traffic"]


class RestTraffic(ServerClient):
    """Traffic records of the Knot server at `uri` (http://host:port)."""

    def _path(self, model: str) -> str:
        return f"/api/v1/models/{quote(model, safe='')}/traffic"

    def set(
        self,
        model: str,
        *,
        challenger: str = "challenger",
        weight: float = 0.0,
        shadow: bool = False,
    ) -> Traffic:
        check_alias(challenger)
        body = {
            "challenger": challenger,
            "weight": check_weight(weight),
            "shadow": check_shadow(shadow),
        }
        data = send(self._client, self.uri, "PUT", self._path(model), body=orjson.dumps(body))
        return Traffic.model_validate_json(data)

    def get(self, model: str) -> Traffic | None:
        doc = orjson.loads(send(self._client, self.uri, "GET", self._path(model)))
        return None if doc is None else Traffic.model_validate(doc)

    def clear(self, model: str) -> None:
        send(self._client, self.uri, "DELETE", self._path(model))


def open_rest_traffic(registry: object) -> RestTraffic:
    """Traffic records beside a remote registry store, on its connection pool."""
    uri = str(getattr(registry, "uri", ""))
    client = getattr(registry, "_client", None)
    return RestTraffic(uri, client=client if isinstance(client, httpx.Client) else None)
