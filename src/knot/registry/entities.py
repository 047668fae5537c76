"""What the registry holds, as Pydantic models shared by the SDK, REST API and CLI."""

from __future__ import annotations

import math
import re
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, Strict

from knot.errors import Invalid
from knot.refs import MAX_VERSION
from knot.tracking.entities import AS_WHOLE, Flag, within

__all__ = [
    "CheckResult",
    "ColumnSpec",
    "Environment",
    "LineageRef",
    "LoggedModel",
    "MetricThreshold",
    "ModelVersion",
    "PromotionPolicy",
    "PromotionRequest",
    "RegisteredModel",
    "RequestStatus",
    "Signature",
    "TrainingData",
    "Version",
    "VersionSource",
    "VersionStatus",
    "VersionUpdate",
]

_THRESHOLD = re.compile(
    r"^\s*([\w\-./:]+)\s*(>=|<=|>|<)\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*$"
)


# a version number a client sends: 1, 2, 3, ... (a boolean is none)
Version = Annotated[int, Strict(), within(1, MAX_VERSION), AS_WHOLE]


class _Model(BaseModel):
    model_config = ConfigDict(ser_json_inf_nan="strings", frozen=True)


class _Body(BaseModel):
    # sent by callers: a misspelt field is an error that names it, never silently ignored
    model_config = ConfigDict(ser_json_inf_nan="strings", frozen=True, extra="forbid")


class ColumnSpec(_Model):
    """One input or output: a named column of a table, or an unnamed tensor with a shape."""

    name: str | None = None
    type: str
    shape: list[Annotated[int, Strict(), within(-1, 2**63), AS_WHOLE]] | None = None  # -1: any
    # the input example had a missing value here, so the model is taken to handle one;
    # otherwise a service refuses nulls (NaN) in this column before the model sees them
    nullable: Flag = False


class Signature(_Model):
    """What a model takes and returns, inferred from an input example when it was logged."""

    input_kind: Literal["dataframe", "tensor"]
    inputs: list[ColumnSpec]
    outputs: list[ColumnSpec] = []

    @property
    def columns(self) -> list[str]:
        return [c.name for c in self.inputs if c.name is not None]


class Environment(_Model):
    """The Python and exact package versions the model was saved with."""

    python: str
    packages: dict[str, str]


class VersionStatus(StrEnum):
    READY = "ready"
    ARCHIVED = "archived"  # kept for lineage, never resolved as latest nor promoted


class VersionSource(_Body):
    """What registering a version needs: the run, its logged model artifact and its metadata."""

    run_id: str
    artifact_path: str = Field(min_length=1, max_length=1024)
    artifact_digest: str = Field(pattern=r"^sha256:[0-9a-f]{64}$")
    flavor: str = Field(min_length=1, max_length=32)
    signature: Signature | None = None
    environment: Environment
    description: str | None = None
    # the model's fast-load form, a blob in the artifact store (see knot.registry.forms.fast_load)
    fast_load_digest: str | None = Field(default=None, pattern=r"^sha256:[0-9a-f]{64}$")


class VersionUpdate(_Body):
    """Fields a user edits after registration; None leaves a field as it is."""

    description: str | None = None
    intended_use: str | None = None
    limitations: str | None = None
    status: VersionStatus | None = None


class LoggedModel(_Model):
    """A model logged on a run and not registered (yet): load it with `uri`."""

    run_id: str
    artifact_path: str
    artifact_digest: str
    flavor: str
    signature: Signature | None = None
    environment: Environment

    @property
    def uri(self) -> str:
        return f"runs:/{self.run_id}/{self.artifact_path}"


class ModelVersion(_Model):
    name: str
    version: int
    run_id: str
    artifact_path: str
    artifact_digest: str
    flavor: str
    signature: Signature | None = None
    environment: Environment
    datasets: list[str] = []  # dataset versions the run used, as recorded in lineage
    status: VersionStatus = VersionStatus.READY
    description: str | None = None
    intended_use: str | None = None
    limitations: str | None = None
    created_at: int
    created_by: str
    aliases: list[str] = []
    fast_load_digest: str | None = None  # see knot.registry.forms.fast_load

    @property
    def uri(self) -> str:
        return f"models:/{self.name}/{self.version}"


class RegisteredModel(_Model):
    name: str
    description: str | None = None
    created_at: int
    created_by: str
    updated_at: int
    latest_version: int | None = None
    aliases: dict[str, int] = {}


class MetricThreshold(_Body):
    """`metric op value`, checked against the latest value the version's run logged."""

    metric: str = Field(min_length=1, max_length=250)
    op: Literal[">=", ">", "<=", "<"] = ">="
    value: Annotated[float, Strict()]

    @classmethod
    def parse(cls, text: str) -> MetricThreshold:
        """`"val_auc >= 0.8"` -> MetricThreshold(metric="val_auc", op=">=", value=0.8)."""
        match = _THRESHOLD.match(text) if isinstance(text, str) else None
        if match is None:
            raise Invalid(
                f"threshold {text!r} is malformed; write METRIC OP NUMBER with OP one of "
                ">= > <= < (e.g. 'val_auc >= 0.8')",
                field="thresholds",
            )
        metric, op, value = match.groups()
        return cls(metric=metric, op=op, value=float(value))

    def passes(self, actual: float | None) -> bool:
        if actual is None or math.isnan(actual):
            return False
        return {
            ">=": actual >= self.value,
            ">": actual > self.value,
            "<=": actual <= self.value,
            "<": actual < self.value,
        }[self.op]

    def __str__(self) -> str:
        return f"{self.metric} {self.op} {self.value:g}"


class PromotionPolicy(_Body):
    """Rules an alias such as `champion` must pass before it moves to a version."""

    thresholds: list[MetricThreshold] = []
    approver_role: str | None = Field(default=None, min_length=1, max_length=64)
    aliases: list[str] = Field(default_factory=lambda: ["champion"], min_length=1)
    allow_self_approval: Flag = False
    # A version that meets the thresholds but still waits for approval may answer at most
    # this share of live requests (a canary): the approved version keeps the rest.
    max_canary_weight: float = Field(default=0.5, ge=0.0, le=1.0, strict=True)


class CheckResult(_Model):
    threshold: MetricThreshold
    actual: float | None
    passed: bool


class RequestStatus(StrEnum):
    PENDING = "pending"  # waiting for someone with the approver role
    APPROVED = "approved"  # approved, and the alias moved
    REJECTED = "rejected"
    APPLIED = "applied"  # no approval was needed: the alias moved at once


class PromotionRequest(_Model):
    request_id: str
    name: str
    version: int
    alias: str
    status: RequestStatus
    approver_role: str | None = None
    checks: list[CheckResult] = []
    comment: str | None = None
    requested_at: int
    requested_by: str
    decided_at: int | None = None
    decided_by: str | None = None
    decision_comment: str | None = None


class LineageRef(_Model):
    kind: str
    id: str
    relation: str


class TrainingData(_Model):
    """A dataset version the version's run used, and what lineage links to it (validations)."""

    dataset: str
    relation: str
    validations: list[LineageRef] = []
