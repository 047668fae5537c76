"""Registered models and a model's page: versions (signature, card, datasets, lineage),
aliases, the promotion policy, promotion requests with approve/reject for approvers,
the traffic split and its history. Writes are the registry's own calls, run as the
signed-in token, so each is audited under its name and checked against its role."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from knot.governance.audit_query import AuditQuery
from knot.governance.identity import acting_as
from knot.registry.entities import RequestStatus
from knot.server.ui import stores
from knot.server.ui.params import bounded_int
from knot.server.ui.render import page, render
from knot.server.ui.session import Visitor, check_csrf, visitor

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


@router.get("/ui/models")
@page
def models(request: Request) -> Response:
    who = visitor(request)
    return render(request, "models.html", who=who, models=stores.registry(request).list_models())


@router.get("/ui/models/{name}")
@page
def model(request: Request, name: str) -> Response:
    who = visitor(request)
    registry = stores.registry(request)
    found = registry.get_model(name)
    versions = sorted(registry.list_versions(name), key=lambda v: -v.version)
    training = {v.version: registry.training_data(name, v.version) for v in versions[:20]}
    requests = registry.list_requests(name)
    traffic = stores.traffic(request).get(name)
    # alias moves, promotions, traffic changes and edits of this model, newest first
    history = stores.governance(request).audit_log(AuditQuery(model=name, limit=50))
    return render(
        request,
        "model.html",
        who=who,
        model=found,
        versions=versions,
        training=training,
        policy=registry.get_policy(name),
        pending=[r for r in requests if r.status == RequestStatus.PENDING],
        decided=[r for r in requests if r.status != RequestStatus.PENDING][-20:],
        traffic=traffic,
        history=list(reversed(history)),
        note=request.query_params.get("note", "")[:300],
    )


def _write(request: Request, csrf: str, role: str, action: str) -> Visitor:
    """The visitor, once the form's CSRF token and the visitor's role are checked."""
    check_csrf(request, csrf)
    who = visitor(request)
    who.require(role, action)
    return who


def _back(name: str, note: str) -> RedirectResponse:
    from urllib.parse import quote

    return RedirectResponse(
        f"/ui/models/{quote(name, safe='')}?note={quote(note)}#requests", status_code=303
    )


@router.post("/ui/models/{name}/promote")
@page
def promote(
    request: Request,
    name: str,
    version: Annotated[str, Form()] = "",
    alias: Annotated[str, Form()] = "champion",
    comment: Annotated[str, Form()] = "",
    csrf: Annotated[str, Form()] = "",
) -> Response:
    who = _write(request, csrf, "editor", "promoting a version")
    number = bounded_int("version", version, 0, 1, 2**31)
    with acting_as(who.name, who.role):
        done = stores.registry(request).promote(name, number, alias or "champion", comment or None)
    return _back(name, f"promotion of version {number} to {done.alias}: {done.status.value}")


@router.post("/ui/promotions/{request_id}/{decision}")
@page
def decide(
    request: Request,
    request_id: str,
    decision: str,
    model: Annotated[str, Form()] = "",
    comment: Annotated[str, Form()] = "",
    csrf: Annotated[str, Form()] = "",
) -> Response:
    who = _write(request, csrf, "approver", f"to {decision} a promotion")
    if decision not in ("approve", "reject"):
        from knot.errors import NotFound

        raise NotFound(f"no action {decision!r} on a promotion; use approve or reject")
    with acting_as(who.name, who.role):
        done = stores.registry(request).decide(
            request_id, decision == "approve", comment or None, who.roles()
        )
    return _back(done.name, f"request {request_id[:8]}: {done.status.value}")
