"""What a prediction service serves and how; forked workers inherit it."""

from __future__ import annotations

import uuid

from pydantic import BaseModel, ConfigDict, Field

from knot.errors import Invalid
from knot.serving.plugins import resolve_factory

__all__ = ["ServeConfig"]


class ServeConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    model: str  # models:/churn@champion, or a reference a registered source loads
    challenger: str | None = None  # models:/churn@challenger: served with `weight`
    weight: float = Field(default=0.0, ge=0.0, le=1.0)  # share of traffic the challenger gets
    shadow: bool = False  # the challenger sees a copy of all traffic, its answers only logged
    poll_seconds: float = Field(default=1.0, gt=0)
    load_wait_seconds: float = Field(default=60.0, ge=0)  # a request may wait for the load
    max_batch_rows: int = Field(default=256, ge=1)
    batch_wait_ms: float = Field(default=1.0, ge=0)
    max_body_bytes: int = Field(default=64 * 2**20, ge=1)
    log_sample: float = Field(default=1.0, ge=0.0, le=1.0)  # share of requests logged
    log_dir: str | None = None  # default: KNOT_HOME/predictions (labels under its labels/)
    plugins: tuple[str, ...] = ()  # "module:factory" monitor plugins (knot.serving.plugins)
    # worker processes of the service: with several, a label can arrive at one worker
    # before the one that answered the request has written it to the prediction log
    workers: int = Field(default=1, ge=1)
    # One id per `knot serve`, shared by its workers (they inherit this config): the
    # key of the marker that makes one slot switch one audit row (knot.serving.switches).
    service_id: str = Field(default_factory=lambda: uuid.uuid4().hex[:16], max_length=32)

    def check(self) -> ServeConfig:
        """Raise Invalid for settings that contradict each other."""
        if (self.weight > 0 or self.shadow) and self.challenger is None:
            raise Invalid(
                "a traffic weight or shadow mode needs a challenger; pass --challenger "
                "models:/NAME@ALIAS",
                field="challenger",
            )
        for spec in self.plugins:  # a misspelt plugin fails here, before any worker starts
            resolve_factory(spec)
        return self
