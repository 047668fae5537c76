"""RestRegistryStore: the RegistryStore protocol over a Knot server's registry routes.

It raises the same error types as the SQL store. Roles are not sent: the server takes
them from the request's token (KNOT_TOKEN), so a client cannot claim one.
"""

from __future__ import annotations

from collections.abc import Collection
from urllib.parse import quote

import httpx
from pydantic import TypeAdapter

from knot.client._http import ServerClient
from knot.refs import ModelRef, parse_model_ref
from knot.registry.entities import (
    ModelVersion,
    PromotionPolicy,
    PromotionRequest,
    RegisteredModel,
    RequestStatus,
    TrainingData,
    VersionSource,
    VersionUpdate,
)

__all__ = ["RestRegistryStore", "open_rest_registry"]

_MODELS = TypeAdapter(list[RegisteredModel])
_VERSIONS = TypeAdapter(list[ModelVersion])
_REQUESTS = TypeAdapter(list[PromotionRequest])
_TRAINING = TypeAdapter(list[TrainingData])
_POLICY = TypeAdapter(PromotionPolicy | None)


def _q(segment: str | int) -> str:
    # names go into the path: never let a "/" or "?" in one change the route
    return quote(str(segment), safe="")


class RestRegistryStore(ServerClient):
    """The registry of the Knot server at `uri` (http://host:port)."""

    # models ------------------------------------------------------------------------
    def create_model(self, name: str, description: str | None = None) -> RegisteredModel:
        data = self._call("POST", "/models", {"name": name, "description": description})
        return RegisteredModel.model_validate_json(data)

    def get_model(self, name: str) -> RegisteredModel:
        return RegisteredModel.model_validate_json(self._call("GET", f"/models/{_q(name)}"))

    def list_models(self) -> list[RegisteredModel]:
        return _MODELS.validate_json(self._call("GET", "/models"))

    # versions ----------------------------------------------------------------------
    def create_version(self, name: str, source: VersionSource) -> ModelVersion:
        data = self._call("POST", f"/models/{_q(name)}/versions", source.model_dump(mode="json"))
        return ModelVersion.model_validate_json(data)

    def get_version(self, name: str, version: int) -> ModelVersion:
        data = self._call("GET", f"/models/{_q(name)}/versions/{_q(version)}")
        return ModelVersion.model_validate_json(data)

    def list_versions(self, name: str) -> list[ModelVersion]:
        return _VERSIONS.validate_json(self._call("GET", f"/models/{_q(name)}/versions"))

    def update_version(self, name: str, version: int, update: VersionUpdate) -> ModelVersion:
        data = self._call(
            "PATCH",
            f"/models/{_q(name)}/versions/{_q(version)}",
            update.model_dump(mode="json", exclude_none=True),
        )
        return ModelVersion.model_validate_json(data)

    def resolve(self, ref: ModelRef | str) -> ModelVersion:
        # parsed here too, so a malformed reference fails before a request is sent
        ref = ref if isinstance(ref, ModelRef) else parse_model_ref(ref)
        data = self._call("GET", "/models/resolve", params={"uri": str(ref)})
        return ModelVersion.model_validate_json(data)

    def training_data(self, name: str, version: int) -> list[TrainingData]:
        data = self._call("GET", f"/models/{_q(name)}/versions/{_q(version)}/training-data")
        return _TRAINING.validate_json(data)

    # aliases -----------------------------------------------------------------------
    def set_alias(
        self, name: str, alias: str, version: int, expected_version: int | None = None
    ) -> ModelVersion:
        data = self._call(
            "PUT",
            f"/models/{_q(name)}/aliases/{_q(alias)}",
            {"version": version, "expected_version": expected_version},
        )
        return ModelVersion.model_validate_json(data)

    def delete_alias(self, name: str, alias: str) -> None:
        self._call("DELETE", f"/models/{_q(name)}/aliases/{_q(alias)}")

    # promotion ---------------------------------------------------------------------
    def set_policy(self, name: str, policy: PromotionPolicy | None) -> None:
        if policy is None:
            self._call("DELETE", f"/models/{_q(name)}/policy")
        else:
            self._call("PUT", f"/models/{_q(name)}/policy", policy.model_dump(mode="json"))

    def get_policy(self, name: str) -> PromotionPolicy | None:
        return _POLICY.validate_json(self._call("GET", f"/models/{_q(name)}/policy"))

    def promote(
        self, name: str, version: int, alias: str = "champion", comment: str | None = None
    ) -> PromotionRequest:
        body = {"version": version, "alias": alias, "comment": comment}
        data = self._call("POST", f"/models/{_q(name)}/promotions", body)
        return PromotionRequest.model_validate_json(data)

    def decide(
        self,
        request_id: str,
        approve: bool,
        comment: str | None = None,
        roles: Collection[str] | None = None,
    ) -> PromotionRequest:
        verb = "approve" if approve else "reject"
        data = self._call("POST", f"/promotions/{_q(request_id)}/{verb}", {"comment": comment})
        return PromotionRequest.model_validate_json(data)

    def list_requests(
        self, name: str, status: RequestStatus | None = None
    ) -> list[PromotionRequest]:
        params: dict[str, str | int] = {} if status is None else {"status": str(status)}
        data = self._call("GET", f"/models/{_q(name)}/promotions", params=params)
        return _REQUESTS.validate_json(data)


def open_rest_registry(uri: str, tracking: object = None) -> RestRegistryStore:
    """The registry at `uri`, sharing the tracking client's connection pool when given one."""
    client = getattr(tracking, "_client", None)
    return RestRegistryStore(uri, client=client if isinstance(client, httpx.Client) else None)
