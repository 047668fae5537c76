"""/api/v1 routes of traffic records: the champion/challenger split a model's running
prediction services follow (knot.serving.traffic). Reading needs a viewer, changing an
editor, as every route; a live split to a version of a policy-guarded model that has not
passed the policy needs an admin (403 otherwise)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, status
from pydantic import BaseModel, ConfigDict, Field, Strict

from knot.errors import Invalid
from knot.registry.protocol import RegistryStore
from knot.server.deps import get_registry
from knot.serving.traffic import Traffic, TrafficStore
from knot.store.database import Database

__all__ = ["router"]

router = APIRouter()


def get_traffic_store(registry: Annotated[RegistryStore, Depends(get_registry)]) -> TrafficStore:
    """FastAPI dependency: traffic records on the registry's database."""
    db = getattr(registry, "db", None)
    if not isinstance(db, Database):
        raise Invalid("this server's registry has no SQL database for traffic records")
    return TrafficStore(db)


Records = Annotated[TrafficStore, Depends(get_traffic_store)]


class TrafficSet(BaseModel):
    model_config = ConfigDict(extra="forbid")

    challenger: str = "challenger"
    weight: Annotated[float, Strict(), Field(ge=0.0, le=1.0)] = 0.0
    shadow: Annotated[bool, Strict()] = False


@router.get("/models/{name}/traffic", tags=["serving"])
def get_traffic(name: str, records: Records) -> Traffic | None:
    """The model's traffic split, or null when none is set."""
    return records.get(name)


@router.put("/models/{name}/traffic", tags=["serving"])
def set_traffic(name: str, body: TrafficSet, records: Records) -> Traffic:
    """Set the split (audited as traffic.set); services follow within their poll. 403 if
    the model has a promotion policy, `weight` is above 0 (not shadow) and the
    challenger's version has not passed the policy, unless the token is an admin's."""
    return records.set(name, challenger=body.challenger, weight=body.weight, shadow=body.shadow)


@router.delete("/models/{name}/traffic", status_code=status.HTTP_204_NO_CONTENT, tags=["serving"])
def clear_traffic(name: str, records: Records) -> None:
    """All traffic back to the champion (audited as traffic.clear)."""
    records.clear(name)
