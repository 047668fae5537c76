"""/api/v1 routes of the model registry: models, versions, aliases, promotion policies,
promotion requests and their decisions, and the training data of a version.

With auth on, approving or rejecting needs the approver role at the door, and the
token's role is handed to the store, which checks it against the role the policy asks.
The store also reads the token's role for the guards of knot.registry.guards: changing
or removing an existing policy needs the role it names as approver (403 otherwise), and
a guarded alias moves only by promotion (409 on a direct set or delete).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, status
from pydantic import BaseModel, ConfigDict

from knot.registry.entities import (
    ModelVersion,
    PromotionPolicy,
    PromotionRequest,
    RegisteredModel,
    RequestStatus,
    TrainingData,
    Version,
    VersionSource,
    VersionUpdate,
)
from knot.registry.protocol import RegistryStore
from knot.server.auth import current_token, require_role
from knot.server.deps import get_registry

__all__ = ["router"]

router = APIRouter()


Registry = Annotated[RegistryStore, Depends(get_registry)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ModelCreate(_Body):
    name: str
    description: str | None = None


class AliasSet(_Body):
    version: Version
    expected_version: Version | None = None


class PromotionBody(_Body):
    version: Version
    alias: str = "champion"
    comment: str | None = None


class DecisionBody(_Body):
    comment: str | None = None


# models ------------------------------------------------------------------------------
@router.post("/models", status_code=status.HTTP_201_CREATED, tags=["registry"])
def create_model(body: ModelCreate, registry: Registry) -> RegisteredModel:
    """Create a registered model; 409 if the name is taken."""
    return registry.create_model(body.name, body.description)


@router.get("/models", tags=["registry"])
def list_models(registry: Registry) -> list[RegisteredModel]:
    return registry.list_models()


@router.get("/models/resolve", tags=["registry"])
def resolve(
    registry: Registry,
    uri: Annotated[
        str, Query(description="models:/NAME@ALIAS, models:/NAME/VERSION, models:/NAME")
    ],
) -> ModelVersion:
    """The version a model URI names; 404 lists what exists, 422 the accepted forms."""
    return registry.resolve(uri)


@router.get("/models/{name}", tags=["registry"])
def get_model(name: str, registry: Registry) -> RegisteredModel:
    return registry.get_model(name)


# versions ----------------------------------------------------------------------------
@router.post("/models/{name}/versions", status_code=status.HTTP_201_CREATED, tags=["registry"])
def create_version(name: str, body: VersionSource, registry: Registry) -> ModelVersion:
    """Register the next version from a run's logged model (the model is created on first use)."""
    return registry.create_version(name, body)


@router.get("/models/{name}/versions", tags=["registry"])
def list_versions(name: str, registry: Registry) -> list[ModelVersion]:
    return registry.list_versions(name)


@router.get("/models/{name}/versions/{version}", tags=["registry"])
def get_version(name: str, version: int, registry: Registry) -> ModelVersion:
    return registry.get_version(name, version)


@router.patch("/models/{name}/versions/{version}", tags=["registry"])
def update_version(
    name: str, version: int, body: VersionUpdate, registry: Registry
) -> ModelVersion:
    """Set description, intended use, limitations or status (ready/archived)."""
    return registry.update_version(name, version, body)


@router.get("/models/{name}/versions/{version}/training-data", tags=["registry"])
def training_data(name: str, version: int, registry: Registry) -> list[TrainingData]:
    """Dataset versions the version's run used, and the validations lineage links to them."""
    return registry.training_data(name, version)


# aliases -----------------------------------------------------------------------------
@router.put("/models/{name}/aliases/{alias}", tags=["registry"])
def set_alias(name: str, alias: str, body: AliasSet, registry: Registry) -> ModelVersion:
    """Point an alias at a version (409 if the policy guards it, or if it no longer points
    at `expected_version`; 403 if a live traffic split answers with this alias and the
    version has not passed the policy, unless an admin asks)."""
    return registry.set_alias(name, alias, body.version, body.expected_version)


@router.delete(
    "/models/{name}/aliases/{alias}", status_code=status.HTTP_204_NO_CONTENT, tags=["registry"]
)
def delete_alias(name: str, alias: str, registry: Registry) -> None:
    """Remove an alias (409 if the policy guards it: it moves only by promotion)."""
    registry.delete_alias(name, alias)


# promotion ---------------------------------------------------------------------------
@router.get("/models/{name}/policy", tags=["promotion"])
def get_policy(name: str, registry: Registry) -> PromotionPolicy | None:
    """The model's promotion policy, or null if it has none."""
    return registry.get_policy(name)


@router.put("/models/{name}/policy", tags=["promotion"])
def set_policy(name: str, body: PromotionPolicy, registry: Registry) -> PromotionPolicy:
    """Set the policy; replacing an existing one needs the role it names as approver
    ("approver" if none) or higher (403 otherwise)."""
    registry.set_policy(name, body)
    return body


@router.delete("/models/{name}/policy", status_code=status.HTTP_204_NO_CONTENT, tags=["promotion"])
def delete_policy(name: str, registry: Registry) -> None:
    """Remove the policy; needs the role it names as approver ("approver" if none) or
    higher (403 otherwise)."""
    registry.set_policy(name, None)


@router.post("/models/{name}/promotions", status_code=status.HTTP_201_CREATED, tags=["promotion"])
def promote(name: str, body: PromotionBody, registry: Registry) -> PromotionRequest:
    """Move an alias through the policy: applied, pending approval, or 409 naming the
    threshold that failed."""
    return registry.promote(name, body.version, body.alias, body.comment)


@router.get("/models/{name}/promotions", tags=["promotion"])
def list_requests(
    name: str,
    registry: Registry,
    state: Annotated[RequestStatus | None, Query(alias="status")] = None,
) -> list[PromotionRequest]:
    """The model's promotion requests, oldest first, optionally only those in one status."""
    return registry.list_requests(name, state)


def _decide(
    request: Request, registry: RegistryStore, request_id: str, approve: bool, body: DecisionBody
) -> PromotionRequest:
    token = current_token(request)
    roles = None if token is None else {token.role}
    return registry.decide(request_id, approve, body.comment, roles)


@router.post(
    "/promotions/{request_id}/approve",
    tags=["promotion"],
    dependencies=[Depends(require_role("approver"))],
)
def approve(
    request_id: str, body: DecisionBody, request: Request, registry: Registry
) -> PromotionRequest:
    """Approve a pending promotion; the alias moves in the same transaction."""
    return _decide(request, registry, request_id, True, body)


@router.post(
    "/promotions/{request_id}/reject",
    tags=["promotion"],
    dependencies=[Depends(require_role("approver"))],
)
def reject(
    request_id: str, body: DecisionBody, request: Request, registry: Registry
) -> PromotionRequest:
    """Reject a pending promotion; `comment` (the reason) is required."""
    return _decide(request, registry, request_id, False, body)
