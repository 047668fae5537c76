"""The registry store interface. The SQL repository and the HTTP client both implement it,
and one conformance suite (tests/registry/test_store.py) runs against every one.

`roles` is the caller's set of roles where a method needs one (approving a promotion).
None means the caller is local, with the store's own credentials: allowed. On the
server the roles come from the request's token, never from the client.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Protocol, runtime_checkable

from knot.refs import ModelRef
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

__all__ = ["RegistryStore"]


@runtime_checkable
class RegistryStore(Protocol):
    uri: str

    def create_model(self, name: str, description: str | None = None) -> RegisteredModel: ...

    def get_model(self, name: str) -> RegisteredModel: ...

    def list_models(self) -> list[RegisteredModel]: ...

    def create_version(self, name: str, source: VersionSource) -> ModelVersion:
        """Register the next version of `name` (created on first use) from a run's artifact."""
        ...

    def get_version(self, name: str, version: int) -> ModelVersion: ...

    def list_versions(self, name: str) -> list[ModelVersion]: ...

    def update_version(self, name: str, version: int, update: VersionUpdate) -> ModelVersion: ...

    def resolve(self, ref: ModelRef | str) -> ModelVersion:
        """The version a model reference names (alias, number, or latest); a string is
        parsed by knot.refs.parse_model_ref."""
        ...

    def set_alias(
        self, name: str, alias: str, version: int, expected_version: int | None = None
    ) -> ModelVersion:
        """Point `alias` at `version` in one statement; with `expected_version`, only if it
        points there now (else Conflict), so of two racing movers exactly one wins."""
        ...

    def delete_alias(self, name: str, alias: str) -> None: ...

    def set_policy(self, name: str, policy: PromotionPolicy | None) -> None:
        """Set (or with None, remove) the model's promotion policy."""
        ...

    def get_policy(self, name: str) -> PromotionPolicy | None: ...

    def promote(
        self,
        name: str,
        version: int,
        alias: str = "champion",
        comment: str | None = None,
    ) -> PromotionRequest:
        """Move `alias` through the policy: Conflict if a threshold fails, a pending request
        if an approver must agree, otherwise the alias moves now (status applied)."""
        ...

    def decide(
        self,
        request_id: str,
        approve: bool,
        comment: str | None = None,
        roles: Collection[str] | None = None,
    ) -> PromotionRequest:
        """Approve (moving the alias) or reject a pending request."""
        ...

    def list_requests(
        self, name: str, status: RequestStatus | None = None
    ) -> list[PromotionRequest]: ...

    def training_data(self, name: str, version: int) -> list[TrainingData]:
        """Dataset versions the version's run used, with what lineage links to each."""
        ...

    def close(self) -> None: ...
