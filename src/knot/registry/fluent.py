"""The module-level registry SDK: knot.log_model, knot.load_model, knot.promote, ...

It uses the tracking session's stores (KNOT_STORE, KNOT_ARTIFACTS): the model's folder
goes to the artifact store as an artifact of the run, the version to the registry on
the same metadata store (SQL, or a Knot server).
"""

from __future__ import annotations

import tempfile
from collections.abc import Collection, Sequence
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeVar, overload

from knot.errors import Invalid
from knot.refs import ModelRef, RunArtifactRef, parse_run_artifact_ref
from knot.registry.entities import (
    LoggedModel,
    MetricThreshold,
    ModelVersion,
    PromotionPolicy,
    PromotionRequest,
    RegisteredModel,
    RequestStatus,
    VersionSource,
    VersionStatus,
    VersionUpdate,
)
from knot.registry.forms.fast_load import build as build_fast_load
from knot.registry.loading import load_stored_model, load_version
from knot.registry.model_folder import LoadedModel, ModelMeta, read_meta, save
from knot.registry.protocol import RegistryStore
from knot.registry.stores import open_registry_store
from knot.store.opener_slot import PerSession
from knot.tracking.fluent import session
from knot.tracking.session import Session

__all__ = [
    "approve",
    "delete_alias",
    "delete_promotion_policy",
    "get_model",
    "get_model_version",
    "get_promotion_policy",
    "list_model_versions",
    "list_models",
    "list_promotion_requests",
    "load_model",
    "log_model",
    "promote",
    "register_model",
    "registry",
    "reject",
    "set_alias",
    "set_promotion_policy",
    "update_model_version",
]

_E = TypeVar("_E", bound=StrEnum)
_current: PerSession[RegistryStore] = PerSession()


def registry() -> RegistryStore:
    """The registry store of the current session (reopened when the session changes)."""
    s = session()
    return _current.get(s, lambda: open_registry_store(s.store_uri, s.store))


@overload
def log_model(
    model: Any,
    artifact_path: str = ...,
    *,
    registered_model_name: str,
    input_example: Any = ...,
    flavor: str | None = ...,
    description: str | None = ...,
) -> ModelVersion: ...


@overload
def log_model(
    model: Any,
    artifact_path: str = ...,
    *,
    registered_model_name: None = ...,
    input_example: Any = ...,
    flavor: str | None = ...,
    description: str | None = ...,
) -> LoggedModel: ...


def log_model(
    model: Any,
    artifact_path: str = "model",
    *,
    registered_model_name: str | None = None,
    input_example: Any = None,
    flavor: str | None = None,
    description: str | None = None,
) -> ModelVersion | LoggedModel:
    """Save `model` with its flavor as an artifact of the active run (one is started if
    none is), and register it as the next version of `registered_model_name` if given.

    The signature comes from `input_example` (a few rows), the environment from the
    installed versions of the packages the flavor needs.
    """
    s = session()
    run = s.active_run() or s.start_run()
    with tempfile.TemporaryDirectory(prefix="knot-model-") as tmp:
        folder = Path(tmp) / "model"
        folder.mkdir()
        meta = save(model, folder, flavor=flavor, input_example=input_example)
        record = s.log_artifact(run.run_id, folder, artifact_path)
        fast = (
            _store_fast_load(s, folder, meta, model, input_example)
            if registered_model_name is not None
            else None
        )
    logged = LoggedModel(
        run_id=run.run_id,
        artifact_path=record.path,
        artifact_digest=record.digest,
        flavor=meta.flavor,
        signature=meta.signature,
        environment=meta.environment,
    )
    if registered_model_name is None:
        return logged
    source = VersionSource(
        run_id=logged.run_id,
        artifact_path=logged.artifact_path,
        artifact_digest=logged.artifact_digest,
        flavor=logged.flavor,
        signature=logged.signature,
        environment=logged.environment,
        description=description,
        fast_load_digest=fast,
    )
    return registry().create_version(registered_model_name, source)


def _store_fast_load(
    s: Session, folder: Path, meta: ModelMeta, model: Any = None, example: Any = None
) -> str | None:
    """Put the fast-load form of the model in `folder` (or of `model`, just saved there,
    with its input `example`) in the artifact store (the digest the version records), for
    formats slow to load; else None."""
    blob = build_fast_load(folder, meta, model, example)
    return s.artifacts.put_bytes(blob) if blob is not None else None


def register_model(
    run_id: str, artifact_path: str, name: str, description: str | None = None
) -> ModelVersion:
    """Register a model already logged on a run (with knot.log_model) as a new version."""
    s = session()
    record = {r.path: r for r in s.store.list_artifacts(run_id)}.get(artifact_path)
    if record is None or record.kind != "folder":
        known = ", ".join(r.path for r in s.store.list_artifacts(run_id)) or "none"
        raise Invalid(
            f"run {run_id} has no logged model at {artifact_path!r} (its artifacts: {known}); "
            "log one with knot.log_model inside the run",
            field="artifact_path",
        )
    with tempfile.TemporaryDirectory(prefix="knot-model-") as tmp:
        s.artifacts.download_folder(record.digest, tmp)
        meta = read_meta(Path(tmp))
        fast = _store_fast_load(s, Path(tmp), meta)
    source = VersionSource(
        run_id=run_id,
        artifact_path=artifact_path,
        artifact_digest=record.digest,
        flavor=meta.flavor,
        signature=meta.signature,
        environment=meta.environment,
        description=description,
        fast_load_digest=fast,
    )
    return registry().create_version(name, source)


