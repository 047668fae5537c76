"""/api/v1 routes of the retrain loop: a model's loop state, its lease, trigger cursors,
retrain requests and history (knot.loop). Each write is one transaction on the server's
database, so the lease stays a compare-and-set however many controllers race through
the server. Reading needs a viewer; taking the lease, moving the loop or asking for a
retraining an editor (the app-wide rule for non-GET routes)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, status
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from knot.errors import Invalid
from knot.governance.sql_store import SqlGovernance
from knot.loop.protocol import Move
from knot.loop.sql_store import SqlLoopStore
from knot.loop.state import LoopState, Retrain
from knot.refs import check_model_name
from knot.server.deps import get_governance

__all__ = ["router"]

router = APIRouter(prefix="/loop", tags=["loop"])

#: a lease lasts at most a day: a dead controller must not lock a model out longer
MAX_TTL_MS = 86_400_000
Owner = Annotated[str, StringConstraints(min_length=1, max_length=256)]


def get_loop_store(governance: Annotated[SqlGovernance, Depends(get_governance)]) -> SqlLoopStore:
    """FastAPI dependency: the loop store on the server's database."""
    return SqlLoopStore(governance.db)


Loop = Annotated[SqlLoopStore, Depends(get_loop_store)]


class LeaseBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    owner: Owner
    ttl_ms: Annotated[int, Field(strict=True, ge=1, le=MAX_TTL_MS)]


class ReleaseBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    owner: Owner


class SeedBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    seeds: dict[
        Annotated[str, StringConstraints(min_length=1, max_length=300)],
        Annotated[str, StringConstraints(pattern=r"^[0-9]{1,19}$")],
    ] = Field(max_length=16)


def _model(model: str) -> str:
    return check_model_name(model)


@router.get("/{model}/state")
def read_state(model: str, loop: Loop) -> LoopState | None:
    """Where the model's loop is and who holds it; null when it never ran."""
    return loop.read_state(_model(model))


@router.post("/{model}/lease")
def acquire(model: str, body: LeaseBody, loop: Loop) -> LoopState | None:
    """Take (or keep) the lease for `ttl_ms`: the state when it is now `owner`'s, null
    when another live controller holds it (compare-and-set in one transaction)."""
    return loop.acquire(_model(model), body.owner, body.ttl_ms)


@router.post("/{model}/lease/heartbeat", status_code=status.HTTP_204_NO_CONTENT)
def heartbeat(model: str, body: LeaseBody, loop: Loop) -> None:
    """Push the lease's expiry forward; 409 (field "lease") when `owner` lost it."""
    loop.heartbeat(_model(model), body.owner, body.ttl_ms)


@router.post("/{model}/lease/release", status_code=status.HTTP_204_NO_CONTENT)
def release(model: str, body: ReleaseBody, loop: Loop) -> None:
    """Give the lease up, if `owner` holds it."""
    loop.release(_model(model), body.owner)


@router.post("/{model}/moves", status_code=status.HTTP_204_NO_CONTENT)
def move(model: str, body: Move, loop: Loop) -> None:
    """One step of a retraining in one transaction: the state change, its audit row,
    the retrain record, cursors and lineage edges; 409 (field "lease"), with nothing
    written, when `owner` no longer holds the lease."""
    if _model(model) != body.model:
        raise Invalid(
            f"the move is for model {body.model!r} but was sent to the loop of {model!r}; "
            f"send it to /api/v1/loop/{body.model}/moves",
            field="model",
        )
    loop.move(body)


@router.get("/{model}/retrains")
def list_retrains(model: str, loop: Loop) -> list[Retrain]:
    """The model's retrainings, oldest first."""
    return loop.list_retrains(_model(model))


@router.get("/{model}/cursors")
def read_cursors(model: str, loop: Loop) -> dict[str, str]:
    """What each trigger of the model last saw (and a pending manual request)."""
    return loop.read_cursors(_model(model))


@router.post("/{model}/cursors/seed", status_code=status.HTTP_204_NO_CONTENT)
def seed_cursors(model: str, body: SeedBody, loop: Loop) -> None:
    """Set the cursors that have no value yet; existing ones are kept."""
    loop.seed_cursors(_model(model), dict(body.seeds))


@router.post("/{model}/retrain-requests")
def request_manual(model: str, loop: Loop) -> dict[str, int]:
    """Ask the model's loop to retrain on its next look (what `knot retrain` files);
    asking again before it starts files nothing new."""
    return {"requested_at": loop.request_manual(_model(model))}