def load_model(uri: str | ModelRef | RunArtifactRef) -> LoadedModel:
    """Load `models:/NAME@ALIAS`, `models:/NAME/VERSION`, `models:/NAME` or
    `runs:/RUN_ID/PATH` (or their parsed knot.refs forms). Every file is checked against
    its digest before it is read, so a changed blob raises Corrupted and is never
    unpickled; `knot serve` loads through the same function (knot.registry.loading)."""
    s = session()
    if isinstance(uri, str) and uri.strip().startswith("runs:/"):
        uri = parse_run_artifact_ref(uri)
    if isinstance(uri, RunArtifactRef):
        records = {r.path: r for r in s.store.list_artifacts(uri.run_id)}
        record = records.get(uri.path)
        if record is None:
            known = ", ".join(sorted(records)) or "none"
            raise Invalid(
                f"run {uri.run_id} has no artifact {uri.path!r}; its artifacts: {known}",
                field="uri",
            )
        return load_stored_model(s.artifacts, record.digest, str(uri))
    return load_version(s.artifacts, registry().resolve(uri))


def get_model(name: str) -> RegisteredModel:
    return registry().get_model(name)


def list_models() -> list[RegisteredModel]:
    return registry().list_models()


def get_model_version(uri_or_name: str, version: int | None = None) -> ModelVersion:
    """`get_model_version("models:/churn@champion")` or `get_model_version("churn", 3)`."""
    if version is not None:
        return registry().get_version(uri_or_name, version)
    return registry().resolve(uri_or_name)


def list_model_versions(name: str) -> list[ModelVersion]:
    return registry().list_versions(name)


def update_model_version(
    name: str,
    version: int,
    *,
    description: str | None = None,
    intended_use: str | None = None,
    limitations: str | None = None,
    status: VersionStatus | str | None = None,
) -> ModelVersion:
    """Fill in what the model card shows (intended use, limitations) or archive a version."""
    update = VersionUpdate(
        description=description,
        intended_use=intended_use,
        limitations=limitations,
        status=_enum(VersionStatus, status, "status"),
    )
    return registry().update_version(name, version, update)


def set_alias(
    name: str, alias: str, version: int, expected_version: int | None = None
) -> ModelVersion:
    """Point `alias` at `version`. Aliases the promotion policy guards move only by
    `promote` (Conflict here); an alias a live traffic split answers with may only point
    at a version that passed the policy (Forbidden otherwise, unless an admin)."""
    return registry().set_alias(name, alias, version, expected_version)


def delete_alias(name: str, alias: str) -> None:
    """Remove `alias`; Conflict if the promotion policy guards it."""
    registry().delete_alias(name, alias)


def set_promotion_policy(
    name: str,
    thresholds: Sequence[str | MetricThreshold] = (),
    *,
    approver_role: str | None = None,
    aliases: Sequence[str] = ("champion",),
    allow_self_approval: bool = False,
    max_canary_weight: float = 0.5,
) -> PromotionPolicy:
    """Guard `aliases` of model `name`: each threshold ("val_auc >= 0.8") must hold for the
    version's run, and with `approver_role` someone holding it must approve the move.
    Until then a version that meets the thresholds may take at most `max_canary_weight`
    of the live traffic (a canary; 0 allows none before approval).

    Replacing an existing policy needs the role it names as approver ("approver" if it
    names none) or a higher one: Forbidden otherwise. Without a token (a local store)
    there is no role to check: the change goes through and a warning says the identity
    is advisory."""
    policy = PromotionPolicy(
        thresholds=[
            t if isinstance(t, MetricThreshold) else MetricThreshold.parse(t) for t in thresholds
        ],
        approver_role=approver_role,
        aliases=list(aliases),
        allow_self_approval=allow_self_approval,
        max_canary_weight=max_canary_weight,
    )
    registry().set_policy(name, policy)
    return policy


def get_promotion_policy(name: str) -> PromotionPolicy | None:
    return registry().get_policy(name)


def delete_promotion_policy(name: str) -> None:
    """Remove the policy: every alias of `name` moves freely again. Needs the role the
    policy names as approver, as replacing it does."""
    registry().set_policy(name, None)


def promote(
    name: str, version: int, to: str = "champion", comment: str | None = None
) -> PromotionRequest:
    """Move alias `to` to `version` through the model's policy: the returned request is
    `applied` (moved), or `pending` an approval. A failing threshold raises Conflict."""
    session().writer.flush()  # the thresholds read the run's latest metrics
    return registry().promote(name, version, to, comment)


def approve(
    request_id: str, comment: str | None = None, roles: Collection[str] | None = None
) -> PromotionRequest:
    """Approve a pending promotion (the alias moves now). `roles`: the caller's roles.

    Without a token the caller's identity (KNOT_USER or the OS user) and `roles` are
    advisory, claimed rather than proven: the approval goes through and a warning is
    logged. Through `knot server --auth` the token's name and role count, and `roles`
    is not sent."""
    return registry().decide(request_id, True, comment, roles)


def reject(request_id: str, reason: str, roles: Collection[str] | None = None) -> PromotionRequest:
    """Reject a pending promotion with a reason; identity as for `approve`."""
    return registry().decide(request_id, False, reason, roles)


def list_promotion_requests(
    name: str, status: RequestStatus | str | None = None
) -> list[PromotionRequest]:
    return registry().list_requests(name, _enum(RequestStatus, status, "status"))


def _enum(cls: type[_E], value: _E | str | None, field: str) -> _E | None:
    if value is None:
        return None
    try:
        return cls(value)
    except ValueError:
        known = ", ".join(m.value for m in cls)
        raise Invalid(f"{field} {value!r} is not one of: {known}", field=field) from None
